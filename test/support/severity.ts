import { expect } from 'vitest';
import type { Image } from '../../src/core/image.js';
import { detailRetention, psnr } from '../../src/core/metrics.js';
import { createRng, type Rng } from '../../src/core/random.js';
import { severityMeasureOf, type Degradation } from '../../src/degradations/types.js';

export interface SeverityOptions {
  /** The rng each (level, crop, seed) draw samples with; the default ignores level and crop so a seed picks the same choices at every level. */
  rngFor?: (level: number, cropIndex: number, seed: string | number) => Rng;
  /** Clamps each PSNR before averaging, so a near-identity level (PSNR towards infinity) cannot dominate the mean. */
  cap?: number;
}

/** The measure `d` names for its severity (PSNR, clamped at `cap`, unless the type names another). */
export function severityMeasure(d: Degradation, cap = Infinity): (lq: Image, gt: Image) => number {
  return severityMeasureOf(d).measure === 'detail-retention' ? detailRetention : (lq, gt) => Math.min(psnr(lq, gt), cap);
}

/**
 * Mean PSNR against the clean crop (or the measure the type names, see severityMeasureOf) at every level of `d`,
 * over crops x seeds, grouped by the level's variant (in level order within each variant). Each crop is its own
 * ImageInfo.
 */
export async function meanPsnrByVariant(
  d: Degradation,
  crops: readonly Image[],
  seeds: readonly (string | number)[],
  options: SeverityOptions = {},
): Promise<Map<string, number[]>> {
  const rngFor = options.rngFor ?? ((_level: number, _i: number, seed: string | number) => createRng(seed));
  const cap = options.cap ?? Infinity;
  const measure = severityMeasure(d, cap);
  const byVariant = new Map<string, number[]>();
  for (let level = 0; level < d.levels.length; level++) {
    let sum = 0;
    for (const [i, crop] of crops.entries()) {
      for (const seed of seeds) {
        const out = await d.apply(crop, d.sample(level, rngFor(level, i, seed), crop));
        sum += measure(out, crop);
      }
    }
    const variant = d.levels[level].variant;
    const list = byVariant.get(variant) ?? [];
    list.push(sum / (crops.length * seeds.length));
    byVariant.set(variant, list);
  }
  return byVariant;
}

/** Each variant's means must fall strictly from one level to the next; the message shows the whole run. */
export function expectFallingWithinVariants(label: string, byVariant: Map<string, number[]>): void {
  for (const [variant, means] of byVariant) {
    const run = `${label} ${variant}: ${means.map((m) => m.toFixed(2)).join(' > ')}`;
    for (let i = 1; i < means.length; i++) expect(means[i], run).toBeLessThan(means[i - 1]);
  }
}
