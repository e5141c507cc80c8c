import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from '../../src/core/random.js';
import { Manifest, type SampleRow } from '../../src/pipeline/manifest.js';
import { ShardWriter } from '../../src/pipeline/shards.js';
import { openTrainingStream, type Batch, type TrainingStream, type TrainingStreamOptions } from '../../src/train/data.js';
import { augmentFor, transformPatch } from '../../src/train/data-worker.js';

/**
 * A tiny dataset built with the pipeline's own ShardWriter and Manifest: 24 samples, 3 types,
 * 3 shards of 8. gt is seeded RGB noise (so a misplaced or differently transformed crop cannot
 * match by accident) and lq = 255 - gt exactly, so every aligned pixel pair sums to 1.
 */

const root = mkdtempSync(join(tmpdir(), 'uirgen-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface FixtureSample {
  key: string;
  type: string;
  level: number;
  level_id: string;
  split: string;
  real: 0 | 1;
  size: number;
  gt: Uint8Array;
}

const TYPES = ['J', 'GN', 'MB'];

function fixtureSample(i: number, size: number): FixtureSample {
  const rng = createRng(deriveSeed('data-fixture', i));
  const gt = new Uint8Array(size * size * 3);
  for (let p = 0; p < gt.length; p++) gt[p] = rng.int(0, 255);
  const level = i % 2;
  return {
    key: `s${String(i).padStart(3, '0')}`,
    type: TYPES[i % 3],
    level,
    level_id: `lv${level}`,
    split: i % 4 === 3 ? 'val' : 'train',
    real: i % 6 === 5 ? 1 : 0,
    size,
    gt,
  };
}

const png = (rgb: Uint8Array, size: number): Promise<Buffer> =>
  sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();

async function buildDataset(dir: string, samples: FixtureSample[], shardSamples: number): Promise<void> {
  const manifest = Manifest.open(join(dir, 'manifest.sqlite'));
  for (let s = 0; s * shardSamples < samples.length; s++) {
    const writer = await ShardWriter.create(join(dir, 'shards'), `t-${String(s).padStart(6, '0')}`);
    const part = samples.slice(s * shardSamples, (s + 1) * shardSamples);
    const rows: SampleRow[] = [];
    const name = `${writer.name}.tar`;
    for (const x of part) {
      const lq = x.gt.map((v) => 255 - v);
      const { offsets } = await writer.add({
        key: x.key,
        members: {
          'gt.png': await png(x.gt, x.size),
          json: Buffer.from(JSON.stringify({ type: x.type })),
          'lq.png': await png(lq, x.size),
        },
      });
      rows.push({
        key: x.key, type: x.type, level: x.level, level_id: x.level_id, params: {}, seed: null, source_id: null,
        crop_x: null, crop_y: null, width: x.size, height: x.size, split: x.split, real: x.real, shard: name,
        offset_gt: offsets['gt.png'].offset, offset_lq: offsets['lq.png'].offset,
        lq_sha256: 'a'.repeat(64), gt_sha256: 'b'.repeat(64), psnr: null, type_version: null,
      });
    }
    const info = await writer.close();
    manifest.commitShard({ name: info.name, samples: info.samples, bytes: info.bytes, sha256: info.sha256 }, rows);
  }
  manifest.close();
}

const SIZE = 40;
const PATCH = 16;
const fixture = Array.from({ length: 24 }, (_, i) => fixtureSample(i, SIZE));
const byKey = new Map(fixture.map((s) => [s.key, s]));
const ds = join(root, 'ds');

beforeAll(async () => {
  await buildDataset(ds, fixture, 8);
}, 60_000);

const base = (extra: Partial<TrainingStreamOptions> = {}): TrainingStreamOptions => ({
  dataset: ds, batch: 5, patch: PATCH, seed: 'test-seed', workers: 1, prefetch: 2, shuffleBuffer: 6, ...extra,
});

async function take(options: TrainingStreamOptions, n: number): Promise<{ batches: Batch[]; stream: TrainingStream }> {
  const stream = await openTrainingStream(options);
  const batches: Batch[] = [];
  try {
    for (let i = 0; i < n; i++) batches.push(await stream.next());
  } finally {
    await stream.close();
  }
  return { batches, stream };
}

const bytesOf = (batches: Batch[]): Buffer =>
  Buffer.concat(batches.flatMap((b) => [Buffer.from(b.lq.buffer), Buffer.from(b.gt.buffer), Buffer.from(b.labels.buffer)]));

/** Where in the sample's gt the patch came from: the crop corner and the dihedral transform, or null. */
function locate(sample: FixtureSample, patch: Float32Array): { x: number; y: number; flip: boolean; rot: number } | null {
  const window = new Uint8Array(PATCH * PATCH * 3);
  const out = new Float32Array(PATCH * PATCH * 3);
  for (let y = 0; y + PATCH <= sample.size; y++) {
    for (let x = 0; x + PATCH <= sample.size; x++) {
      for (let r = 0; r < PATCH; r++) {
        window.set(sample.gt.subarray(((y + r) * sample.size + x) * 3, ((y + r) * sample.size + x + PATCH) * 3), r * PATCH * 3);
      }
      for (const flip of [false, true]) {
        for (let rot = 0; rot < 4; rot++) {
          transformPatch(window, PATCH, { flip, rot }, out, 0);
          if (out.every((v, i) => v === patch[i])) return { x, y, flip, rot };
        }
      }
    }
  }
  return null;
}

describe('augmentation primitives', () => {
  it('transformPatch is rot90(fliplr(window), k) in numpy terms', () => {
    // 2x2 image with one channel value per pixel: [[1, 2], [3, 4]].
    const src = new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    const grid = (flip: boolean, rot: number): number[] => {
      const out = new Float32Array(12);
      transformPatch(src, 2, { flip, rot }, out, 0);
      return [0, 3, 6, 9].map((i) => Math.round(out[i] * 255));
    };
    expect(grid(false, 0)).toEqual([1, 2, 3, 4]);
    expect(grid(false, 1)).toEqual([2, 4, 1, 3]); // np.rot90([[1,2],[3,4]]) = [[2,4],[1,3]]
    expect(grid(false, 2)).toEqual([4, 3, 2, 1]);
    expect(grid(false, 3)).toEqual([3, 1, 4, 2]);
    expect(grid(true, 0)).toEqual([2, 1, 4, 3]);
    expect(grid(true, 1)).toEqual([1, 3, 2, 4]); // np.rot90([[2,1],[4,3]])
  });

  it('augmentFor is a pure function of (seed, epoch, key) and covers every crop and transform', () => {
    expect(augmentFor('s', 3, 'k', 40, 40, 16)).toEqual(augmentFor('s', 3, 'k', 40, 40, 16));
    const seen = new Set<string>();
    const corners = new Set<string>();
    for (let e = 0; e < 400; e++) {
      const a = augmentFor('s', e, 'k', 20, 20, 16);
      expect(a.x).toBeGreaterThanOrEqual(0);
      expect(a.x).toBeLessThanOrEqual(4);
      expect(a.y).toBeLessThanOrEqual(4);
      seen.add(`${a.flip}:${a.rot}`);
      corners.add(`${a.x},${a.y}`);
    }
    expect(seen.size).toBe(8);
    expect(corners.size).toBe(25);
    expect(() => augmentFor('s', 0, 'k', 12, 40, 16)).toThrow(/smaller than the 16x16 patch/);
  });
});

describe('openTrainingStream', () => {
  it('yields aligned lq/gt patches cropped from the right sample, labelled with its type', async () => {
    const { batches, stream } = await take(base({ workers: 2 }), 10);
    expect(stream.classes).toEqual(['GN', 'MB', 'J']); // TYPE_IDS order, not insertion order
    const transforms = new Set<string>();
    const corners = new Set<string>();
    for (const b of batches) {
      expect(b.size).toBe(5);
      expect(b.patch).toBe(PATCH);
      expect(b.lq.length).toBe(5 * PATCH * PATCH * 3);
      expect(b.gt.length).toBe(5 * PATCH * PATCH * 3);
      expect(b.labels).toBeInstanceOf(Int32Array);
      expect(b.labels.length).toBe(5);
      for (let i = 0; i < b.lq.length; i++) {
        expect(b.gt[i] >= 0 && b.gt[i] <= 1 && b.lq[i] >= 0 && b.lq[i] <= 1).toBe(true);
        // lq = 1 - gt pixel for pixel: the same crop, flip and rotation on both.
        if (Math.abs(b.lq[i] + b.gt[i] - 1) > 1e-6) throw new Error(`batch pixel ${i}: lq ${b.lq[i]} + gt ${b.gt[i]} != 1`);
      }
      for (let j = 0; j < b.size; j++) {
        const sample = byKey.get(b.keys[j]) as FixtureSample;
        expect(sample).toBeDefined();
        expect(stream.classes[b.labels[j]]).toBe(sample.type);
        const plane = PATCH * PATCH * 3;
        const where = locate(sample, b.gt.subarray(j * plane, (j + 1) * plane));
        expect(where).not.toBeNull();
        const w = where as NonNullable<typeof where>;
        transforms.add(`${w.flip}:${w.rot}`);
        corners.add(`${w.x},${w.y}`);
      }
    }
    // 50 samples: crops and transforms really vary.
    expect(transforms.size).toBeGreaterThanOrEqual(6);
    expect(corners.size).toBeGreaterThanOrEqual(20);
  }, 60_000);

  it('rolls over epochs: each epoch is a permutation of all samples, reshuffled', async () => {
    const { batches } = await take(base({ batch: 5 }), 10);
    const keys = batches.flatMap((b) => b.keys);
    const all = fixture.map((s) => s.key).sort();
    const first = keys.slice(0, 24);
    const second = keys.slice(24, 48);
    expect([...first].sort()).toEqual(all);
    expect([...second].sort()).toEqual(all);
    expect(second).not.toEqual(first);
    // Not shard order either: the buffer mixes shards.
    expect(first).not.toEqual(all);
  }, 30_000);

  it('position() counts delivered samples per epoch, across the epoch boundary', async () => {
    const stream = await openTrainingStream(base({ batch: 5 }));
    try {
      expect(stream.position()).toMatchObject({ version: 1, epoch: 0, index: 0, samplesPerEpoch: 24 });
      for (let i = 0; i < 4; i++) await stream.next();
      expect(stream.position()).toMatchObject({ epoch: 0, index: 20 });
      await stream.next();
      expect(stream.position()).toMatchObject({ epoch: 1, index: 1 });
      expect(stream.stats()).toMatchObject({ samplesDelivered: 25, batchesDelivered: 5, epoch: 1, samplesPerEpoch: 24 });
      expect(stream.stats().loaderImagesPerSecond).toBeGreaterThan(0);
    } finally {
      await stream.close();
    }
  }, 30_000);

  it('gives identical batch bytes for 1 and 2 workers and any prefetch depth', async () => {
    const one = await take(base({ workers: 1, prefetch: 1 }), 8);
    const two = await take(base({ workers: 2, prefetch: 3 }), 8);
    expect(bytesOf(two.batches).equals(bytesOf(one.batches))).toBe(true);
    const other = await take(base({ workers: 2, seed: 'another-seed' }), 8);
    expect(bytesOf(other.batches).equals(bytesOf(one.batches))).toBe(false);
  }, 60_000);

  it('resumes from position() with exactly the batches that follow, in any epoch', async () => {
    for (const stop of [3, 7]) {
      const stream = await openTrainingStream(base({ workers: 2 }));
      let saved;
      const after: Batch[] = [];
      try {
        for (let i = 0; i < stop; i++) await stream.next();
        saved = JSON.parse(JSON.stringify(stream.position()));
        for (let i = 0; i < 5; i++) after.push(await stream.next());
      } finally {
        await stream.close();
      }
      const resumed = await take(base({ workers: 1, position: saved }), 5);
      expect(resumed.batches.map((b) => b.keys)).toEqual(after.map((b) => b.keys));
      expect(bytesOf(resumed.batches).equals(bytesOf(after))).toBe(true);
      // The position counts samples, not batches: another batch size continues the same sequence.
      const rebatched = await take(base({ batch: 3, position: saved }), 3);
      expect(rebatched.batches.flatMap((b) => b.keys)).toEqual(after.flatMap((b) => b.keys).slice(0, 9));
    }
  }, 60_000);

  it('refuses a position taken with other options', async () => {
    const { stream } = await take(base(), 2);
    const pos = stream.position();
    await expect(openTrainingStream(base({ seed: 'other', position: pos }))).rejects.toThrow(/does not belong to this data stream/);
    await expect(openTrainingStream(base({ types: ['GN'], position: pos }))).rejects.toThrow(/8 samples per epoch|24 samples per epoch/);
    await expect(openTrainingStream(base({ position: { ...pos, version: 2 as 1 } }))).rejects.toThrow(/version 1/);
  }, 30_000);

  it('applies type, level, split and real filters through the manifest', async () => {
    const keysOf = async (extra: Partial<TrainingStreamOptions>, n = 24) => {
      const stream = await openTrainingStream(base({ ...extra, batch: 1, prefetch: 1 }));
      const keys: string[] = [];
      const labels: string[] = [];
      try {
        for (let i = 0; i < Math.min(n, stream.samplesPerEpoch); i++) {
          const b = await stream.next();
          keys.push(b.keys[0]);
          labels.push(stream.classes[b.labels[0]]);
        }
        return { keys: keys.sort(), labels, classes: stream.classes, count: stream.samplesPerEpoch };
      } finally {
        await stream.close();
      }
    };
    const expectKeys = (pred: (s: FixtureSample) => boolean) => fixture.filter(pred).map((s) => s.key).sort();

    const mb = await keysOf({ types: ['mb'] });
    expect(mb.classes).toEqual(['MB']);
    expect(mb.keys).toEqual(expectKeys((s) => s.type === 'MB'));
    expect(new Set(mb.labels)).toEqual(new Set(['MB']));

    const two = await keysOf({ types: ['J', 'GN'] });
    expect(two.classes).toEqual(['GN', 'J']);
    expect(two.keys).toEqual(expectKeys((s) => s.type !== 'MB'));
    for (let i = 0; i < two.keys.length; i++) expect(['GN', 'J']).toContain(two.labels[i]);

    expect((await keysOf({ levels: ['lv1'] })).keys).toEqual(expectKeys((s) => s.level_id === 'lv1'));
    expect((await keysOf({ levels: ['0'] })).keys).toEqual(expectKeys((s) => s.level === 0));
    expect((await keysOf({ split: 'val' })).keys).toEqual(expectKeys((s) => s.split === 'val'));
    expect((await keysOf({ real: true })).keys).toEqual(expectKeys((s) => s.real === 1));
    expect((await keysOf({ real: false, split: 'train', types: ['GN'] })).keys).toEqual(
      expectKeys((s) => s.real === 0 && s.split === 'train' && s.type === 'GN'),
    );

    await expect(openTrainingStream(base({ types: ['GN'], split: 'test' }))).rejects.toThrow(/no samples match types GN, split test/);
    await expect(openTrainingStream(base({ types: ['XX'] }))).rejects.toThrow(/unknown type "XX"/);
  }, 60_000);

  it('decodes ahead of the consumer: the prefetch window fills while nobody calls next()', async () => {
    const stream = await openTrainingStream(base({ batch: 4, prefetch: 3, workers: 2 }));
    try {
      await stream.next();
      // Poll (no timing assertion): the loader must reach a full window of decoded samples on its own.
      for (let i = 0; i < 1000 && stream.stats().samplesReady < 12; i++) await new Promise((r) => setTimeout(r, 10));
      expect(stream.stats().samplesReady).toBe(12);
      const waitedBefore = stream.stats().waitSeconds;
      for (let i = 0; i < 3; i++) await stream.next();
      // The three batches were already decoded: next() found them ready and did not wait on a worker.
      expect(stream.stats().waitSeconds).toBe(waitedBefore);
    } finally {
      await stream.close();
    }
  }, 30_000);

  it('holds at most prefetch * batch decoded samples and shuffleBuffer + one page of references', async () => {
    const stream = await openTrainingStream(base({ batch: 3, prefetch: 2, shuffleBuffer: 5, workers: 2 }));
    try {
      for (let i = 0; i < 20; i++) {
        await stream.next();
        // Let the loader run as far ahead as it is allowed to.
        await new Promise((r) => setTimeout(r, 5));
        expect(stream.stats().samplesHeld).toBeLessThanOrEqual(6);
      }
      const stats = stream.stats();
      expect(stats.peakSamplesHeld).toBe(6);
      // Shards hold 8 rows: the page read is at most 8, the buffer at most 5.
      expect(stats.peakReferencesHeld).toBeLessThanOrEqual(5 + 8);
      expect(stats.peakReferencesHeld).toBeGreaterThan(5);
    } finally {
      await stream.close();
    }
  }, 30_000);

  it('leaves out samples smaller than the patch and says how many', async () => {
    const dir = join(root, 'mixed');
    const samples = [fixtureSample(100, 20), fixtureSample(101, 12), fixtureSample(102, 16), fixtureSample(103, 10)];
    await buildDataset(dir, samples, 2);
    const { batches, stream } = await take({ ...base(), dataset: dir, batch: 4 }, 2);
    expect(stream.samplesPerEpoch).toBe(2);
    expect(stream.stats().excludedTooSmall).toBe(2);
    expect(new Set(batches.flatMap((b) => b.keys))).toEqual(new Set(['s100', 's102']));
    await expect(openTrainingStream({ ...base(), dataset: dir, patch: 32 })).rejects.toThrow(/4 match but are smaller than the 32px patch/);
  }, 30_000);

  it('reports a manifest that does not match its shard, naming shard and member', async () => {
    const dir = join(root, 'broken');
    cpSync(ds, dir, { recursive: true });
    const db = new Database(join(dir, 'manifest.sqlite'));
    // Point every lq offset at the gt member.
    db.prepare('UPDATE samples SET offset_lq = offset_gt').run();
    db.close();
    const stream = await openTrainingStream({ ...base(), dataset: dir });
    try {
      await expect(stream.next()).rejects.toThrow(/t-00000\d\.tar: offset \d+ holds "s\d+\.gt\.png", expected "s\d+\.lq\.png"/);
      // The stream stays failed rather than skipping the sample.
      await expect(stream.next()).rejects.toThrow(/expected "s\d+\.lq\.png"/);
    } finally {
      await stream.close();
    }
  }, 30_000);

  it('refuses next() after close, and close twice is harmless', async () => {
    const stream = await openTrainingStream(base());
    await stream.next();
    await stream.close();
    await stream.close();
    await expect(stream.next()).rejects.toThrow(/closed/);
  });

  it('validates its options with messages naming them', async () => {
    await expect(openTrainingStream(base({ batch: 0 }))).rejects.toThrow(/batch must be an integer in 1\.\./);
    await expect(openTrainingStream(base({ patch: 2.5 }))).rejects.toThrow(/patch must be an integer/);
    await expect(openTrainingStream(base({ seed: '' }))).rejects.toThrow(/seed must be a non-empty string/);
    await expect(openTrainingStream(base({ split: 'dev' as 'val' }))).rejects.toThrow(/split must be/);
    await expect(openTrainingStream(base({ dataset: join(root, 'nowhere') }))).rejects.toThrow(/no manifest\.sqlite there/);
  });
});

