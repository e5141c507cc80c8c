import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { resize, RESIZE_MODES } from '../../src/core/resize.js';

/** An image whose three channels all hold `values` (row-major, width x height). */
function grey(width: number, height: number, values: number[]): Image {
  const im = createImage(width, height);
  values.forEach((v, i) => im.data.fill(v, i * 3, i * 3 + 3));
  return im;
}

function channel(im: Image, c = 0): number[] {
  const out: number[] = [];
  for (let i = c; i < im.data.length; i += 3) out.push(im.data[i]);
  return out;
}

function expectClose(actual: number[], expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i], digits));
}

describe('resize', () => {
  it('returns an identical copy when the size is unchanged, for every mode', () => {
    const im = createImage(5, 3);
    for (let i = 0; i < im.data.length; i++) im.data[i] = Math.fround((i * 37) % 17 / 17);
    for (const mode of RESIZE_MODES) {
      const out = resize(im, 5, 3, mode);
      expect(out.data).not.toBe(im.data);
      expect(Buffer.from(out.data.buffer).equals(Buffer.from(im.data.buffer))).toBe(true);
    }
  });

  it('area 4x4 -> 2x2 gives the 2x2 block means', () => {
    const im = grey(4, 4, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16].map((v) => v / 16));
    expectClose(channel(resize(im, 2, 2, 'area')), [3.5, 5.5, 11.5, 13.5].map((v) => v / 16));
  });

  it('area with uneven cells uses adaptive-pooling bounds (5 -> 3: [0,2), [1,4), [3,5))', () => {
    const im = grey(5, 1, [0, 1, 2, 3, 4]);
    expectClose(channel(resize(im, 3, 1, 'area')), [0.5, 2, 3.5]);
    // upsampling: 2 -> 5 cells [0,1), [0,1), [0,2), [1,2), [1,2)
    expectClose(channel(resize(grey(2, 1, [0.2, 0.6]), 5, 1, 'area')), [0.2, 0.2, 0.4, 0.6, 0.6]);
  });

  it('bilinear 2x upsample matches torch align_corners=False (edges clamped)', () => {
    const im = grey(4, 1, [0, 1, 2, 3]);
    // src = (dst + 0.5) / 2 - 0.5, clamped at 0 and at the last pixel.
    expectClose(channel(resize(im, 8, 1, 'bilinear')), [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]);
  });

  it('bilinear 2x downsample averages pixel pairs (half-pixel centres)', () => {
    const im = grey(4, 2, [0, 2, 4, 6, 8, 10, 12, 14]);
    // 2x2 -> one pixel at the centre of each 2x2 block.
    expectClose(channel(resize(im, 2, 1, 'bilinear')), [5, 9]);
  });

  it('bicubic 2x upsample uses Keys a = -0.75 with replicated borders', () => {
    const im = grey(4, 1, [0, 1, 2, 3]);
    // dst 0: src -0.25, t = 0.75, taps at clamped [0,0,0,1] -> w3 = cubicFar(1.25) = -0.10546875.
    // dst 1: src 0.25, t = 0.25, taps [0,0,1,2] weights [-0.10546875, 0.87890625, 0.26171875, -0.03515625]
    //        -> 0.26171875 - 2 * 0.03515625 = 0.19140625.
    // dst 2: src 0.75, taps [0,0,1,2] weights [-0.03515625, 0.26171875, 0.87890625, -0.10546875] -> 0.66796875.
    // dst 3: src 1.25, taps [0,1,2,3] -> 0.87890625 + 2 * 0.26171875 - 3 * 0.03515625 = 1.296875 (a = -0.75
    //        does not reproduce a ramp, unlike a = -0.5); the right half mirrors the left about 1.5.
    expectClose(channel(resize(im, 8, 1, 'bicubic')), [-0.10546875, 0.19140625, 0.66796875, 1.296875, 1.703125, 2.33203125, 2.80859375, 3.10546875]);
  });

  it('bicubic interpolates a constant exactly and is symmetric on rows and columns', () => {
    const flat = grey(3, 3, new Array(9).fill(0.4));
    for (const v of channel(resize(flat, 7, 5, 'bicubic'))) expect(v).toBeCloseTo(0.4, 6);
    const a = grey(4, 1, [0, 1, 2, 3]);
    const b = grey(1, 4, [0, 1, 2, 3]);
    expectClose(channel(resize(b, 1, 8, 'bicubic')), channel(resize(a, 8, 1, 'bicubic')));
  });

  it('nearest follows torch: floor(dst * in/out) in float32, 2x upsample duplicates', () => {
    expect(channel(resize(grey(3, 1, [0, 1, 2]), 5, 1, 'nearest'))).toEqual([0, 0, 1, 1, 2]);
    expect(channel(resize(grey(4, 1, [0, 1, 2, 3]), 3, 1, 'nearest'))).toEqual([0, 1, 2]);
    expect(channel(resize(grey(2, 1, [0, 1]), 4, 1, 'nearest'))).toEqual([0, 0, 1, 1]);
  });

  it('non-square, non-integer factors match a direct 2-D evaluation of the ATen formulas', () => {
    const im = createImage(7, 5);
    for (let i = 0; i < im.data.length; i++) im.data[i] = Math.fround(((i * 7919) % 101) / 101);
    const cubic = (x: number) => {
      const a = -0.75;
      const t = Math.abs(x);
      return t <= 1 ? ((a + 2) * t - (a + 3)) * t * t + 1 : t < 2 ? ((a * t - 5 * a) * t + 8 * a) * t - 4 * a : 0;
    };
    const at = (x: number, y: number, c: number) =>
      im.data[(Math.min(Math.max(y, 0), 4) * 7 + Math.min(Math.max(x, 0), 6)) * 3 + c];
    const [ow, oh] = [4, 9];
    const bil = resize(im, ow, oh, 'bilinear');
    const bic = resize(im, ow, oh, 'bicubic');
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let c = 0; c < 3; c++) {
          // bilinear: source clamped at 0, second tap clamped at the last pixel
          const sx = Math.max((ox + 0.5) * (7 / ow) - 0.5, 0);
          const sy = Math.max((oy + 0.5) * (5 / oh) - 0.5, 0);
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const lx = sx - x0;
          const ly = sy - y0;
          const expectBil =
            (1 - ly) * ((1 - lx) * at(x0, y0, c) + lx * at(x0 + 1, y0, c)) + ly * ((1 - lx) * at(x0, y0 + 1, c) + lx * at(x0 + 1, y0 + 1, c));
          expect(bil.data[(oy * ow + ox) * 3 + c]).toBeCloseTo(expectBil, 6);
          // bicubic: 4x4 taps around the unclamped source, indices clamped
          const cx = (ox + 0.5) * (7 / ow) - 0.5;
          const cy = (oy + 0.5) * (5 / oh) - 0.5;
          let v = 0;
          for (let j = Math.floor(cy) - 1; j <= Math.floor(cy) + 2; j++) {
            for (let i = Math.floor(cx) - 1; i <= Math.floor(cx) + 2; i++) v += cubic(cx - i) * cubic(cy - j) * at(i, j, c);
          }
          expect(bic.data[(oy * ow + ox) * 3 + c]).toBeCloseTo(v, 5);
        }
      }
    }
  });

  it('keeps channels separate', () => {
    const im = createImage(2, 1, Float32Array.from([1, 0, 0, 0, 0, 1]));
    const out = resize(im, 1, 1, 'area');
    expectClose(Array.from(out.data), [0.5, 0, 0.5]);
  });

  it('is deterministic byte for byte', () => {
    const im = createImage(13, 9);
    for (let i = 0; i < im.data.length; i++) im.data[i] = Math.fround(Math.sin(i) * 0.5 + 0.5);
    for (const mode of RESIZE_MODES) {
      const a = resize(im, 6, 17, mode);
      const b = resize(im, 6, 17, mode);
      expect(a.width).toBe(6);
      expect(a.height).toBe(17);
      expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    }
  });

  it('validates its arguments', () => {
    const im = createImage(2, 2);
    expect(() => resize(im, 0, 2)).toThrow(/width must be an integer/);
    expect(() => resize(im, 2, 1.5)).toThrow(/height must be an integer/);
    expect(() => resize(im, 2, 2, 'lanczos' as never)).toThrow(/mode must be one of/);
  });
});
