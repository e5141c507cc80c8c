import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/core/io.js';
import { ssim } from '../../src/core/metrics.js';
import { getDegradation } from '../../src/degradations/registry.js';
import { importPairs } from '../../src/pipeline/import.js';
import { Manifest, MANIFEST_FILE, type SampleRow } from '../../src/pipeline/manifest.js';
import { merge } from '../../src/pipeline/merge.js';
import { normalizeRecipe } from '../../src/pipeline/recipe.js';
import { computeStats, quantile, type DatasetStats } from '../../src/pipeline/stats.js';
import { lockDataset, synthesize } from '../../src/pipeline/synthesize.js';
import { tempDir } from '../support/files.js';
import { samplePaths, SAMPLES_DIR } from '../support/samples.js';

function row(key: string, type: string, level: number, levelId: string, psnr: number | null, split: string, source: string, shard: string, real: 0 | 1 = 0): SampleRow {
  return {
    key, type, level, level_id: levelId, params: {}, seed: real ? null : `seed-${key}`, source_id: source, crop_x: 0, crop_y: 0,
    width: 64, height: 64, split, real, shard, offset_gt: 512, offset_lq: 1536, lq_sha256: 'l', gt_sha256: 'g', psnr, type_version: real ? null : 1,
  };
}

/**
 * A dataset made by hand, every figure counted on paper:
 * GN: level 0 twice (PSNR 10, 20), level 1 once (30); J: level 2 twice (25, identical); RN: one real capture (35).
 * Sources a, d in train; b in val; c in test. Shards t-000000 (3 samples, 3000 B), t-000001 (2, 1000 B), and an
 * import shard (1, 5000 B); the run planned 3 t- shards, so t-000002 is missing. Errors: probe x2, duplicate, size.
 */
function handMade(ds: string): void {
  const m = Manifest.open(join(ds, MANIFEST_FILE));
  const recipe = normalizeRecipe({
    name: 'hand',
    seed: 'h',
    crop: 64,
    types: { GN: { count: 3 }, J: { count: 2 } },
    imports: [{ type: 'RN', datasets: ['SIDD'], count: 5, layout: 'sidd' }],
    splits: { train: 0.5, val: 0.25, test: 0.25 },
    prefix: 't',
    shard_samples: 3,
  });
  writeFileSync(join(ds, 'recipe.json'), JSON.stringify(recipe));
  const run = m.startRun(recipe, { uirgen: '9.9.9', node: '20.0.0', sharp: '0.1', plan: { fingerprint: 'f', samples: 7, shards: 3, prefix: 't', part: { index: 0, count: 1 } } });
  m.upsertSources(['a', 'b', 'c', 'd'].map((id) => ({ id, path: `${id}.png`, sha256: id.repeat(64), width: 64, height: 64 })));
  m.commitShard({ name: 't-000000.tar', samples: 3, bytes: 3000, sha256: 'x' }, [
    row('k1', 'GN', 0, 'gaussian:5', 10, 'train', 'a', 't-000000.tar'),
    row('k2', 'GN', 0, 'gaussian:5', 20, 'train', 'a', 't-000000.tar'),
    row('k3', 'GN', 1, 'gaussian:10', 30, 'val', 'b', 't-000000.tar'),
  ]);
  m.commitShard({ name: 't-000001.tar', samples: 2, bytes: 1000, sha256: 'y' }, [
    row('k4', 'J', 2, 'quality:70', 25, 'test', 'c', 't-000001.tar'),
    row('k5', 'J', 2, 'quality:70', Infinity, 'test', 'c', 't-000001.tar'),
  ]);
  m.commitShard({ name: 'import-rn-000000.tar', samples: 1, bytes: 5000, sha256: 'z' }, [
    row('r1', 'RN', 0, 'real', 35, 'train', 'd', 'import-rn-000000.tar', 1),
  ]);
  m.recordErrors([
    { path: '/p/1.png', stage: 'probe', message: 'not an image' },
    { path: '/p/2.png', stage: 'probe', message: 'truncated' },
    { path: '/p/3.png', stage: 'duplicate', message: 'same content as /p/a.png; used once' },
    { path: '/p/4.png', stage: 'size', message: '20x20 is smaller than the 64x64 crop' },
  ]);
  m.finishRun(run);
  m.close();
}

