import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Opening a SQLite file that came from elsewhere. Before SQLite sees it, the file must start with SQLite's
 * magic; it is opened read-only (no journal, no writes, no schema creation), with `trusted_schema` off so a
 * crafted view or trigger cannot call functions with side effects, in query-only mode, and never with an
 * extension loaded (better-sqlite3 keeps SQL's load_extension() disabled; nothing here calls
 * loadExtension). Then the tables and columns the caller needs must exist as real tables, not views.
 */

/** An input database that cannot be used; the message names the file and what is wrong. */
export class UntrustedDatabaseError extends Error {
  override name = 'UntrustedDatabaseError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

const MAGIC = 'SQLite format 3\u0000';

/** Tables the caller needs, each with the columns it reads. */
export type RequiredTables = Readonly<Record<string, readonly string[]>>;

function readMagic(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UntrustedDatabaseError(path, code === 'ENOENT' ? 'file not found' : `cannot open (${code ?? String(err)})`);
  }
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    return head.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}

/** Open `path` for reading as described above; throws UntrustedDatabaseError. */
export function openUntrustedSqlite(path: string, required: RequiredTables): Database.Database {
  if (readMagic(path) !== MAGIC) throw new UntrustedDatabaseError(path, 'not a SQLite database (its first bytes are not "SQLite format 3")');
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new UntrustedDatabaseError(path, `cannot open as SQLite (${(err as Error).message})`);
  }
  try {
    db.pragma('trusted_schema = OFF');
    db.pragma('query_only = ON');
    const kinds = new Map(
      (db.prepare("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')").all() as { name: string; type: string }[]).map((r) => [
        r.name,
        r.type,
      ]),
    );
    for (const [table, columns] of Object.entries(required)) {
      const kind = kinds.get(table);
      if (kind === undefined) throw new UntrustedDatabaseError(path, `has no ${table} table; is this a uirgen manifest?`);
      if (kind !== 'table') throw new UntrustedDatabaseError(path, `${table} is a ${kind}, not a table; refusing to read it`);
      const have = new Set((db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]));
      const missing = columns.filter((c) => !have.has(c));
      if (missing.length > 0) throw new UntrustedDatabaseError(path, `table ${table} lacks column(s) ${missing.join(', ')}`);
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof UntrustedDatabaseError) throw err;
    throw new UntrustedDatabaseError(path, `unreadable (${(err as Error).message})`);
  }
}
