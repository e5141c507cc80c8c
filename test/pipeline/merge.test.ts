import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { merge } from '../../src/pipeline/merge.js';
import { normalizeRecipe, type Recipe } from '../../src/pipeline/recipe.js';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { forgeTar } from '../support/tar-forge.js';
import { shardBytes } from '../support/webdataset.js';

const made: string[] = [];
const tmp = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `uirgen-merge-${name}-`));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function recipe(extra: Record<string, unknown> = {}): Recipe {
  return normalizeRecipe({ sources: [SAMPLES_DIR], crop: 64, samples: 40, types: ['GN', 'J'], shard_samples: 6, seed: 'merge', ...extra });
}

function query(ds: string, sql: string): unknown[] {
  const db = new Database(join(ds, 'manifest.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('partitioned runs + merge', () => {
  let single: string;
  let parts: string[];

  beforeAll(async () => {
    single = tmp('single');
    await synthesize({ recipe: recipe(), out: single, workers: 2 });
    parts = [0, 1, 2].map((i) => tmp(`part${i}`));
    for (let i = 0; i < 3; i++) await synthesize({ recipe: recipe(), out: parts[i], workers: 1, shardIndex: i, shardCount: 3 });
  });

  it('each part makes only shards s with s % K == I', () => {
    expect(Object.keys(shardBytes(parts[1]))).toEqual(['uir-000001.tar', 'uir-000004.tar']);
    expect(Object.keys(shardBytes(parts[0]))).toEqual(['uir-000000.tar', 'uir-000003.tar', 'uir-000006.tar']);
  });

  it('merged samples equal a single run: shard bytes, sample rows, shard rows, sources', async () => {
    const out = tmp('merged');
    const s = await merge(out, parts);
    expect(s).toMatchObject({ parts: 3, merged_shards: 7, present_shards: 0, samples: 40, shards: 7, sources: 5, missing: [], planned_shards: 7 });
    expect(shardBytes(out)).toEqual(shardBytes(single));
    expect(query(out, 'SELECT * FROM samples ORDER BY key')).toEqual(query(single, 'SELECT * FROM samples ORDER BY key'));
    expect(query(out, 'SELECT * FROM shards ORDER BY name')).toEqual(query(single, 'SELECT * FROM shards ORDER BY name'));
    expect(query(out, 'SELECT * FROM sources ORDER BY id')).toEqual(query(single, 'SELECT * FROM sources ORDER BY id'));
    expect(readFileSync(join(out, 'recipe.json'), 'utf8')).toBe(readFileSync(join(single, 'recipe.json'), 'utf8'));
    // Merging again (an interrupted merge rerun, or a part given twice) adds nothing.
    const again = await merge(out, [parts[0], parts[2], parts[0]]);
    expect(again).toMatchObject({ merged_shards: 0, samples: 40, shards: 7 });
    expect(readdirSync(join(out, 'shards')).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('reports the planned shards no part has made', async () => {
    const out = tmp('partial');
    const s = await merge(out, [parts[0], parts[2]]);
    expect(s.missing).toEqual(['uir-000001.tar', 'uir-000004.tar']);
    expect(s.samples).toBe(40 - 12);
  });

  it('--move renames shard files out of the parts', async () => {
    const copies = [0, 1, 2].map((i) => tmp(`mv${i}`));
    for (let i = 0; i < 3; i++) await synthesize({ recipe: recipe(), out: copies[i], workers: 1, shardIndex: i, shardCount: 3 });
    const out = tmp('moved');
    await merge(out, copies, { move: true });
    expect(shardBytes(out)).toEqual(shardBytes(single));
    expect(existsSync(join(copies[1], 'shards', 'uir-000001.tar'))).toBe(false);
  });

  it('refuses parts of different plans', async () => {
    const other = tmp('other');
    await synthesize({ recipe: recipe({ seed: 'different' }), out: other, workers: 1, shardIndex: 1, shardCount: 3 });
    await expect(merge(tmp('bad'), [parts[0], other])).rejects.toThrow(/different recipe/);
    await expect(merge(tmp('bad2'), [tmp('empty')])).rejects.toThrow(/not a uirgen dataset/);
    await expect(merge(parts[0], [parts[0]])).rejects.toThrow(/cannot also be a part/);
    writeFileSync(join(parts[1], '.uirgen.lock'), JSON.stringify({ host: hostname(), pid: process.pid }));
    await expect(merge(tmp('busy'), parts)).rejects.toThrow(/part1-.* is still being written by uirgen \(pid \d+/);
    rmSync(join(parts[1], '.uirgen.lock'));
    const lost = tmp('lost');
    await synthesize({ recipe: recipe(), out: lost, workers: 1, shardIndex: 2, shardCount: 3 });
    rmSync(join(lost, 'shards', 'uir-000005.tar'));
    await expect(merge(tmp('bad3'), [lost])).rejects.toThrow(/uir-000005.tar is missing though .* lists it as complete; rerun that part/);
  });
});

describe('merge: parts are untrusted input', () => {
  it('refuses a part whose manifest names a shard outside shards/, or whose shard does not hold its rows', async () => {
    const part = tmp('evil');
    await synthesize({ recipe: recipe({ samples: 12 }), out: part, workers: 1 });
    const db = new Database(join(part, 'manifest.sqlite'));
    db.prepare("UPDATE shards SET name = '../../../etc/x.tar' WHERE name = 'uir-000001.tar'").run();
    db.close();
    await expect(merge(tmp('m1'), [part])).rejects.toThrow(/manifest lists a shard name "\.\.\/\.\.\/\.\.\/etc\/x\.tar" is not a plain file name/);

    // A shard whose checksum row was forged to match, but whose member is a link and whose rows point elsewhere.
    const part2 = tmp('evil2');
    await synthesize({ recipe: recipe({ samples: 6 }), out: part2, workers: 1 });
    const forged = forgeTar([{ name: 'x.lq.png', type: '2', linkname: '/etc/passwd' }]);
    writeFileSync(join(part2, 'shards', 'uir-000000.tar'), forged);
    const db2 = new Database(join(part2, 'manifest.sqlite'));
    db2.prepare('UPDATE shards SET sha256 = ?, bytes = ?').run(createHash('sha256').update(forged).digest('hex'), forged.length);
    db2.close();
    const out = tmp('m2');
    await expect(merge(out, [part2])).rejects.toThrow(/does not hold what its manifest says .*is a symbolic link, not a regular file; it is not followed/);
    expect(readdirSync(join(out, 'shards'))).toEqual([]);
  }, 60_000);
});
