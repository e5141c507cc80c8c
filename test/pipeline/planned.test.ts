import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { Manifest, MANIFEST_FILE } from '../../src/pipeline/manifest.js';
import { readPlanMeta } from '../../src/pipeline/plan-meta.js';
import { writePlan } from '../../src/pipeline/planned.js';
import { applyOverrides, normalizeRecipe, readRecipe, type Recipe } from '../../src/pipeline/recipe.js';
import { computeStats } from '../../src/pipeline/stats.js';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { tempDir } from '../support/files.js';
import { samplePaths, SAMPLES_DIR } from '../support/samples.js';

const COLUMNS = 'key, type, level, level_id, seed, source_id, crop_x, crop_y, width, height, split, shard';

function rowsOf(ds: string, table: 'plan' | 'samples'): Record<string, unknown>[] {
  const db = new Database(join(ds, MANIFEST_FILE), { readonly: true });
  try {
    return db.prepare(`SELECT ${COLUMNS} FROM ${table} ORDER BY key`).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Two collections of real folders: "photos" (three of the bundled photos), "faces" (the other two). */
function collectionsRecipe(base: string): Recipe {
  const photos = join(base, 'photos');
  const faces = join(base, 'faces');
  mkdirSync(photos);
  mkdirSync(faces);
  samplePaths().forEach((p, i) => copyFileSync(p, join(i < 3 ? photos : faces, p.split('/').pop() as string)));
  return normalizeRecipe({
    name: 'scaled',
    collections: {
      photos: { images: 3, width: 512, height: 512, path: photos },
      faces: { images: 2, width: 512, height: 512, path: faces },
    },
    crop: 64,
    seed: 'scaled',
    types: { GN: { count: 9, collections: ['photos'] }, J: { count: 5, collections: ['photos'] }, DNBJ: { count: 6, collections: ['photos', 'faces'] } },
    imports: [{ type: 'RN', datasets: ['SIDD'], count: 3, layout: 'sidd' }],
    splits: { train: 0.6, val: 0.2, test: 0.2 },
    shard_samples: 6,
  });
}

describe('uirgen plan over real folders', () => {
  let recipe: Recipe;
  let planned: string;

  beforeAll(async () => {
    recipe = collectionsRecipe(tempDir('uirgen-plan-src-'));
    planned = tempDir('uirgen-plan-');
    const s = await writePlan({ recipe, out: planned });
    expect(s).toMatchObject({ written: true, samples: 20, shards: 4, sources: 5, sources_by_collection: { photos: 3, faces: 2 } });
  });

  it('synthesize over the same folders renders exactly the planned rows (keys, seeds, levels, crops, splits, shards)', async () => {
    const rendered = tempDir('uirgen-plan-rendered-');
    await synthesize({ recipe, out: rendered, workers: 2 });
    const plan = rowsOf(planned, 'plan');
    expect(plan).toHaveLength(20);
    expect(rowsOf(rendered, 'samples')).toEqual(plan);
    // DNBJ drew from both collections, GN and J from photos only.
    const db = new Database(join(planned, MANIFEST_FILE), { readonly: true });
    const from = db
      .prepare("SELECT p.type AS type, substr(s.path, 1, instr(s.path, '/') - 1) AS collection, count(*) AS n FROM plan p JOIN sources s ON s.id = p.source_id GROUP BY 1, 2 ORDER BY 1, 2")
      .all();
    db.close();
    expect(from).toEqual([
      { type: 'DNBJ', collection: 'faces', n: expect.any(Number) },
      { type: 'DNBJ', collection: 'photos', n: expect.any(Number) },
      { type: 'GN', collection: 'photos', n: 9 },
      { type: 'J', collection: 'photos', n: 5 },
    ]);
  });

  it('synthesize into the planned dataset fills it; stats then reports nothing missing but the imports', async () => {
    const ds = tempDir('uirgen-plan-fill-');
    await writePlan({ recipe, out: ds });
    const before = await computeStats(ds, { ssimSamples: 0 });
    expect(before.totals).toMatchObject({ samples: 0, planned: 20, missing: 20 });
    expect(before.splits.map((x) => [x.split, x.planned])).toEqual([['train', expect.any(Number)], ['val', expect.any(Number)], ['test', expect.any(Number)]]);
    expect(before.shards).toMatchObject({ count: 0, planned: 4, missing: 4 });
    await synthesize({ recipe, out: ds, workers: 2 });
    expect(rowsOf(ds, 'samples')).toEqual(rowsOf(ds, 'plan'));
    const after = await computeStats(ds, { ssimSamples: 0 });
    expect(after.totals).toMatchObject({ samples: 20, planned: 20, missing: 0 });
    expect(after.shards).toMatchObject({ count: 4, planned: 4, missing: 0 });
    expect(after.types.find((t) => t.type === 'GN')).toMatchObject({ planned: 9, synthetic: 9, missing: 0 });
    expect(after.imports).toEqual([expect.objectContaining({ type: 'RN', expected: 3, present: 0, missing: 3 })]);
    expect(after.sources.by_collection).toEqual([{ collection: 'photos', sources: 3 }, { collection: 'faces', sources: 2 }]);
  });

  it('keeps an equal plan, refuses another one and refuses to render other sources into it', async () => {
    const again = await writePlan({ recipe, out: planned });
    expect(again.written).toBe(false);
    await expect(writePlan({ recipe: applyOverrides(recipe, { seed: 'other' }), out: planned })).rejects.toThrow(/already holds another plan/);
    const fewer = normalizeRecipe({ ...recipe, types: { GN: { count: 9, collections: ['photos'] } } });
    await expect(synthesize({ recipe: fewer, out: planned, workers: 1 })).rejects.toThrow(/different recipe/);
  });
});

describe('uirgen plan --virtual-sources', () => {
  let uir: Recipe;
  beforeAll(async () => {
    uir = await readRecipe('manifests/uir-2.5m.json');
  });

  it('plans the UIR-2.5M composition, scaled down, over stand-ins of its collections', async () => {
    const ds = tempDir('uirgen-plan-virtual-');
    const scaled = applyOverrides(uir, { samples: 24_037 });
    const s = await writePlan({ recipe: scaled, out: ds, virtualSources: true });
    const published = Object.values(uir.collections ?? {}).reduce((a, c) => a + c.images, 0);
    expect(s).toMatchObject({ virtual: true, samples: 24_037, shards: 25, sources: published });
    // Scaled as weights from the recipe's counts: DNBJ keeps its 643,328 / 2,403,691 share.
    expect(s.types.DNBJ).toBe(Math.round((24_037 * 643_328) / 2_403_691));
    expect(Object.keys(s.types)).not.toContain('RN');
    const m = Manifest.open(join(ds, MANIFEST_FILE), { readonly: true });
    try {
      expect(readPlanMeta(m.db)).toMatchObject({ virtual: true, samples: 24_037, shards: 25, shard_samples: 1000, prefix: 'uir' });
      const dnbjFrom = m.db
        .prepare("SELECT DISTINCT substr(s.path, 1, instr(s.path, '/') - 1) FROM plan p JOIN sources s ON s.id = p.source_id WHERE p.type = 'DNBJ' ORDER BY 1")
        .pluck()
        .all();
      expect(dnbjFrom).toEqual(['FFHQ1K', 'LSDIR', 'NKUSR8K']);
    } finally {
      m.close();
    }
    const stats = await computeStats(ds, { ssimSamples: 0 });
    expect(stats.plan).toMatchObject({ virtual: true, samples: 24_037 });
    expect(stats.imports.reduce((a, e) => a + e.missing, 0)).toBe(79_297);
    // Nothing renders into a virtual plan: not other sources (another recipe), not real folders for its collections.
    await expect(synthesize({ recipe: applyOverrides(scaled, { sources: [SAMPLES_DIR] }), out: ds, workers: 1 })).rejects.toThrow(/different recipe/);
    const mapped = applyOverrides(scaled, { collections: Object.fromEntries(Object.keys(uir.collections ?? {}).map((c) => [c, SAMPLES_DIR])) });
    await expect(synthesize({ recipe: mapped, out: ds, workers: 1 })).rejects.toThrow(/holds a plan made from virtual sources/);
  });

  it('refuses a recipe without collections and a recipe whose collections have no folder', async () => {
    await expect(writePlan({ recipe: normalizeRecipe({ sources: ['/x'] }), out: tempDir(), virtualSources: true })).rejects.toThrow(/names none/);
    await expect(writePlan({ recipe: uir, out: tempDir() })).rejects.toThrow(/collections LSDIR, DF2K, BSD500, WED, NKUSR8K, FFHQ1K have no folder: map each with --collection NAME=DIR/);
  });
});