describe('stats of a hand-counted dataset', () => {
  let s: DatasetStats;
  beforeAll(async () => {
    const ds = tempDir('uirgen-stats-hand-');
    handMade(ds);
    s = await computeStats(ds, { ssimSamples: 0 });
  });

  it('counts by type, level, real and synthetic', () => {
    const levels = (t: string) => getDegradation(t).levels.length;
    expect(s.totals).toEqual({
      samples: 6, synthetic: 5, real: 1, imported_other: 0, types: 3, levels_present: 3,
      levels_total: levels('GN') + levels('RN') + levels('J'), planned: null, missing: null,
    });
    expect(s.types.map((t) => [t.type, t.samples, t.synthetic, t.real, t.levels_present, t.per_level_min, t.per_level_max])).toEqual([
      ['GN', 3, 3, 0, 2, 1, 2],
      ['RN', 1, 0, 1, 0, 0, 0],
      ['J', 2, 2, 0, 1, 2, 2],
    ]);
    expect(s.levels).toEqual([
      { type: 'GN', level: 0, level_id: 'gaussian:5', samples: 2, planned: null },
      { type: 'GN', level: 1, level_id: 'gaussian:10', samples: 1, planned: null },
      { type: 'J', level: 2, level_id: 'quality:70', samples: 2, planned: null },
    ]);
  });

  it('PSNR median, p10, p90 (numpy linear) per type; identical pairs apart; 1 dB histograms', () => {
    const gn = s.types.find((t) => t.type === 'GN');
    expect(gn?.psnr).toEqual({ n: 3, identical: 0, missing: 0, median: 20, p10: 12, p90: 28 });
    const j = s.types.find((t) => t.type === 'J');
    expect(j?.psnr).toEqual({ n: 1, identical: 1, missing: 0, median: 25, p10: 25, p90: 25 });
    expect(s.psnr_histograms.GN[10] + s.psnr_histograms.GN[20] + s.psnr_histograms.GN[30]).toBe(3);
    expect(s.psnr_histograms.GN.reduce((a, b) => a + b)).toBe(3);
    expect(s.psnr_histograms.J.reduce((a, b) => a + b)).toBe(1);
  });

  it('splits with their sources and the asked fractions', () => {
    expect(s.splits).toEqual([
      { split: 'train', samples: 3, sources: 2, planned: null, planned_sources: null, requested_fraction: 0.5 },
      { split: 'val', samples: 1, sources: 1, planned: null, planned_sources: null, requested_fraction: 0.25 },
      { split: 'test', samples: 2, sources: 1, planned: null, planned_sources: null, requested_fraction: 0.25 },
    ]);
  });

  it('sources used, skipped and duplicated, with the reasons', () => {
    expect(s.sources).toMatchObject({ known: 4, used: 4, planned: null, duplicated: 1, skipped: 3, by_collection: [] });
    expect(s.sources.errors.map((e) => [e.stage, e.count])).toEqual([['probe', 2], ['duplicate', 1], ['size', 1]]);
    expect(s.sources.errors[0].examples).toEqual([
      { path: '/p/1.png', message: 'not an image' },
      { path: '/p/2.png', message: 'truncated' },
    ]);
  });

  it('shard count, sizes and balance; planned shards still missing', () => {
    const { sizes, ...rest } = s.shards;
    expect(rest).toEqual({
      count: 3, bytes: 9000, bytes_min: 1000, bytes_median: 3000, bytes_max: 5000, samples_min: 1, samples_median: 2, samples_max: 3,
      bytes_max_over_mean: 5000 / 3000,
      by_prefix: [{ prefix: 'import-rn', shards: 1, samples: 1, bytes: 5000 }, { prefix: 't', shards: 2, samples: 5, bytes: 4000 }],
      planned: 3, missing: 1,
    });
    expect(sizes.map((x) => x.name)).toEqual(['import-rn-000000.tar', 't-000000.tar', 't-000001.tar']);
  });

  it('expected imports against what is there; recipe, runs and versions', () => {
    expect(s.imports).toEqual([expect.objectContaining({ type: 'RN', datasets: ['SIDD'], layout: 'sidd', real: true, expected: 5, present: 1, missing: 4 })]);
    expect(s.imports[0].command).toMatch(/^uirgen import --type RN --real --lq SIDD_DIR --gt SIDD_DIR --out /);
    expect(s.recipe).toEqual({ name: 'hand', seed: 'h', crop: 64, shard_samples: 3, prefix: 't' });
    expect(s.runs).toMatchObject({ count: 1, commands: { synthesize: 1 }, toolkit_versions: ['9.9.9'], latest_versions: { uirgen: '9.9.9', node: '20.0.0', sharp: '0.1' } });
    expect(s.writer).toBeNull();
  });

  it('has the documented JSON fields (README "uirgen stats --json")', () => {
    const json = JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      'format', 'dataset', 'manifest', 'writer', 'recipe', 'totals', 'types', 'levels', 'splits', 'sources', 'shards', 'imports', 'plan', 'runs', 'psnr_histograms',
    ]);
    expect(json.format).toBe('uirgen-stats/1');
    expect(Object.keys(s.types[0])).toEqual([
      'type', 'name', 'samples', 'synthetic', 'real', 'imported_other', 'levels_total', 'levels_present', 'per_level_min', 'per_level_max', 'planned', 'missing', 'psnr', 'ssim',
    ]);
    expect(Object.keys(s.shards)).toEqual([
      'count', 'bytes', 'bytes_min', 'bytes_median', 'bytes_max', 'samples_min', 'samples_median', 'samples_max', 'bytes_max_over_mean', 'by_prefix', 'planned', 'missing', 'sizes',
    ]);
    expect(Object.keys(s.sources)).toEqual(['known', 'used', 'planned', 'by_collection', 'duplicated', 'skipped', 'errors']);
  });

  it('quantile follows numpy.percentile (linear)', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.1)).toBeCloseTo(1.3, 12);
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([], 0.5)).toBeNull();
  });
});

