import { describe, expect, it } from 'vitest';
import { diskKernel, squareInDisk } from '../../../src/degradations/kernels/defocus.js';
import { createRng } from '../../../src/core/random.js';

/** Midpoint-rule area of a rectangle inside the disk. */
function numericArea(x0: number, x1: number, y0: number, y1: number, R: number, n = 600): number {
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const x = x0 + ((i + 0.5) * (x1 - x0)) / n;
    for (let j = 0; j < n; j++) {
      const y = y0 + ((j + 0.5) * (y1 - y0)) / n;
      if (x * x + y * y <= R * R) inside++;
    }
  }
  return (inside * (x1 - x0) * (y1 - y0)) / (n * n);
}

describe('squareInDisk', () => {
  it('matches numeric integration on random squares, including ones straddling the axes', () => {
    const rng = createRng('area');
    for (let t = 0; t < 25; t++) {
      const R = rng.range(0.5, 6);
      const x0 = rng.range(-7, 6);
      const y0 = rng.range(-7, 6);
      const got = squareInDisk(x0, x0 + 1, y0, y0 + 1, R);
      expect(Math.abs(got - numericArea(x0, x0 + 1, y0, y0 + 1, R))).toBeLessThan(5e-3);
    }
  });

  it('cells tile the disk: total coverage is pi R^2', () => {
    for (const R of [0.7, 1, 2.5, 7.3]) {
      const r = Math.ceil(R + 1);
      let total = 0;
      for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) total += squareInDisk(x - 0.5, x + 0.5, y - 0.5, y + 0.5, R);
      expect(total).toBeCloseTo(Math.PI * R * R, 9);
    }
  });
});

describe('diskKernel', () => {
  it("matches MATLAB fspecial('disk', 1)", () => {
    const k = diskKernel(1);
    expect(k.size).toBe(3);
    const expected = [0.0251, 0.1453, 0.0251, 0.1453, 0.3183, 0.1453, 0.0251, 0.1453, 0.0251];
    for (let i = 0; i < 9; i++) expect(k.data[i]).toBeCloseTo(expected[i], 3);
  });

  it('is 8-fold symmetric, sums to 1, has a flat interior and the fspecial size', () => {
    for (const R of [1.5, 2, 4, 6.5, 10]) {
      const k = diskKernel(R);
      const n = k.size;
      expect(n).toBe(2 * Math.ceil(R - 0.5) + 1);
      let s = 0;
      for (const v of k.data) s += v;
      expect(s).toBeCloseTo(1, 6);
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) {
          const v = k.data[r * n + c];
          expect(v).toBe(k.data[c * n + r]);
          expect(v).toBe(k.data[r * n + (n - 1 - c)]);
        }
      }
      const centre = (n - 1) >> 1;
      if (R >= 2) expect(k.data[centre * n + centre]).toBe(k.data[centre * n + centre - 1]);
      expect(k.data[centre * n + centre]).toBeCloseTo(1 / (Math.PI * R * R), 6);
    }
    expect(() => diskKernel(0.2)).toThrow(/radius/);
    expect(() => diskKernel(NaN)).toThrow(/radius/);
  });
});
