import { describe, expect, it } from 'vitest';
import { createImage } from '../../../src/core/image.js';
import { psnr } from '../../../src/core/metrics.js';
import { BAYER_PATTERNS, DEMOSAIC_METHODS, cfaChannels, demosaic, mosaic } from '../../../src/degradations/kernels/bayer.js';
import { sampleCrops } from '../../support/samples.js';

describe('bayer mosaic', () => {
  it('keeps the one channel each CFA cell passes', () => {
    const im = createImage(2, 2);
    for (let i = 0; i < 12; i++) im.data[i] = i / 16;
    // RGGB: R at (0,0) -> value 0, G at (1,0) -> 4, G at (0,1) -> 7, B at (1,1) -> 11.
    expect(Array.from(mosaic(im, 'RGGB')).map((v) => v * 16)).toEqual([0, 4, 7, 11]);
    expect(Array.from(mosaic(im, 'BGGR')).map((v) => v * 16)).toEqual([2, 4, 7, 9]);
    expect(Array.from(cfaChannels('GRBG'))).toEqual([1, 0, 2, 1]);
  });

  it('rejects unknown patterns and methods', () => {
    const im = createImage(4, 4);
    expect(() => mosaic(im, 'RGBG' as never)).toThrow(/pattern must be one of/);
    expect(() => demosaic(new Float32Array(16), 4, 4, 'RGGB', 'ahd' as never)).toThrow(/method must be one of/);
    expect(() => demosaic(new Float32Array(15), 4, 4, 'RGGB')).toThrow(/plane must be/);
  });
});

describe('bayer demosaic', () => {
  for (const pattern of BAYER_PATTERNS) {
    for (const method of DEMOSAIC_METHODS) {
      it(`flat colour survives mosaic + ${method} demosaic exactly (${pattern}, odd size)`, () => {
        const im = createImage(9, 7);
        for (let i = 0; i < im.data.length; i += 3) {
          im.data[i] = 0.2;
          im.data[i + 1] = 0.7;
          im.data[i + 2] = 0.45;
        }
        const out = demosaic(mosaic(im, pattern), 9, 7, pattern, method);
        expect(Buffer.from(out.data.buffer).equals(Buffer.from(im.data.buffer))).toBe(true);
      });
    }
  }

  it('a horizontal ramp is reproduced exactly by bilinear and malvar away from borders', () => {
    const im = createImage(12, 12);
    for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) for (let c = 0; c < 3; c++) im.data[(y * 12 + x) * 3 + c] = (x + c) / 32;
    for (const method of ['bilinear', 'malvar'] as const) {
      const out = demosaic(mosaic(im, 'GBRG'), 12, 12, 'GBRG', method);
      for (let y = 2; y < 10; y++) for (let x = 2; x < 10; x++) for (let c = 0; c < 3; c++) {
        expect(out.data[(y * 12 + x) * 3 + c]).toBeCloseTo(im.data[(y * 12 + x) * 3 + c], 6);
      }
    }
  });

  it('malvar beats bilinear, and bilinear beats nearest, in PSNR on the sample photos', async () => {
    const crops = await sampleCrops(96);
    for (const pattern of ['RGGB', 'GRBG'] as const) {
      const score = (method: 'nearest' | 'bilinear' | 'malvar') =>
        crops.reduce((s, im) => s + psnr(demosaic(mosaic(im, pattern), im.width, im.height, pattern, method), im), 0) / crops.length;
      const [n, b, m] = [score('nearest'), score('bilinear'), score('malvar')];
      expect(m).toBeGreaterThan(b);
      expect(b).toBeGreaterThan(n);
    }
  });
});
