import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import sharp from 'sharp';
import { readTarMembers } from '../support/webdataset.js';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/import.js';
import { ImportError, importPairs } from '../../src/pipeline/import.js';

const root = mkdtempSync(join(tmpdir(), 'uirgen-import-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => join(root, `${name}${counter++}`);

/** A small distinct RGB image; `seed` varies the pattern. */
function pixels(width: number, height: number, seed: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x * 7 + seed * 31) & 255;
      raw[i + 1] = (y * 11 + seed * 17) & 255;
      raw[i + 2] = (x * y + seed * 5) & 255;
    }
  }
  return raw;
}

async function writeImage(path: string, width: number, height: number, seed: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const img = sharp(pixels(width, height, seed), { raw: { width, height, channels: 3 } });
  writeFileSync(path, await (path.endsWith('.jpg') ? img.jpeg({ quality: 90 }) : img.png()).toBuffer());
}

/** A SOTS-like layout: two hazes of 0001, one of 0002, an unmatched haze, an unmatched clear, a size mismatch. */
async function sotsLayout(): Promise<{ lq: string; gt: string }> {
  const base = fresh('sots');
  const lq = join(base, 'hazy');
  const gt = join(base, 'clear');
  await writeImage(join(gt, '0001.png'), 24, 16, 1);
  await writeImage(join(gt, '0002.png'), 20, 12, 2);
  await writeImage(join(gt, '0003.png'), 24, 16, 3);
  await writeImage(join(gt, '0004.png'), 24, 16, 4);
  await writeImage(join(lq, '0001_0.8_0.2.png'), 24, 16, 11);
  await writeImage(join(lq, '0001_0.9_0.1.jpg'), 24, 16, 12);
  await writeImage(join(lq, '0002_1_0.04.png'), 20, 12, 13);
  await writeImage(join(lq, '0004_0.8_0.2.png'), 16, 16, 14);
  await writeImage(join(lq, '0099_0.8_0.2.png'), 24, 16, 15);
  return { lq, gt };
}

async function rawOf(png: Buffer): Promise<Buffer> {
  return sharp(png).raw().toBuffer();
}

function psnrOf(a: Buffer, b: Buffer): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

