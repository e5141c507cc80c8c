import { describe, expect, it } from 'vitest';
import { lineKernel, sparseTaps } from '../../../src/degradations/kernels/line.js';

function at(k: { size: number; data: Float32Array }, dx: number, dy: number): number {
  const r = (k.size - 1) >> 1;
  return k.data[(dy + r) * k.size + dx + r];
}

function sum(k: { data: Float32Array }): number {
  let s = 0;
  for (const v of k.data) s += v;
  return s;
}

/** Second moment of the weights along a unit direction (ux, uy). */
function moment(k: { size: number; data: Float32Array }, ux: number, uy: number): number {
  const r = (k.size - 1) >> 1;
  let m = 0;
  for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) m += k.data[(y + r) * k.size + x + r] * (x * ux + y * uy) ** 2;
  return m;
}

describe('lineKernel', () => {
  it('length 1 is the identity', () => {
    const k = lineKernel(1, 37);
    expect(sum(k)).toBeCloseTo(1, 6);
    expect(at(k, 0, 0)).toBeGreaterThan(0.6);
  });

  it('a horizontal line of odd length is a row of equal taps', () => {
    const k = lineKernel(5, 0);
    expect(k.size % 2).toBe(1);
    for (let x = -2; x <= 2; x++) expect(at(k, x, 0)).toBeCloseTo(0.2, 6);
    expect(at(k, 0, 1)).toBe(0);
    expect(at(k, 3, 0)).toBe(0);
  });

  it('90 degrees is vertical', () => {
    const k = lineKernel(7, 90);
    for (let y = -3; y <= 3; y++) expect(at(k, 0, y)).toBeCloseTo(1 / 7, 6);
    expect(at(k, 1, 0)).toBe(0);
  });

  it('fractional lengths are anti-aliased at the ends', () => {
    const k = lineKernel(4, 0);
    expect(at(k, 2, 0) / at(k, 0, 0)).toBeCloseTo(0.5, 6);
    expect(at(k, -2, 0) / at(k, 0, 0)).toBeCloseTo(0.5, 6);
  });

  it('spreads its mass along the direction, as a segment of that length does, at any angle', () => {
    for (const angle of [0, 20, 45, 63, 90, 135]) {
      const L = 15;
      const k = lineKernel(L, angle);
      const rad = (angle * Math.PI) / 180;
      const along = moment(k, Math.cos(rad), -Math.sin(rad));
      const across = moment(k, Math.sin(rad), Math.cos(rad));
      expect(sum(k)).toBeCloseTo(1, 5);
      // A uniform segment of length L has variance L^2 / 12.
      expect(Math.abs(along - (L * L) / 12) / ((L * L) / 12)).toBeLessThan(0.15);
      expect(across).toBeLessThan(0.35);
    }
  });

  it('is point-symmetric and wider with a width option', () => {
    const k = lineKernel(9, 30, { width: 3 });
    const r = (k.size - 1) >> 1;
    for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) expect(at(k, x, y)).toBeCloseTo(at(k, -x, -y), 6);
    const thin = lineKernel(9, 30);
    expect(moment(k, Math.sin(Math.PI / 6), Math.cos(Math.PI / 6))).toBeGreaterThan(3 * moment(thin, Math.sin(Math.PI / 6), Math.cos(Math.PI / 6)));
  });

  it('peak normalization puts the largest weight at 1', () => {
    const k = lineKernel(12, 80, { normalize: 'peak' });
    expect(Math.max(...k.data)).toBeCloseTo(1, 6);
  });

  it('validates its arguments', () => {
    expect(() => lineKernel(0.5, 0)).toThrow(/length/);
    expect(() => lineKernel(Number.NaN, 0)).toThrow(/length/);
    expect(() => lineKernel(5, Infinity)).toThrow(/angle/);
    expect(() => lineKernel(5, 0, { width: 0 })).toThrow(/width/);
  });
});

describe('sparseTaps', () => {
  it('lists exactly the non-zero taps with their offsets', () => {
    const k = lineKernel(6, 45);
    const t = sparseTaps(k);
    let nz = 0;
    for (const v of k.data) if (v !== 0) nz++;
    expect(t.w.length).toBe(nz);
    for (let i = 0; i < t.w.length; i++) expect(at(k, t.dx[i], t.dy[i])).toBe(t.w[i]);
    expect(t.radius).toBeLessThanOrEqual((k.size - 1) >> 1);
  });
});
