import { createKernel, type Kernel } from '../../core/conv.js';

/**
 * Pillbox (disk) defocus kernel, as MATLAB's fspecial('disk', radius): each cell weighs the area
 * of its unit square inside the disk, so the rim is anti-aliased and the response varies smoothly
 * with the radius. fspecial approximates that area (a chord per rim cell); this computes it
 * exactly. Size 2 * ceil(radius - 0.5) + 1, weights normalized to sum 1.
 *
 * Interior cells all hold the same weight, so `convolve2d` applies each row's interior as one
 * prefix-sum difference and only the rim cells as separate taps.
 */
export function diskKernel(radius: number): Kernel {
  if (!(radius >= 0.5 && radius <= 64)) throw new RangeError(`radius must be in [0.5, 64], got ${radius}`);
  const r = Math.ceil(radius - 0.5);
  const size = 2 * r + 1;
  const w = new Float64Array(size * size);
  let sum = 0;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const v = squareInDisk(col - r - 0.5, col - r + 0.5, row - r - 0.5, row - r + 0.5, radius);
      w[row * size + col] = v;
      sum += v;
    }
  }
  return createKernel(size, Float32Array.from(w, (v) => v / sum));
}

/** Area of [x0, x1] x [y0, y1] inside the disk of radius R centred at the origin. */
export function squareInDisk(x0: number, x1: number, y0: number, y1: number, R: number): number {
  let area = 0;
  for (const [a, b] of halves(x0, x1)) for (const [c, d] of halves(y0, y1)) area += quadrantArea(a, b, c, d, R);
  return area;
}

/** Split an interval at 0 and fold it onto [0, inf) (the disk is symmetric in both axes). */
function halves(lo: number, hi: number): Array<[number, number]> {
  if (lo >= 0) return [[lo, hi]];
  if (hi <= 0) return [[-hi, -lo]];
  return [[0, -lo], [0, hi]];
}

/** Area of [a, b] x [c, d] (0 <= a <= b, 0 <= c <= d) inside the disk. */
function quadrantArea(a: number, b: number, c: number, d: number, R: number): number {
  if (a * a + c * c >= R * R) return 0; // nearest corner outside
  if (b * b + d * d <= R * R) return (b - a) * (d - c); // farthest corner inside
  return underMin(d, a, b, R) - underMin(c, a, b, R);
}

/** Integral over x in [a, b] of min(h, sqrt(R^2 - x^2)) (0 beyond R), for 0 <= a, h >= 0. */
function underMin(h: number, a: number, b: number, R: number): number {
  const hi = Math.min(b, R);
  if (a >= hi) return 0;
  const xh = h >= R ? 0 : Math.sqrt(R * R - h * h);
  const flatEnd = Math.min(Math.max(xh, a), hi);
  const arcStart = Math.max(a, xh);
  return h * (flatEnd - a) + (arcStart < hi ? arcIntegral(hi, R) - arcIntegral(arcStart, R) : 0);
}

/** Antiderivative of sqrt(R^2 - x^2). */
function arcIntegral(x: number, R: number): number {
  const t = Math.min(1, Math.max(-1, x / R));
  return 0.5 * (x * Math.sqrt(Math.max(0, R * R - x * x)) + R * R * Math.asin(t));
}