describe('importPairs', () => {
  it('imports matched pairs into shards and the manifest, marked real, and reports the unmatched', async () => {
    const { lq, gt } = await sotsLayout();
    const out = fresh('ds');
    const summary = await importPairs({ type: 'H', lqDir: lq, gtDir: gt, out, real: true, shardSamples: 2, split: 'test' });
    expect(summary).toMatchObject({ type: 'H', pairs: 4, imported: 3, failed: 1, shards: 2, resumedShards: 0 });
    expect(summary.unmatchedLq).toEqual([join(lq, '0099_0.8_0.2.png')]);
    expect(summary.unmatchedGt).toEqual([join(gt, '0003.png')]);

    const db = new Database(join(out, 'manifest.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT * FROM samples ORDER BY key').all() as Record<string, unknown>[];
    expect(rows).toHaveLength(3);
    const members = new Map<string, Buffer>();
    for (const name of new Set(rows.map((r) => r.shard as string))) {
      for (const m of await readTarMembers(join(out, 'shards', name))) members.set(m.name, m.data);
    }
    expect(members.size).toBe(9);
    for (const r of rows) {
      expect(r).toMatchObject({ type: 'H', level: 0, level_id: 'real', params: '{}', real: 1, split: 'test', seed: null });
      const shard = readFileSync(join(out, 'shards', r.shard as string));
      const gtPng = members.get(`${r.key}.gt.png`)!;
      const lqPng = members.get(`${r.key}.lq.png`)!;
      // The bytes at the recorded offsets are the members, whose hashes are the recorded ones.
      expect(shard.subarray(r.offset_gt as number, (r.offset_gt as number) + gtPng.length).equals(gtPng)).toBe(true);
      expect(shard.subarray(r.offset_lq as number, (r.offset_lq as number) + lqPng.length).equals(lqPng)).toBe(true);
      expect(createHash('sha256').update(gtPng).digest('hex')).toBe(r.gt_sha256);
      expect(createHash('sha256').update(lqPng).digest('hex')).toBe(r.lq_sha256);
      const meta = await sharp(gtPng).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels, meta.depth]).toEqual(['png', r.width, r.height, 3, 'uchar']);
      expect(r.psnr as number).toBeCloseTo(psnrOf(await rawOf(lqPng), await rawOf(gtPng)), 9);
    }
    // Stored gt pixels are the source's pixels (lossless for a PNG source).
    const first = rows.find((r) => JSON.parse(members.get(`${r.key}.json`)!.toString()).lq_source.path === '0001_0.8_0.2.png')!;
    expect((await rawOf(members.get(`${first.key}.gt.png`)!)).equals(pixels(24, 16, 1))).toBe(true);
    expect((await rawOf(members.get(`${first.key}.lq.png`)!)).equals(pixels(24, 16, 11))).toBe(true);
    const json = JSON.parse(members.get(`${first.key}.json`)!.toString());
    expect(json).toMatchObject({ key: first.key, type: 'H', level_id: 'real', real: true, split: 'test', source: { path: '0001.png' }, crop: { x: 0, y: 0, w: 24, h: 16 } });
    // Sources are the ground truths, by content.
    expect(db.prepare('SELECT count(*) FROM sources').pluck().get()).toBe(2);
    expect(db.prepare('SELECT DISTINCT source_id FROM samples').pluck().all()).toHaveLength(2);

    const errors = db.prepare('SELECT path, stage, message FROM errors ORDER BY path').all() as Record<string, string>[];
    expect(errors).toEqual([
      { path: join(gt, '0003.png'), stage: 'import-match', message: `no degraded image in ${lq} matches this ground truth` },
      { path: join(lq, '0004_0.8_0.2.png'), stage: 'import', message: `is 16x16 but its ground truth ${join(gt, '0004.png')} is 24x16; a pair must have one size` },
      { path: join(lq, '0099_0.8_0.2.png'), stage: 'import-match', message: `no ground truth in ${gt} matches this degraded image` },
    ]);
    db.close();
  });

  it('resumes: a rerun keeps committed shards, redoes a lost one, and ends with identical bytes and rows', async () => {
    const { lq, gt } = await sotsLayout();
    const out = fresh('ds');
    const options = { type: 'H', lqDir: lq, gtDir: gt, out, shardSamples: 2 };
    const first = await importPairs(options);
    const shardDir = join(out, 'shards');
    const names = readdirSync(shardDir).sort();
    expect(names).toEqual([`${first.prefix}-000000.tar`, `${first.prefix}-000001.tar`]);
    const bytes = names.map((n) => readFileSync(join(shardDir, n)));
    const dump = () => {
      const db = new Database(join(out, 'manifest.sqlite'), { readonly: true });
      const out2 = { samples: db.prepare('SELECT * FROM samples ORDER BY key').all(), errors: db.prepare('SELECT count(*) FROM errors').pluck().get() };
      db.close();
      return out2;
    };
    const before = dump();

    const again = await importPairs(options);
    expect(again).toMatchObject({ imported: 3, failed: 1, resumedShards: 2 });
    expect(dump()).toEqual(before);

    // Simulate a kill after shard 1 was renamed but before its commit, plus a stray partial.
    const db = new Database(join(out, 'manifest.sqlite'));
    db.prepare('DELETE FROM samples WHERE shard = ?').run(names[1]);
    db.prepare('DELETE FROM shards WHERE name = ?').run(names[1]);
    db.close();
    writeFileSync(join(shardDir, `${first.prefix}-000001.tar.partial`), 'half');
    const resumed = await importPairs(options);
    expect(resumed).toMatchObject({ imported: 3, resumedShards: 1 });
    expect(readdirSync(shardDir).sort()).toEqual(names);
    names.forEach((n, i) => expect(readFileSync(join(shardDir, n)).equals(bytes[i])).toBe(true));
    expect(dump().samples).toEqual(before.samples);
  });

  it('records an unreadable half of a pair as an error and imports the rest', async () => {
    const base = fresh('lol');
    await writeImage(join(base, 'low', '1.png'), 12, 12, 1);
    await writeImage(join(base, 'high', '1.png'), 12, 12, 2);
    await writeImage(join(base, 'low', '2.png'), 12, 12, 3);
    writeFileSync(join(base, 'high', '2.png'), readFileSync(join(base, 'high', '1.png')).subarray(0, 40));
    const out = fresh('ds');
    const summary = await importPairs({ type: 'LL', lqDir: join(base, 'low'), gtDir: join(base, 'high'), out });
    expect(summary).toMatchObject({ pairs: 2, imported: 1, failed: 1, unmatchedLq: [], unmatchedGt: [] });
    const db = new Database(join(out, 'manifest.sqlite'), { readonly: true });
    expect(db.prepare('SELECT level_id, real FROM samples').all()).toEqual([{ level_id: 'imported', real: 0 }]);
    const errors = db.prepare('SELECT path, stage, message FROM errors').all() as Record<string, string>[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: join(base, 'high', '2.png'), stage: 'import' });
    expect(errors[0].message).toMatch(/not a readable image/);
    db.close();
  });

  it('refuses a prefix already used by other pairs, no pairs at all, and bad arguments', async () => {
    const { lq, gt } = await sotsLayout();
    const out = fresh('ds');
    await importPairs({ type: 'H', lqDir: lq, gtDir: gt, out, prefix: 'mine' });
    const other = await sotsLayout();
    await writeImage(join(other.gt, '0005.png'), 8, 8, 5);
    await writeImage(join(other.lq, '0005_1_1.png'), 8, 8, 6);
    await expect(importPairs({ type: 'H', lqDir: other.lq, gtDir: other.gt, out, prefix: 'mine' })).rejects.toThrow(/prefix mine was already used/);
    const empty = fresh('empty');
    mkdirSync(empty);
    await expect(importPairs({ type: 'H', lqDir: empty, gtDir: gt, out })).rejects.toThrow(ImportError);
    await expect(importPairs({ type: 'H', lqDir: join(empty, 'nope'), gtDir: gt, out })).rejects.toThrow(/nope: not found/);
    await expect(importPairs({ type: 'XX', lqDir: lq, gtDir: gt, out })).rejects.toThrow(/type must be one of GN, RN/);
  });

  it('is reachable as `uirgen import` with --json, and exits 2 for an unknown type', async () => {
    const { lq, gt } = await sotsLayout();
    const out = fresh('ds');
    const program = new Command().exitOverride();
    register(program);
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'uirgen', 'import', '--type', 'h', '--lq', lq, '--gt', gt, '--out', out, '--real', '--json']);
      const summary = JSON.parse(writes.join(''));
      expect(summary).toMatchObject({ type: 'H', imported: 3, pairs: 4 });
      expect(process.exitCode ?? 0).toBe(0);
      await program.parseAsync(['node', 'uirgen', 'import', '--type', 'FOG', '--lq', lq, '--gt', gt, '--out', out]);
      expect(process.exitCode).toBe(2);
    } finally {
      process.exitCode = 0;
      spy.mockRestore();
      errSpy.mockRestore();
    }
  });
});
