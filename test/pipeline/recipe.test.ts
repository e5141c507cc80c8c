import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TYPE_IDS } from '../../src/degradations/types.js';
import { applyOverrides, normalizeRecipe, planIdentity, readRecipe, RecipeError } from '../../src/pipeline/recipe.js';

describe('normalizeRecipe', () => {
  it('fills defaults: all 19 types at weight 1, crop 256, even levels, 90/5/5 splits', () => {
    const r = normalizeRecipe({});
    expect(Object.keys(r.types)).toEqual([...TYPE_IDS]);
    expect(Object.values(r.types).every((s) => s.weight === 1)).toBe(true);
    expect(r).toMatchObject({ crop: 256, seed: '0', samples: null, per_source: null, level_spread: 'even', shard_samples: 1000, prefix: 'uir', png_level: 1 });
    expect(r.splits).toEqual({ train: 0.9, val: 0.05, test: 0.05 });
  });

  it('accepts a list of types, a weight map and count maps, and keeps TYPE_IDS order', () => {
    expect(Object.keys(normalizeRecipe({ types: ['mb', 'GN'] }).types)).toEqual(['GN', 'MB']);
    const w = normalizeRecipe({ types: { J: 2, GN: { weight: 0.5, levels: ['gaussian:15', 1] } } });
    expect(w.types).toEqual({ GN: { weight: 0.5, levels: ['gaussian:15', 1] }, J: { weight: 2 } });
    const c = normalizeRecipe({ types: { GN: { count: 10 }, J: { count: 5 } } });
    expect(c.types).toEqual({ GN: { count: 10 }, J: { count: 5 } });
  });

  it('is canonical: equal recipes in any field order serialize equally', () => {
    const a = normalizeRecipe({ seed: 3, crop: 64, types: { J: 1, GN: 1 }, splits: { test: 0.1, val: 0.1, train: 0.8 } });
    const b = normalizeRecipe({ splits: { train: 0.8, val: 0.1, test: 0.1 }, types: ['GN', 'J'], crop: 64, seed: '3' });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it.each([
    [{ crop: 0 }, /crop must be an integer in 1..8192/],
    [{ crop: 1.5 }, /crop/],
    [{ samples: 5, per_source: 2 }, /samples or per_source/],
    [{ types: ['XX'] }, /unknown type "XX"/],
    [{ types: { GN: { count: 3 }, J: 1 } }, /every type a count, or none/],
    [{ types: { GN: { weight: 1, count: 2 } } }, /weight or a count, not both/],
    [{ types: { GN: { weight: -1 } } }, /types.GN.weight must be a finite number > 0/],
    [{ types: { GN: { levels: [] } } }, /types.GN.levels must be a non-empty list/],
    [{ types: [] }, /at least one type/],
    [{ splits: { train: 0.5, val: 0.1 } }, /splits must sum to 1/],
    [{ splits: { train: 1, dev: 0 } }, /unknown split "dev"/],
    [{ prefix: 'a.b' }, /prefix must be 1..40 characters/],
    [{ level_spread: 'random' }, /level_spread must be "even"/],
    [{ crops: 5 }, /unknown recipe field "crops"/],
    [{ version: 2 }, /version must be 1/],
    [[1], /must be a JSON object/],
  ])('rejects %j with a message naming the field', (input, message) => {
    expect(() => normalizeRecipe(input)).toThrow(RecipeError);
    expect(() => normalizeRecipe(input)).toThrow(message);
  });
});

describe('readRecipe', () => {
  it('resolves relative source folders against the recipe file and names the file in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uirgen-recipe-'));
    const path = join(dir, 'r.json');
    writeFileSync(path, JSON.stringify({ sources: ['photos', '/abs/x'], crop: 64 }));
    const r = await readRecipe(path);
    expect(r.sources).toEqual([join(dir, 'photos'), '/abs/x']);
    writeFileSync(path, JSON.stringify({ crop: -1 }));
    await expect(readRecipe(path)).rejects.toThrow(`${path}: crop must be`);
    writeFileSync(path, '{ not json');
    await expect(readRecipe(path)).rejects.toThrow(path);
    await expect(readRecipe(join(dir, 'missing.json'))).rejects.toThrow(/file not found/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the bundled recipes', async () => {
    const demo = await readRecipe('manifests/demo.json');
    expect(Object.keys(demo.types)).toHaveLength(19);
    expect(demo.crop).toBe(256);
    const uir = await readRecipe('manifests/uir-2.5m.json');
    expect(uir.collections && Object.keys(uir.collections)).toEqual(['LSDIR', 'DF2K', 'BSD500', 'WED', 'NKUSR8K', 'FFHQ1K']);
    expect(JSON.parse(readFileSync('manifests/uir-2.5m.json', 'utf8')).notes).toBe(uir.notes);
  });
});

