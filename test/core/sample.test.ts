import { describe, expect, it } from 'vitest';
import { reflectIndex } from '../../src/core/conv.js';
import { createImage } from '../../src/core/image.js';
import { bilinearInto, reflectCoord } from '../../src/core/sample.js';

describe('reflectCoord', () => {
  it('mirrors about the edge pixel centres (reflect-101) and agrees with reflectIndex on integers', () => {
    for (let i = -25; i < 35; i++) expect(reflectCoord(i, 10), `${i}`).toBe(reflectIndex(i, 10));
    expect(reflectCoord(-0.25, 10)).toBeCloseTo(0.25, 12);
    expect(reflectCoord(9.5, 10)).toBeCloseTo(8.5, 12);
    expect(reflectCoord(3.7, 1)).toBe(0);
  });

  it('a lookup past the border sees the mirrored scene, where clamping repeats the edge pixel', () => {
    // A ramp along x: clamped lookups left of the frame all read the edge value; mirrored ones vary.
    const im = createImage(8, 1, Float32Array.from({ length: 24 }, (_, i) => Math.floor(i / 3) / 7));
    const read = (x: number) => {
      const out = new Float32Array(3);
      bilinearInto(im, x, 0, out, 0);
      return out[0];
    };
    expect(read(-3)).toBe(read(-1));
    expect(read(reflectCoord(-3, 8))).toBeCloseTo(3 / 7, 6);
    expect(read(reflectCoord(-1, 8))).toBeCloseTo(1 / 7, 6);
  });
});
