import { expect } from 'vitest';

/**
 * A level means the same at any frame size: `share(n)`, the share of an n x n frame a level covers, is at
 * least `least` at 256 px and within [lo, hi] times that at 128 and 512 px.
 */
export function expectSameShareAtSizes(share: (n: number) => number, least: number, lo = 0.85, hi = 1.18): void {
  const base = share(256);
  expect(base, '256 px').toBeGreaterThan(least);
  for (const n of [128, 512]) {
    const ratio = share(n) / base;
    expect(ratio, `${n} px against 256 px`).toBeGreaterThan(lo);
    expect(ratio, `${n} px against 256 px`).toBeLessThan(hi);
  }
}