describe('applyOverrides', () => {
  const base = normalizeRecipe({ types: { GN: { weight: 2, levels: [0] }, J: 1 }, samples: 50, seed: 'a' });

  it('command-line values win; --samples and --per-source replace each other', () => {
    const r = applyOverrides(base, { per_source: 3, seed: 'b', crop: 64, shard_samples: 7, sources: ['x'] });
    expect(r).toMatchObject({ per_source: 3, samples: null, seed: 'b', crop: 64, shard_samples: 7, sources: ['x'] });
    expect(applyOverrides(r, { samples: 9 })).toMatchObject({ samples: 9, per_source: null });
    expect(() => applyOverrides(base, { samples: 1, per_source: 1 })).toThrow(/not both/);
  });

  it('--types keeps the recipe spec of listed types and adds unlisted ones at weight 1', () => {
    const r = applyOverrides(base, { types: ['gn', 'MB'] });
    expect(r.types).toEqual({ GN: { weight: 2, levels: [0] }, MB: { weight: 1 } });
    expect(() => applyOverrides(base, { types: ['ZZ'] })).toThrow(/--types: unknown type "ZZ"/);
    const counted = normalizeRecipe({ types: { GN: { count: 4 } } });
    expect(() => applyOverrides(counted, { types: ['J'] })).toThrow(/has no count/);
  });

  it('planIdentity ignores where sources live and the prose, not what decides samples', () => {
    const a = normalizeRecipe({ sources: ['/a'], name: 'x', notes: 'n' });
    const b = normalizeRecipe({ sources: ['/b'], name: 'y' });
    expect(planIdentity(a)).toBe(planIdentity(b));
    expect(planIdentity(a)).not.toBe(planIdentity(normalizeRecipe({ seed: '1' })));
    expect(planIdentity(a)).not.toBe(planIdentity(normalizeRecipe({ shard_samples: 9 })));
  });
});

