import { describe, expect, it } from 'vitest';
import { psnr } from '../../src/core/metrics.js';
import { createRng, deriveSeed } from '../../src/core/random.js';
import { getDegradation } from '../../src/degradations/registry.js';
import type { Degradation } from '../../src/degradations/types.js';
import { sampleCrops } from '../support/samples.js';

/** A benchmark figure as scripts/calibration-figures.mjs gives it (the fields these tests read). */
interface Figure {
  type: string;
  variant: string | string[] | null;
  benchmark: string;
  channel: 'RGB' | 'Y';
  values: number[] | null;
}

// The figures live with the calibrate script; a computed specifier keeps tsc from asking for a declaration.
const FIGURES = ((await import(new URL('../../scripts/calibration-figures.mjs', import.meta.url).href)) as { FIGURES: Figure[] }).FIGURES;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** What `npm run calibrate` writes for one level: median PSNR over the bundled photos (256 px crops) x 3 seeds. */
async function calibrated(d: Degradation, id: string, channel: Figure['channel']): Promise<number> {
  const level = d.levels.findIndex((l) => l.id === id);
  expect(level, `${d.id} ${id}`).toBeGreaterThanOrEqual(0);
  const values: number[] = [];
  for (const [i, crop] of (await sampleCrops(256)).entries()) {
    for (let s = 0; s < 3; s++) {
      const lq = await d.apply(crop, d.sample(level, createRng(deriveSeed('calibrate', d.id, i, s)), crop));
      values.push(psnr(lq, crop, { test_y_channel: channel === 'Y' }));
    }
  }
  return median(values);
}

const figure = (type: string, benchmark: string): Figure => {
  const f = FIGURES.find((x) => x.type === type && x.benchmark.startsWith(benchmark) && x.values);
  if (!f?.values) throw new Error(`calibration-figures.mjs has no ${type} figure for ${benchmark}`);
  return f;
};

describe('levels bracket the benchmark figures (docs/calibration.md)', () => {
  it('RS: Rain100H lies between the top two levels, density:62 and density:72 (Y)', { timeout: 30_000 }, async () => {
    const f = figure('RS', 'Rain100H');
    const rs = getDegradation('RS');
    expect(await calibrated(rs, 'density:62', 'Y')).toBeGreaterThan(f.values![0]);
    expect(await calibrated(rs, 'density:72', 'Y')).toBeLessThan(f.values![0]);
  });

  it("J: quality:5 is harsher than LIVE1's and Classic5's q10 (Y)", { timeout: 30_000 }, async () => {
    const q5 = await calibrated(getDegradation('J'), 'quality:5', 'Y');
    for (const b of ['LIVE1', 'Classic5']) expect(q5, b).toBeLessThan(Math.min(...figure('J', b).values!));
  });

  it('LHRS: CDD-11 test input PSNR of each combination lies between its levels 1 and 2 (RGB)', { timeout: 120_000 }, async () => {
    const lhrs = getDegradation('LHRS');
    const variants = [...new Set(lhrs.levels.map((l) => l.variant))];
    for (const variant of variants) {
      const f = FIGURES.find((x) => x.type === 'LHRS' && x.variant === variant && x.values);
      expect(f, `a CDD-11 figure for ${variant}`).toBeDefined();
      const [value] = f!.values!;
      expect(await calibrated(lhrs, `${variant}:1`, 'RGB'), `${variant}:1 milder than CDD-11`).toBeGreaterThan(value);
      expect(await calibrated(lhrs, `${variant}:2`, 'RGB'), `${variant}:2 at or below CDD-11`).toBeLessThanOrEqual(value);
    }
  });
});
