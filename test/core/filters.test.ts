import { describe, expect, it } from 'vitest';
import { boxMean, guidedFilter, guidedUpsample, minFilter, type Plane } from '../../src/core/filters.js';
import { createRng } from '../../src/core/random.js';

function randomPlane(w: number, h: number, seed: string): Plane {
  const rng = createRng(seed);
  return { width: w, height: h, data: Float32Array.from({ length: w * h }, () => rng.uniform()) };
}

/** The window statistic by brute force, windows clipped to the plane. */
function brute(p: Plane, r: number, f: (values: number[]) => number): Float32Array {
  const out = new Float32Array(p.width * p.height);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < p.width; x++) {
      const v: number[] = [];
      for (let yy = Math.max(0, y - r); yy <= Math.min(p.height - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(p.width - 1, x + r); xx++) v.push(p.data[yy * p.width + xx]);
      }
      out[y * p.width + x] = f(v);
    }
  }
  return out;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('boxMean and minFilter', () => {
  it('equal the clipped-window mean and minimum computed by brute force, any radius and shape', () => {
    for (const [w, h, r] of [[17, 11, 0], [17, 11, 1], [17, 11, 3], [5, 23, 4], [3, 2, 7], [1, 1, 2], [40, 9, 6]] as const) {
      const p = randomPlane(w, h, `p${w}x${h}r${r}`);
      const box = boxMean(p, r).data;
      const want = brute(p, r, mean);
      for (let i = 0; i < box.length; i++) expect(box[i]).toBeCloseTo(want[i], 5);
      expect(Array.from(minFilter(p, r).data)).toEqual(Array.from(brute(p, r, (v) => Math.min(...v))));
    }
  });

  it('reject bad radii and planes, naming them', () => {
    const p = randomPlane(4, 4, 'x');
    expect(() => boxMean(p, -1)).toThrow(/radius/);
    expect(() => minFilter(p, 1.5)).toThrow(/radius/);
    expect(() => boxMean({ width: 4, height: 4, data: new Float32Array(3) }, 1)).toThrow(/plane/);
  });
});

describe('guidedFilter', () => {
  it('keeps a step of the guide sharp while smoothing noise on either side', () => {
    const w = 64;
    const h = 16;
    const rng = createRng('g');
    const guide = { width: w, height: h, data: new Float32Array(w * h) };
    const src = { width: w, height: h, data: new Float32Array(w * h) };
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const step = x < 32 ? 0.2 : 0.8;
        guide.data[y * w + x] = step;
        src.data[y * w + x] = step + 0.1 * (rng.uniform() - 0.5);
      }
    }
    const q = guidedFilter(guide, src, 6, 1e-3).data;
    // Across the step the output jumps by nearly the full step; within each side the noise is averaged away.
    expect(q[8 * w + 33] - q[8 * w + 30]).toBeGreaterThan(0.5);
    const box = boxMean(src, 6).data;
    expect(box[8 * w + 33] - box[8 * w + 30]).toBeLessThan(0.3);
    let rough = 0;
    for (let x = 2; x < 28; x++) rough += Math.abs(q[8 * w + x + 1] - q[8 * w + x]);
    expect(rough / 26).toBeLessThan(0.01);
  });

  it('with a flat guide it is the box mean of the input (a = 0)', () => {
    const src = randomPlane(20, 12, 'flat');
    const guide = { width: 20, height: 12, data: new Float32Array(240).fill(0.5) };
    const q = guidedFilter(guide, src, 2, 1e-2).data;
    const twice = boxMean(boxMean(src, 2), 2).data;
    for (let i = 0; i < q.length; i++) expect(q[i]).toBeCloseTo(twice[i], 5);
  });

  it('the subsampled form applies the low-resolution model at full resolution (equal to the full filter at scale 1)', () => {
    const g = randomPlane(24, 16, 'gu');
    const p = randomPlane(24, 16, 'pu');
    const full = guidedFilter(g, p, 3, 1e-2).data;
    const up = guidedUpsample(g, g, p, 3, 1e-2).data;
    for (let i = 0; i < full.length; i++) expect(up[i]).toBeCloseTo(full[i], 5);
    expect(() => guidedFilter(g, randomPlane(23, 16, 'z'), 3, 1e-2)).toThrow(/one size/);
    expect(() => guidedFilter(g, p, 3, 0)).toThrow(/eps/);
  });
});