describe('collections and imports', () => {
  const withCollections = {
    collections: {
      photos: { images: 100, width: 640, height: 480, citation: 'made up' },
      faces: { images: 10, width: 512, height: 512, path: 'faces' },
    },
    types: { GN: { count: 30 }, DNBJ: { count: 12, collections: ['faces', 'photos'] } },
    imports: [{ type: 'rn', datasets: ['SIDD'], count: 7, layout: 'sidd' }],
  };

  it('keeps collections in the given order, resolves their paths, and defaults imports to real', () => {
    const r = normalizeRecipe(withCollections, '/base');
    expect(Object.keys(r.collections ?? {})).toEqual(['photos', 'faces']);
    expect(r.collections?.faces.path).toBe('/base/faces');
    expect(r.types.DNBJ).toEqual({ count: 12, collections: ['faces', 'photos'] });
    expect(r.imports).toEqual([{ type: 'RN', datasets: ['SIDD'], count: 7, real: true, layout: 'sidd' }]);
    // Canonical: a normalized recipe normalizes to itself.
    expect(JSON.stringify(normalizeRecipe(JSON.parse(JSON.stringify(r))))).toBe(JSON.stringify(r));
  });

  it.each([
    [{ ...withCollections, sources: ['/x'] }, /sources or collections, not both/],
    [{ collections: { 'a b': { images: 1, width: 1, height: 1 } } }, /name "a b" must be/],
    [{ collections: { a: { images: 0, width: 1, height: 1 } } }, /collections.a.images must be an integer/],
    [{ collections: { a: { images: 1, width: 1, height: 1, size: 2 } } }, /collections.a: unknown field "size"/],
    [{ types: { GN: { collections: ['nope'] } } }, /types.GN.collections: unknown collection "nope" \(the recipe has no collections\)/],
    [{ ...withCollections, types: { GN: { count: 1, collections: ['x'] } } }, /unknown collection "x" \(recipe collections: photos, faces\)/],
    [{ imports: [{ type: 'RN', datasets: ['SIDD'], count: 1, layout: 'zip' }] }, /imports\[0\].layout must be one of sidd, paired-dirs/],
    [{ imports: [{ type: 'QQ', datasets: ['x'], count: 1, layout: 'sidd' }] }, /imports\[0\].type: unknown type/],
    [{ imports: [{ type: 'RN', datasets: [], count: 1, layout: 'sidd' }] }, /imports\[0\].datasets must be a non-empty list/],
    [
      { imports: [{ type: 'RN', datasets: ['a'], count: 1, layout: 'sidd' }, { type: 'RN', datasets: ['b'], count: 1, layout: 'sidd' }] },
      /imports\[1\]: a second real import of RN/,
    ],
  ])('rejects %j', (input, message) => {
    expect(() => normalizeRecipe(input)).toThrow(message);
  });

  it('--collection maps folders; --sources replaces the collections; the identity ignores figures and imports', () => {
    const r = normalizeRecipe(withCollections);
    const mapped = applyOverrides(r, { collections: { photos: '/data/photos' } });
    expect(mapped.collections?.photos.path).toBe('/data/photos');
    expect(() => applyOverrides(r, { collections: { other: '/x' } })).toThrow(/unknown collection "other" \(recipe collections: photos, faces\)/);
    expect(() => applyOverrides(normalizeRecipe({}), { collections: { a: '/x' } })).toThrow(/has no collections/);
    const flat = applyOverrides(r, { sources: ['/photos'] });
    expect(flat.collections).toBeUndefined();
    expect(flat.types.DNBJ).toEqual({ count: 12 });
    expect(planIdentity(mapped)).toBe(planIdentity(r));
    const edited = normalizeRecipe({ ...withCollections, imports: [], collections: { photos: { images: 5, width: 9, height: 9 }, faces: { images: 1, width: 9, height: 9 } } });
    expect(planIdentity(edited)).toBe(planIdentity(r));
    const reordered = normalizeRecipe({ ...withCollections, collections: { faces: withCollections.collections.faces, photos: withCollections.collections.photos } });
    expect(planIdentity(reordered)).not.toBe(planIdentity(r));
  });
});

describe('recipe depth maps', () => {
  it('takes a folder or {dir, kind}, resolves it like sources, defaults kind to inverse; the folder is not part of the plan identity', () => {
    expect(normalizeRecipe({ depth: '/maps' }).depth).toEqual({ dir: '/maps', kind: 'inverse' });
    expect(normalizeRecipe({ depth: { dir: 'maps', kind: 'depth' } }, '/base').depth).toEqual({ dir: '/base/maps', kind: 'depth' });
    expect(normalizeRecipe({}).depth).toBeUndefined();
    expect(() => normalizeRecipe({ depth: { dir: '/m', kind: 'disparity' } })).toThrow(/depth\.kind must be "inverse" or "depth"/);
    expect(() => normalizeRecipe({ depth: { folder: '/m' } })).toThrow(/unknown field "folder"/);
    const a = normalizeRecipe({ depth: '/a' });
    expect(planIdentity(a)).toBe(planIdentity(normalizeRecipe({ depth: '/b' })));
    expect(planIdentity(a)).not.toBe(planIdentity(normalizeRecipe({})));
    expect(planIdentity(a)).not.toBe(planIdentity(normalizeRecipe({ depth: { dir: '/a', kind: 'depth' } })));
  });

  it('--depth and --depth-kind override the recipe; a kind alone is refused', () => {
    const r = normalizeRecipe({ depth: '/maps' });
    expect(applyOverrides(r, { depth: '/other' }).depth).toEqual({ dir: '/other', kind: 'inverse' });
    expect(applyOverrides(r, { depth_kind: 'depth' }).depth).toEqual({ dir: '/maps', kind: 'depth' });
    expect(() => applyOverrides(normalizeRecipe({}), { depth_kind: 'depth' })).toThrow(/give --depth too/);
  });
});
