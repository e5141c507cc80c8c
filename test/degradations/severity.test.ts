import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from '../../src/core/random.js';
import { getDegradation } from '../../src/degradations/registry.js';
import type { TypeId } from '../../src/degradations/types.js';
import { sampleCrops } from '../support/samples.js';
import { severityMeasure } from '../support/severity.js';

/**
 * Severity holds photo by photo, not only on average: within every variant, on each bundled photo, the
 * mildest, middle and harshest levels' measure (PSNR, or the one the type names) falls, mean over seeds that
 * make the same random choices at every level. The registry test checks every adjacent pair of levels on the
 * mean over photos; this one checks that no photo reverses the order (the failure seen on held-out photos).
 */
const TYPES: readonly TypeId[] = ['GN', 'RN', 'MB', 'GB', 'J', 'MS', 'LL', 'MR', 'BJ', 'BLN', 'DNBJ'];
const SEEDS = 3;

describe.each(TYPES)('%s severity on every photo', (id) => {
  const d = getDegradation(id);
  const measure = severityMeasure(d, 60);

  it('falls from the mildest to the middle to the harshest level of each variant, on each photo', async () => {
    const crops = await sampleCrops(96);
    for (const variant of new Set(d.levels.map((l) => l.variant))) {
      const indices = d.levels.flatMap((l, i) => (l.variant === variant ? [i] : []));
      const picks = [indices[0], indices[(indices.length - 1) >> 1], indices[indices.length - 1]];
      for (const [p, crop] of crops.entries()) {
        const means: number[] = [];
        for (const level of picks) {
          let sum = 0;
          for (let s = 0; s < SEEDS; s++) sum += measure(await d.apply(crop, d.sample(level, createRng(deriveSeed('per-photo', id, p, s)), crop)), crop);
          means.push(sum / SEEDS);
        }
        const run = `${id} ${variant} photo ${p}: ${picks.map((l, k) => `${d.levels[l].id}=${means[k].toFixed(3)}`).join(' > ')}`;
        expect(means[1], run).toBeLessThan(means[0]);
        expect(means[2], run).toBeLessThan(means[1]);
      }
    }
  });
});
