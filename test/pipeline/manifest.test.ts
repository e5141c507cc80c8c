import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Manifest, SCHEMA_VERSION, type SampleRow } from '../../src/pipeline/manifest.js';
import { StorageError } from '../../src/pipeline/shards.js';

const root = mkdtempSync(join(tmpdir(), 'uirgen-manifest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = (): string => join(root, `ds${counter++}`, 'manifest.sqlite');

/** DESIGN.md section 3, column for column. */
const DESIGN: Record<string, string[]> = {
  samples: [
    'key', 'type', 'level', 'level_id', 'params', 'seed', 'source_id', 'crop_x', 'crop_y', 'width', 'height',
    'split', 'real', 'shard', 'offset_gt', 'offset_lq', 'lq_sha256', 'gt_sha256', 'psnr', 'type_version',
  ],
  sources: ['id', 'path', 'sha256', 'width', 'height'],
  shards: ['name', 'samples', 'bytes', 'sha256'],
  errors: ['path', 'stage', 'message'],
  runs: ['id', 'started', 'finished', 'recipe', 'toolkit_version', 'versions'],
  meta: ['key', 'value'],
};

function row(key: string, shard: string, extra: Partial<SampleRow> = {}): SampleRow {
  return {
    key,
    type: 'GN',
    level: 2,
    level_id: 'gaussian:25',
    params: { sigma: 25, seed: 'abc', kernel: [0.25, 0.5, 0.25] },
    seed: '0123456789abcdef01234567',
    source_id: 'src1',
    crop_x: 10,
    crop_y: 20,
    width: 64,
    height: 64,
    split: 'train',
    real: 0,
    shard,
    offset_gt: 512,
    offset_lq: 4096,
    lq_sha256: 'a'.repeat(64),
    gt_sha256: 'b'.repeat(64),
    psnr: 28.5,
    type_version: 1,
    ...extra,
  };
}

const shardInfo = (name: string, samples: number) => ({ name, samples, bytes: 1024 * (samples + 1), sha256: 'c'.repeat(64) });

describe('Manifest', () => {
  it('creates exactly the tables and columns of DESIGN.md with schema_version 2', () => {
    const path = freshPath();
    Manifest.open(path).close();
    const db = new Database(path, { readonly: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]);
    expect(tables).toEqual(Object.keys(DESIGN).sort());
    for (const [table, columns] of Object.entries(DESIGN)) {
      const info = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      expect(info.map((c) => c.name), table).toEqual(columns);
    }
    const pk = (db.prepare('PRAGMA table_info(samples)').all() as { name: string; pk: number }[]).filter((c) => c.pk);
    expect(pk.map((c) => c.name)).toEqual(['key']);
    expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('2');
    expect(SCHEMA_VERSION).toBe(2);
    const indexed = (db.prepare('PRAGMA index_list(samples)').all() as { name: string }[])
      .map((i) => (db.prepare(`PRAGMA index_info(${i.name})`).all() as { name: string }[]).map((c) => c.name).join(','))
      .sort();
    expect(indexed).toEqual(expect.arrayContaining(['shard', 'split', 'type']));
    db.close();
  });

  it('uses WAL while open and leaves one self-contained file after close', () => {
    const path = freshPath();
    const m = Manifest.open(path);
    expect(m.db.pragma('journal_mode', { simple: true })).toBe('wal');
    m.commitShard(shardInfo('s-0.tar', 1), [row('k0', 's-0.tar')]);
    m.close();
    expect(readdirSync(join(path, '..'))).toEqual(['manifest.sqlite']);
    const again = Manifest.open(path);
    expect(again.counts().samples).toBe(1);
    again.close();
  });

  it('commits a shard and its samples, with params as JSON and Infinity psnr kept', () => {
    const m = Manifest.open(freshPath());
    m.commitShard(shardInfo('s-0.tar', 2), [row('k0', 's-0.tar'), row('k1', 's-0.tar', { psnr: Infinity, seed: 42 })]);
    expect(m.completedShards()).toEqual(new Set(['s-0.tar']));
    const got = m.db.prepare('SELECT * FROM samples ORDER BY key').all() as Record<string, unknown>[];
    expect(JSON.parse(got[0].params as string)).toEqual(row('k0', '').params);
    expect(got[0].seed).toBe('0123456789abcdef01234567');
    expect(got[1].seed).toBe('42');
    expect(got[1].psnr).toBe(Infinity);
    expect(m.counts()).toEqual({ samples: 2, shards: 1, errors: 0, sources: 0 });
    m.close();
  });

  it('commitShard is one transaction: a failing row leaves no shard row and no samples', () => {
    const m = Manifest.open(freshPath());
    m.commitShard(shardInfo('s-0.tar', 1), [row('dup', 's-0.tar')]);
    // Second shard: its second row collides with an existing key, after the shard row and first row were inserted.
    expect(() => m.commitShard(shardInfo('s-1.tar', 2), [row('fresh', 's-1.tar'), row('dup', 's-1.tar')])).toThrow(
      /UNIQUE constraint failed: samples.key/,
    );
    expect(m.completedShards()).toEqual(new Set(['s-0.tar']));
    expect(m.db.prepare("SELECT count(*) FROM samples WHERE key = 'fresh'").pluck().get()).toBe(0);
    expect(m.counts()).toEqual({ samples: 1, shards: 1, errors: 0, sources: 0 });
    m.close();
  });

  it('commits sources given with a shard in the same transaction, and batches sources and errors', () => {
    const m = Manifest.open(freshPath());
    const src = (id: string) => ({ id, path: `/${id}.png`, sha256: id.padEnd(64, '0'), width: 8, height: 8 });
    m.commitShard(shardInfo('a.tar', 1), [row('a0', 'a.tar')], [src('s1')]);
    expect(() => m.commitShard(shardInfo('b.tar', 2), [row('b0', 'b.tar'), row('a0', 'b.tar')], [src('s2')])).toThrow(/UNIQUE/);
    expect(m.db.prepare('SELECT id FROM sources ORDER BY id').pluck().all()).toEqual(['s1']);
    m.upsertSources([src('s3'), src('s4'), { ...src('s1'), path: '/moved.png' }]);
    expect(m.db.prepare('SELECT path FROM sources ORDER BY id').pluck().all()).toEqual(['/moved.png', '/s3.png', '/s4.png']);
    expect(() => m.upsertSources([src('s5'), { ...src('s6'), width: 0 }])).toThrow(/width must be a positive integer/);
    m.recordErrors([
      { path: '/x', stage: 'walk', message: 'permission denied' },
      { path: '/y', stage: 'probe', message: 'not a readable image' },
    ]);
    expect(() => m.recordErrors([{ path: '/z', stage: 'walk', message: 'ok' }, { path: '', stage: 'walk', message: 'bad' }])).toThrow(/error.path/);
    expect(m.counts()).toEqual({ samples: 1, shards: 1, errors: 2, sources: 3 });
    m.close();
  });

  it('validates rows before writing anything', () => {
    const m = Manifest.open(freshPath());
    expect(() => m.commitShard(shardInfo('s.tar', 2), [row('a', 's.tar')])).toThrow(/says 2 samples but 1 rows/);
    expect(() => m.commitShard(shardInfo('s.tar', 1), [row('a', 'other.tar')])).toThrow(/shard is "other.tar"/);
    expect(() => m.commitShard(shardInfo('s.tar', 1), [row('a', 's.tar', { real: 2 as 0 })])).toThrow(/real must be 0 or 1/);
    expect(() => m.commitShard(shardInfo('s.tar', 1), [row('a', 's.tar', { level: -1 })])).toThrow(/level must be an integer >= 0/);
    expect(m.counts().shards).toBe(0);
    m.close();
  });

  it('dropShard removes a shard row and its samples only', () => {
    const m = Manifest.open(freshPath());
    m.commitShard(shardInfo('a.tar', 2), [row('a0', 'a.tar'), row('a1', 'a.tar')]);
    m.commitShard(shardInfo('b.tar', 1), [row('b0', 'b.tar')]);
    m.dropShard('a.tar');
    m.dropShard('never.tar');
    expect(m.completedShards()).toEqual(new Set(['b.tar']));
    expect(m.db.prepare('SELECT key FROM samples').pluck().all()).toEqual(['b0']);
    // The dropped shard can be committed again (resume redoes it).
    m.commitShard(shardInfo('a.tar', 2), [row('a0', 'a.tar'), row('a1', 'a.tar')]);
    expect(m.counts()).toMatchObject({ samples: 3, shards: 2 });
    m.close();
  });

  it('records runs, sources (upsert) and errors', () => {
    const m = Manifest.open(freshPath());
    const run = m.startRun({ seed: 7, types: ['GN'] }, { uirgen: '9.9.9', sharp: '0.34' });
    m.upsertSource({ id: 'src1', path: '/a.png', sha256: 'd'.repeat(64), width: 10, height: 20 });
    m.upsertSource({ id: 'src1', path: '/b.png', sha256: 'd'.repeat(64), width: 10, height: 20 });
    m.recordError({ path: '/bad.jpg', stage: 'decode', message: 'not a readable image' });
    m.finishRun(run);
    expect(() => m.finishRun(run + 100)).toThrow(/no run with id/);
    const r = m.db.prepare('SELECT * FROM runs').get() as Record<string, string>;
    expect(r.toolkit_version).toBe('9.9.9');
    expect(JSON.parse(r.recipe)).toEqual({ seed: 7, types: ['GN'] });
    expect(r.finished >= r.started).toBe(true);
    expect(m.db.prepare('SELECT path FROM sources').pluck().all()).toEqual(['/b.png']);
    expect(m.counts()).toEqual({ samples: 0, shards: 0, errors: 1, sources: 1 });
    const run2 = m.startRun({}, {});
    expect(m.db.prepare('SELECT toolkit_version FROM runs WHERE id = ?').pluck().get(run2)).toMatch(/^\d+\.\d+\.\d+/);
    m.close();
  });

  it('opens read-only without creating anything', () => {
    const missing = freshPath();
    expect(() => Manifest.open(missing, { readonly: true })).toThrow(StorageError);
    expect(existsSync(missing)).toBe(false);
    const path = freshPath();
    Manifest.open(path).close();
    const ro = Manifest.open(path, { readonly: true });
    expect(ro.counts().samples).toBe(0);
    expect(() => ro.recordError({ path: 'x', stage: 's', message: 'm' })).toThrow(/read-only/);
    ro.close();
  });

  it('refuses a database of another schema version, and a file that is not a database', () => {
    const path = freshPath();
    Manifest.open(path).close();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = '3' WHERE key = 'schema_version'").run();
    db.close();
    expect(() => Manifest.open(path)).toThrow(/schema_version 3, this uirgen reads 2/);
    const junk = join(root, `junk${counter++}.sqlite`);
    writeFileSync(junk, 'this is not sqlite at all, just some text that is long enough to look like a header.....');
    expect(() => Manifest.open(junk)).toThrow(/not a SQLite database/);
  });

  it('upgrades a schema-1 manifest in place: type_version 1 for synthesized rows, NULL for imported ones', () => {
    const path = freshPath();
    const m = Manifest.open(path);
    m.commitShard(shardInfo('s-000000.tar', 2), [
      row('made', 's-000000.tar'),
      row('imported', 's-000000.tar', { seed: null, type_version: null, real: 1 }),
    ]);
    m.close();
    // Turn it back into what a schema-1 uirgen wrote: no type_version column.
    const db = new Database(path);
    db.exec('ALTER TABLE samples DROP COLUMN type_version');
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
    db.close();
    expect(() => Manifest.open(path, { readonly: true })).toThrow(/schema_version 1.*older uirgen.*upgrades it/);
    Manifest.open(path).close();
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT key, type_version FROM samples ORDER BY key').all()).toEqual([
      { key: 'imported', type_version: null },
      { key: 'made', type_version: 1 },
    ]);
    expect(after.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('2');
    after.close();
  });

  it('turns an unwritable location into a message naming the path', () => {
    const file = join(root, `plain-${counter++}.txt`);
    writeFileSync(file, 'x');
    const path = join(file, 'sub', 'manifest.sqlite');
    let error: unknown;
    try {
      Manifest.open(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/^cannot (create directory|write) .*plain-\d+\.txt\/sub.*not a directory \(ENOTDIR\)$/);
  });
});
