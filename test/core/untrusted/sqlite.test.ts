import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openUntrustedManifest } from '../../../src/core/untrusted/manifest.js';
import { openUntrustedSqlite, UntrustedDatabaseError } from '../../../src/core/untrusted/sqlite.js';
import { Manifest } from '../../../src/pipeline/manifest.js';

const root = mkdtempSync(join(tmpdir(), 'uirgen-untrusted-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('openUntrustedSqlite', () => {
  it('refuses a file that is not SQLite before SQLite reads it', () => {
    const p = join(root, 'text.sqlite');
    writeFileSync(p, 'hello, I am not a database');
    expect(() => openUntrustedManifest(p)).toThrow(UntrustedDatabaseError);
    expect(() => openUntrustedManifest(p)).toThrow(/not a SQLite database/);
    expect(() => openUntrustedManifest(join(root, 'none.sqlite'))).toThrow(/file not found/);
  });

  it('refuses a database that lacks a table or a column, or has a view in a table\'s place', () => {
    const p = join(root, 'other.sqlite');
    const db = new Database(p);
    db.exec('CREATE TABLE samples (key TEXT); CREATE VIEW shards AS SELECT 1 AS name');
    db.close();
    expect(() => openUntrustedSqlite(p, { samples: ['key'], sources: ['id'] })).toThrow(/has no sources table/);
    expect(() => openUntrustedSqlite(p, { samples: ['key', 'shard'] })).toThrow(/table samples lacks column\(s\) shard/);
    expect(() => openUntrustedSqlite(p, { shards: ['name'] })).toThrow(/shards is a view, not a table/);
    expect(() => openUntrustedManifest(p)).toThrow(UntrustedDatabaseError);
  });

  it('opens a real manifest read-only, query-only, without SQL extension loading', () => {
    const p = join(root, 'manifest.sqlite');
    Manifest.open(p).close();
    const db = openUntrustedManifest(p);
    try {
      expect(db.readonly).toBe(true);
      expect(() => db.exec("INSERT INTO errors VALUES ('a', 'b', 'c')")).toThrow();
      expect(() => db.prepare("SELECT load_extension('/tmp/evil.so')").get()).toThrow(/not authorized/);
      expect(db.pragma('trusted_schema', { simple: true })).toBe(0);
    } finally {
      db.close();
    }
  });
});