describe('stats of real datasets', () => {
  const recipe = normalizeRecipe({ sources: [SAMPLES_DIR], crop: 64, per_source: 3, types: ['GN', 'J'], shard_samples: 4, seed: 'stats' });
  let ds: string;
  let pairDir: string;

  beforeAll(async () => {
    ds = tempDir('uirgen-stats-real-');
    await synthesize({ recipe, out: ds, workers: 1 });
    // Two real pairs to import: a photo (gt) and a darkened copy (lq), 80x60.
    pairDir = tempDir('uirgen-stats-pairs-');
    for (const sub of ['lq', 'gt']) mkdirSync(join(pairDir, sub));
    for (const [i, path] of samplePaths().slice(0, 2).entries()) {
      const gt = sharp(path).resize(80, 60, { fit: 'cover' }).removeAlpha();
      await gt.clone().png().toFile(join(pairDir, 'gt', `p${i}.png`));
      await gt.clone().linear(0.6, 0).png().toFile(join(pairDir, 'lq', `p${i}.png`));
    }
    await importPairs({ type: 'RN', lqDir: join(pairDir, 'lq'), gtDir: join(pairDir, 'gt'), out: ds, real: true });
  });

  it('synthesized plus imported: figures match the rows, SSIM from the shards matches SSIM of the inputs', async () => {
    const s = await computeStats(ds, { ssimSamples: 3 });
    expect(s.totals).toMatchObject({ samples: 17, synthetic: 15, real: 2 });
    const db = new Database(join(ds, MANIFEST_FILE), { readonly: true });
    const all = db.prepare("SELECT type, psnr FROM samples WHERE type = 'GN' ORDER BY psnr").all() as { psnr: number }[];
    db.close();
    const values = all.map((r) => r.psnr).filter(Number.isFinite);
    const gn = s.types.find((t) => t.type === 'GN');
    expect(gn?.psnr.median).toBeCloseTo(quantile(values, 0.5) as number, 10);
    expect(gn?.psnr.p90).toBeCloseTo(quantile(values, 0.9) as number, 10);
    expect(gn?.ssim?.n).toBe(3);
    const rn = s.types.find((t) => t.type === 'RN');
    const direct = await Promise.all(
      [0, 1].map(async (i) => ssim(await decodeImage(join(pairDir, 'lq', `p${i}.png`)), await decodeImage(join(pairDir, 'gt', `p${i}.png`)))),
    );
    expect(rn?.ssim?.n).toBe(2);
    expect(rn?.ssim?.median).toBeCloseTo((direct[0] + direct[1]) / 2, 12);
    expect(s.shards.by_prefix.map((p) => p.prefix)).toEqual([expect.stringMatching(/^import-rn-/), 'uir']);
    expect(s.shards).toMatchObject({ planned: 4, missing: 0 });
  });

  it('a merged dataset has the figures of the single run', async () => {
    const parts = [tempDir('uirgen-stats-p0-'), tempDir('uirgen-stats-p1-')];
    for (const [i, out] of parts.entries()) await synthesize({ recipe, out, workers: 1, shardIndex: i, shardCount: 2 });
    const merged = tempDir('uirgen-stats-merged-');
    await merge(merged, parts);
    const whole = tempDir('uirgen-stats-whole-');
    await synthesize({ recipe, out: whole, workers: 1 });
    const [a, b] = await Promise.all([computeStats(merged, { ssimSamples: 2 }), computeStats(whole, { ssimSamples: 2 })]);
    for (const k of ['totals', 'types', 'levels', 'splits', 'shards', 'psnr_histograms'] as const) expect(a[k]).toEqual(b[k]);
    expect(a.runs.commands).toEqual({ merge: 1 });
  });

  it('reads a manifest that synthesize is still writing (WAL) and names the writer', async () => {
    const live = tempDir('uirgen-stats-live-');
    for (const f of ['manifest.sqlite', 'recipe.json']) copyFileSync(join(ds, f), join(live, f));
    const lock = await lockDataset(live);
    const writer = Manifest.open(join(live, MANIFEST_FILE)); // WAL mode, held open like a running synthesize
    try {
      const before = await computeStats(live, { ssimSamples: 0 });
      writer.commitShard({ name: 'more-000000.tar', samples: 1, bytes: 10, sha256: 'm' }, [row('w1', 'GN', 0, 'gaussian:5', 33, 'train', 'zz', 'more-000000.tar')]);
      expect(readFileSync(join(live, `${MANIFEST_FILE}-wal`)).length).toBeGreaterThan(0);
      const after = await computeStats(live, { ssimSamples: 0 });
      expect(after.totals.samples).toBe(before.totals.samples + 1);
      expect(after.writer).toMatch(/uirgen \(pid \d+ on /);
    } finally {
      writer.close();
      await lock.release();
    }
  });

  it('says what to do when the folder is not a dataset', async () => {
    await expect(computeStats(tempDir('uirgen-stats-empty-'))).rejects.toThrow(/no manifest there .*is this a uirgen dataset/);
  });
});
