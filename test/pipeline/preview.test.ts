import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { pickExamples, readPair, spread } from '../../src/pipeline/examples.js';
import { Manifest, MANIFEST_FILE } from '../../src/pipeline/manifest.js';
import { makePreview, sheetLayout } from '../../src/pipeline/preview.js';
import { normalizeRecipe } from '../../src/pipeline/recipe.js';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { tempDir } from '../support/files.js';
import { SAMPLES_DIR } from '../support/samples.js';

describe('examples and preview', () => {
  let ds: string;
  beforeAll(async () => {
    ds = tempDir('uirgen-preview-');
    const recipe = normalizeRecipe({ sources: [SAMPLES_DIR], crop: 64, per_source: 8, types: ['GN', 'J'], shard_samples: 12, seed: 'preview', splits: { train: 0.6, val: 0.2, test: 0.2 } });
    await synthesize({ recipe, out: ds, workers: 1 });
  });

  it('picks spread from the mildest to the most severe level present, in type order, and filters by split', () => {
    expect(spread(10, 3)).toEqual([0, 5, 9]);
    expect(spread(10, 1)).toEqual([4]);
    const m = Manifest.open(join(ds, MANIFEST_FILE), { readonly: true });
    try {
      const levels = m.db.prepare("SELECT DISTINCT level FROM samples WHERE type = 'GN' ORDER BY level").pluck().all() as number[];
      const picks = pickExamples(m.db, { types: ['J', 'GN'], perType: 2 });
      expect(picks.map((p) => p.type)).toEqual(['J', 'J', 'GN', 'GN']);
      expect(picks.filter((p) => p.type === 'GN').map((p) => p.level)).toEqual([levels[0], levels.at(-1)]);
      expect(pickExamples(m.db, { types: ['GN'], perType: 2 })).toEqual(picks.slice(2)); // deterministic
      const test = pickExamples(m.db, { types: ['GN', 'J'], perType: 5, split: 'test' });
      expect(test.length).toBeGreaterThan(0);
      expect(test.every((p) => p.split === 'test')).toBe(true);
    } finally {
      m.close();
    }
  });

  it('writes a sheet whose tiles are the stored pairs, read from the shards through the manifest offsets', async () => {
    const out = join(tempDir('uirgen-preview-out-'), 'sheet.png');
    const s = await makePreview(ds, out, { types: ['j', 'GN'], perType: 3, tile: 48 });
    expect(s).toMatchObject({ types: ['J', 'GN'], pairs: 6 });
    const layout = sheetLayout(2, 3, 48);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([layout.width, layout.height]);
    const m = Manifest.open(join(ds, MANIFEST_FILE), { readonly: true });
    const picks = pickExamples(m.db, { types: ['J', 'GN'], perType: 3 });
    m.close();
    // Row 1 (GN), pair 2: the gt and the lq tiles are exactly the shard's PNGs scaled to the tile.
    const pair = readPair(ds, picks[5]);
    for (const [k, png] of [pair.gt, pair.lq].entries()) {
      const at = layout.tile(1, 2, k as 0 | 1);
      const want = await sharp(png).resize(48, 48, { fit: 'inside' }).removeAlpha().raw().toBuffer();
      const got = await sharp(out).extract({ ...at, width: 48, height: 48 }).removeAlpha().raw().toBuffer();
      expect(got.equals(want)).toBe(true);
    }
  });

  it('names what is missing', async () => {
    const out = join(tempDir('uirgen-preview-err-'), 'sheet.png');
    await expect(makePreview(ds, out, { types: ['MB'] })).rejects.toThrow(/has no samples of MB \(it has GN J\)/);
    await expect(makePreview(ds, out, { split: 'nope' })).rejects.toThrow(/no samples in split "nope"/);
  });
});
