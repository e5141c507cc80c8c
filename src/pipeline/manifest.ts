import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TOOLKIT_VERSION } from '../version.js';
import { openUntrustedManifest } from '../core/untrusted/manifest.js';
import { UntrustedDatabaseError } from '../core/untrusted/sqlite.js';
import { StorageError, storageError } from './shards.js';

/**
 * The dataset index (DESIGN.md section 3): one SQLite file, WAL while writing.
 *
 * A shard and its sample rows are committed in one transaction, so "the manifest has the shard's
 * row" is exactly "the shard is done": the unit of resumption. Every failure leaves the file as the
 * last committed transaction made it.
 */

/** The manifest's file name inside a dataset directory (DESIGN: <dataset>/manifest.sqlite). */
export const MANIFEST_FILE = 'manifest.sqlite';

/** 2: samples.type_version (the rendering version of the sample's type; NULL for imported pairs). */
export const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
  key TEXT PRIMARY KEY NOT NULL,
  type TEXT NOT NULL,
  level INTEGER NOT NULL,
  level_id TEXT NOT NULL,
  params TEXT NOT NULL CHECK (json_valid(params)),
  seed TEXT,
  source_id TEXT,
  crop_x INTEGER,
  crop_y INTEGER,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  split TEXT NOT NULL,
  real INTEGER NOT NULL CHECK (real IN (0, 1)),
  shard TEXT NOT NULL,
  offset_gt INTEGER NOT NULL,
  offset_lq INTEGER NOT NULL,
  lq_sha256 TEXT NOT NULL,
  gt_sha256 TEXT NOT NULL,
  psnr REAL,
  type_version INTEGER
);
CREATE INDEX IF NOT EXISTS samples_type ON samples(type);
CREATE INDEX IF NOT EXISTS samples_shard ON samples(shard);
CREATE INDEX IF NOT EXISTS samples_split ON samples(split);
-- For uirgen stats (stats.ts): covering indexes, so its aggregates never read the wide rows.
CREATE INDEX IF NOT EXISTS samples_type_level ON samples(type, level, level_id, real);
CREATE INDEX IF NOT EXISTS samples_type_psnr ON samples(type, psnr);
CREATE INDEX IF NOT EXISTS samples_split_source ON samples(split, source_id);
CREATE TABLE IF NOT EXISTS sources (
  id TEXT PRIMARY KEY NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  width INTEGER,
  height INTEGER
);
CREATE TABLE IF NOT EXISTS shards (
  name TEXT PRIMARY KEY NOT NULL,
  samples INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS errors (
  path TEXT NOT NULL,
  stage TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  started TEXT NOT NULL,
  finished TEXT,
  recipe TEXT NOT NULL CHECK (json_valid(recipe)),
  toolkit_version TEXT NOT NULL,
  versions TEXT NOT NULL CHECK (json_valid(versions))
);
`;

export interface SampleRow {
  key: string;
  type: string;
  level: number;
  level_id: string;
  /** Stored as JSON text. */
  params: object;
  seed: string | number | null;
  source_id: string | null;
  crop_x: number | null;
  crop_y: number | null;
  width: number;
  height: number;
  split: string;
  real: 0 | 1;
  /** The shard's file name, as in ShardInfo.name (e.g. 'uir-000003.tar'). */
  shard: string;
  offset_gt: number;
  offset_lq: number;
  lq_sha256: string;
  gt_sha256: string;
  /** PSNR of lq against gt in dB; Infinity when identical. */
  psnr: number | null;
  /** The version of the type's rendering that made lq (registry Degradation.version); null for imported pairs. */
  type_version: number | null;
}

export interface SourceRow {
  id: string;
  path: string;
  sha256: string;
  width: number | null;
  height: number | null;
}

export interface ShardRow {
  name: string;
  samples: number;
  bytes: number;
  sha256: string;
}

export interface ErrorRow {
  path: string;
  stage: string;
  message: string;
}

export interface ManifestCounts {
  samples: number;
  shards: number;
  errors: number;
  sources: number;
}

export interface OpenOptions {
  /** Open an existing manifest for reading only (stats, verify): no schema creation, no WAL switch. */
  readonly?: boolean;
}

const SQLITE_TEXT: Record<string, string> = {
  SQLITE_FULL: 'no space left on device; free some space and run the same command again (it resumes)',
  SQLITE_CANTOPEN: 'cannot open the database file (missing directory, a path component that is a file, or no permission)',
  SQLITE_READONLY: 'the database is read-only (permissions or a read-only disk)',
  SQLITE_PERM: 'permission denied',
  SQLITE_IOERR: 'input/output error while writing (full or failing disk?)',
  SQLITE_NOTADB: 'not a SQLite database (is this a uirgen manifest?)',
  SQLITE_CORRUPT: 'the database file is corrupt',
  SQLITE_BUSY: 'the database is locked by another process',
};

/** A SQLite or file-system failure, phrased with the manifest's path. Constraint violations pass through. */
export function manifestError(err: unknown, path: string): Error {
  if (err instanceof StorageError) return err;
  if (err instanceof UntrustedDatabaseError) return new StorageError(path, undefined, `cannot read ${err.message}`);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    const base = Object.keys(SQLITE_TEXT).find((k) => code === k || code.startsWith(`${k}_`));
    if (base) return new StorageError(path, code, `cannot write ${path}: ${SQLITE_TEXT[base]} (${code})`);
    return err as Error;
  }
  return storageError(err, path);
}

export class Manifest {
  private readonly insertSample: Database.Statement;
  private readonly insertShard: Database.Statement;
  private readonly deleteShardSamples: Database.Statement;
  private readonly deleteShard: Database.Statement;
  private readonly insertError: Database.Statement;
  private readonly upsertSourceStmt: Database.Statement;
  private closed = false;

  private constructor(
    /** The connection, for read queries (stats, verify, tests). Write through the methods. */
    readonly db: Database.Database,
    readonly path: string,
    private readonly readonly: boolean,
  ) {
    this.insertSample = db.prepare(
      `INSERT INTO samples (key, type, level, level_id, params, seed, source_id, crop_x, crop_y, width, height,
         split, real, shard, offset_gt, offset_lq, lq_sha256, gt_sha256, psnr, type_version)
       VALUES (@key, @type, @level, @level_id, @params, @seed, @source_id, @crop_x, @crop_y, @width, @height,
         @split, @real, @shard, @offset_gt, @offset_lq, @lq_sha256, @gt_sha256, @psnr, @type_version)`,
    );
    this.insertShard = db.prepare('INSERT INTO shards (name, samples, bytes, sha256) VALUES (@name, @samples, @bytes, @sha256)');
    this.deleteShardSamples = db.prepare('DELETE FROM samples WHERE shard = ?');
    this.deleteShard = db.prepare('DELETE FROM shards WHERE name = ?');
    this.insertError = db.prepare('INSERT INTO errors (path, stage, message) VALUES (@path, @stage, @message)');
    this.upsertSourceStmt = db.prepare(
      `INSERT INTO sources (id, path, sha256, width, height) VALUES (@id, @path, @sha256, @width, @height)
       ON CONFLICT(id) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256,
         width = excluded.width, height = excluded.height`,
    );
  }

  /** Open (and create if new) the manifest at `path`, e.g. DS/manifest.sqlite. */
  static open(path: string, options: OpenOptions = {}): Manifest {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('manifest path must be a non-empty string');
    const readonly = options.readonly === true;
    if (readonly && !existsSync(path)) {
      throw new StorageError(path, 'ENOENT', `cannot read ${path}: no manifest there (file not found); is this a uirgen dataset?`);
    }
    let db: Database.Database | undefined;
    try {
      if (!readonly) mkdirSync(dirname(path), { recursive: true });
      // Read-only opens are of datasets that may come from elsewhere (merge parts, verify, stats): checked first.
      db = readonly ? openUntrustedManifest(path) : new Database(path);
      db.pragma('busy_timeout = 5000');
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        // NORMAL in WAL mode: a commit survives a killed process (SIGKILL included) without an fsync
        // per transaction; a power cut can only roll back the latest commits, never corrupt, and a
        // shard whose row was rolled back is simply redone on resume.
        db.pragma('synchronous = NORMAL');
        if (readSchemaVersion(db) === 1) migrateFrom1(db);
        db.exec(SCHEMA);
        db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
      }
      const version = readSchemaVersion(db);
      if (version !== SCHEMA_VERSION) {
        const hint =
          version === 1
            ? '; it was made by an older uirgen: any writing command on it (e.g. the same synthesize again, which resumes) upgrades it in place'
            : '';
        throw new StorageError(
          path,
          undefined,
          `${path}: manifest schema_version ${version ?? 'missing'}, this uirgen reads ${SCHEMA_VERSION}${hint}`,
        );
      }
      return new Manifest(db, path, readonly);
    } catch (err) {
      db?.close();
      throw manifestError(err, path);
    }
  }

  /** Record the start of a run; returns its id. `versions` may name the toolkit as `uirgen`. */
  startRun(recipe: object, versions: object): number {
    checkObject('recipe', recipe);
    checkObject('versions', versions);
    const named = (versions as Record<string, unknown>).uirgen;
    const toolkit = typeof named === 'string' ? named : TOOLKIT_VERSION;
    return this.write(() => {
      const info = this.db
        .prepare('INSERT INTO runs (started, recipe, toolkit_version, versions) VALUES (?, ?, ?, ?)')
        .run(new Date().toISOString(), JSON.stringify(recipe), toolkit, JSON.stringify(versions));
      return Number(info.lastInsertRowid);
    });
  }

  finishRun(runId: number): void {
    if (!Number.isInteger(runId)) throw new TypeError(`runId must be an integer, got ${String(runId)}`);
    this.write(() => {
      const info = this.db.prepare('UPDATE runs SET finished = ? WHERE id = ?').run(new Date().toISOString(), runId);
      if (info.changes !== 1) throw new RangeError(`no run with id ${runId}`);
    });
  }

  upsertSource(source: SourceRow): void {
    this.upsertSources([source]);
  }

  /** Several sources in one transaction (insert, or update the row with the same id). */
  upsertSources(sources: readonly SourceRow[]): void {
    if (!Array.isArray(sources)) throw new TypeError('sources must be an array of SourceRow');
    const bound = sources.map(bindSource);
    if (bound.length === 0) return;
    this.write(() => {
      this.db.transaction(() => {
        for (const b of bound) this.upsertSourceStmt.run(b);
      })();
    });
  }

  recordError(error: ErrorRow): void {
    this.recordErrors([error]);
  }

  /** Several error rows in one transaction (one disk sync, not one per row). */
  recordErrors(errors: readonly ErrorRow[]): void {
    if (!Array.isArray(errors)) throw new TypeError('errors must be an array of { path, stage, message }');
    for (const error of errors) {
      checkString('error.path', error?.path);
      checkString('error.stage', error.stage);
      if (typeof error.message !== 'string') throw new TypeError('error.message must be a string');
    }
    if (errors.length === 0) return;
    this.write(() => {
      this.db.transaction(() => {
        for (const e of errors) this.insertError.run({ path: e.path, stage: e.stage, message: e.message });
      })();
    });
  }

  /**
   * The shard's row and all its samples, in one transaction: all of them or none. `sources`
   * (optional) are upserted in the same transaction, so a shard never refers to a missing source.
   */
  commitShard(shard: ShardRow, rows: readonly SampleRow[], sources: readonly SourceRow[] = []): void {
    checkString('shard.name', shard?.name);
    checkString('shard.sha256', shard.sha256);
    checkCount('shard.bytes', shard.bytes);
    checkCount('shard.samples', shard.samples);
    if (!Array.isArray(rows)) throw new TypeError('rows must be an array of SampleRow');
    if (rows.length !== shard.samples) {
      throw new RangeError(`shard ${shard.name} says ${shard.samples} samples but ${rows.length} rows were given`);
    }
    const bound = rows.map((row) => bindSample(row, shard.name));
    if (!Array.isArray(sources)) throw new TypeError('sources must be an array of SourceRow');
    const boundSources = sources.map(bindSource);
    this.write(() => {
      this.db.transaction(() => {
        for (const source of boundSources) this.upsertSourceStmt.run(source);
        this.insertShard.run({ name: shard.name, samples: shard.samples, bytes: shard.bytes, sha256: shard.sha256 });
        for (const row of bound) this.insertSample.run(row);
      })();
    });
  }

  /** Names of shards with a committed row (as ShardInfo.name, e.g. 'uir-000003.tar'). */
  completedShards(): Set<string> {
    const rows = this.read(() => this.db.prepare('SELECT name FROM shards').pluck().all() as string[]);
    return new Set(rows);
  }

  /** Remove a shard's row and its samples (resume cleanup); a shard with no rows is a no-op. */
  dropShard(name: string): void {
    checkString('shard name', name);
    this.write(() => {
      this.db.transaction(() => {
        this.deleteShardSamples.run(name);
        this.deleteShard.run(name);
      })();
    });
  }

  counts(): ManifestCounts {
    return this.read(() => {
      const count = (table: string): number => this.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      return { samples: count('samples'), shards: count('shards'), errors: count('errors'), sources: count('sources') };
    });
  }

  /** Checkpoint the WAL back into the one file and close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.readonly) {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
        // Leave a single self-contained file for readers; another open connection keeps WAL, which is fine.
        try {
          this.db.pragma('journal_mode = DELETE');
        } catch {
          /* busy: stays in WAL */
        }
      }
    } catch (err) {
      throw manifestError(err, this.path);
    } finally {
      this.db.close();
    }
  }

  private write<T>(fn: () => T): T {
    if (this.closed) throw new Error(`manifest ${this.path} is closed`);
    if (this.readonly) throw new Error(`manifest ${this.path} was opened read-only`);
    try {
      return fn();
    } catch (err) {
      throw manifestError(err, this.path);
    }
  }

  private read<T>(fn: () => T): T {
    if (this.closed) throw new Error(`manifest ${this.path} is closed`);
    try {
      return fn();
    } catch (err) {
      throw manifestError(err, this.path);
    }
  }
}

/**
 * Schema 1 -> 2: add samples.type_version. Every synthesized row of a schema-1 manifest was rendered by
 * version 1 of its type (versions began at 1 when the column was added); imported rows stay NULL.
 */
function migrateFrom1(db: Database.Database): void {
  db.transaction(() => {
    db.exec('ALTER TABLE samples ADD COLUMN type_version INTEGER');
    db.exec('UPDATE samples SET type_version = 1 WHERE seed IS NOT NULL');
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
  })();
}

function readSchemaVersion(db: Database.Database): number | undefined {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!hasMeta) return undefined;
  const value = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
  return value === undefined ? undefined : Number(value);
}

function bindSource(source: SourceRow): Record<string, unknown> {
  checkString('source.id', source?.id);
  checkString('source.path', source.path);
  checkString('source.sha256', source.sha256);
  for (const f of ['width', 'height'] as const) {
    const v = source[f];
    if (v !== null && v !== undefined && (!Number.isInteger(v) || v <= 0)) {
      throw new RangeError(`source ${source.id}: ${f} must be a positive integer or null, got ${String(v)}`);
    }
  }
  return { id: source.id, path: source.path, sha256: source.sha256, width: source.width ?? null, height: source.height ?? null };
}

function checkObject(name: string, value: unknown): void {
  if (value === null || typeof value !== 'object') throw new TypeError(`${name} must be an object`);
}

function checkString(name: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
}

function checkCount(name: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 0) throw new RangeError(`${name} must be an integer >= 0, got ${String(value)}`);
}

function checkInt(key: string, name: string, value: unknown, nullable: boolean): void {
  if (value === null && nullable) return;
  if (!Number.isInteger(value) || (value as number) < 0) {
    throw new RangeError(`sample ${key}: ${name} must be an integer >= 0${nullable ? ' or null' : ''}, got ${String(value)}`);
  }
}

/** Validate one row and turn it into statement parameters (params as JSON text). */
function bindSample(row: SampleRow, shard: string): Record<string, unknown> {
  if (row === null || typeof row !== 'object') throw new TypeError('each row must be a SampleRow object');
  checkString('sample key', row.key);
  const key = row.key;
  for (const f of ['type', 'level_id', 'split', 'lq_sha256', 'gt_sha256'] as const) {
    if (typeof row[f] !== 'string' || row[f].length === 0) throw new TypeError(`sample ${key}: ${f} must be a non-empty string`);
  }
  if (row.shard !== shard) throw new RangeError(`sample ${key}: shard is ${JSON.stringify(row.shard)}, expected ${JSON.stringify(shard)}`);
  checkInt(key, 'level', row.level, false);
  checkInt(key, 'width', row.width, false);
  checkInt(key, 'height', row.height, false);
  checkInt(key, 'crop_x', row.crop_x, true);
  checkInt(key, 'crop_y', row.crop_y, true);
  checkInt(key, 'offset_gt', row.offset_gt, false);
  checkInt(key, 'offset_lq', row.offset_lq, false);
  if (row.real !== 0 && row.real !== 1) throw new RangeError(`sample ${key}: real must be 0 or 1, got ${String(row.real)}`);
  if (row.psnr !== null && (typeof row.psnr !== 'number' || Number.isNaN(row.psnr))) {
    throw new TypeError(`sample ${key}: psnr must be a number (Infinity allowed) or null`);
  }
  if (row.params === null || typeof row.params !== 'object') throw new TypeError(`sample ${key}: params must be an object`);
  if (row.seed !== null && typeof row.seed !== 'string' && typeof row.seed !== 'number') {
    throw new TypeError(`sample ${key}: seed must be a string, a number or null`);
  }
  if (row.source_id !== null && typeof row.source_id !== 'string') throw new TypeError(`sample ${key}: source_id must be a string or null`);
  if (row.type_version !== null && (!Number.isInteger(row.type_version) || row.type_version < 1)) {
    throw new RangeError(`sample ${key}: type_version must be an integer >= 1 or null, got ${String(row.type_version)}`);
  }
  return {
    key,
    type: row.type,
    level: row.level,
    level_id: row.level_id,
    params: JSON.stringify(row.params),
    seed: row.seed === null ? null : String(row.seed),
    source_id: row.source_id,
    crop_x: row.crop_x,
    crop_y: row.crop_y,
    width: row.width,
    height: row.height,
    split: row.split,
    real: row.real,
    shard,
    offset_gt: row.offset_gt,
    offset_lq: row.offset_lq,
    lq_sha256: row.lq_sha256,
    gt_sha256: row.gt_sha256,
    psnr: row.psnr,
    type_version: row.type_version,
  };
}
