import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createImage, cropImage, fromUint8, toUint8, type Image } from '../../src/core/image.js';
import { decodeImage } from '../../src/core/io.js';
import { createRng } from '../../src/core/random.js';
import { detailRetention, measure, psnr, ssim } from '../../src/core/metrics.js';
import { gaussianBlur } from '../../src/core/conv.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/metrics/', import.meta.url));

interface Pair {
  name: string;
  gt: string;
  lq: string;
  width: number;
  height: number;
  gt_rgb_sha256: string;
  lq_rgb_sha256: string;
  cases: {
    crop_border: number;
    test_y_channel: boolean;
    skimage: { psnr: number; ssim: number };
    basicsr: { psnr: number; ssim: number };
  }[];
}

const expected = JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8')) as { pairs: Pair[] };

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function randomImage(width: number, height: number, seed: number): Image {
  const rng = createRng(seed);
  const im = createImage(width, height);
  for (let i = 0; i < im.data.length; i++) im.data[i] = rng.uniform();
  return im;
}

/** Straight 2-D definition (full 11x11 window, valid positions), kept apart from the streamed one. */
function naiveSsimRgb(a: Image, b: Image): number {
  const qa = toUint8(a);
  const qb = toUint8(b);
  const g: number[] = [];
  let s = 0;
  for (let i = 0; i < 11; i++) {
    g.push(Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
    s += g[i];
  }
  const w = g.map((v) => v / s);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let total = 0;
  for (let ch = 0; ch < 3; ch++) {
    let sum = 0;
    let count = 0;
    for (let y = 0; y + 11 <= a.height; y++) {
      for (let x = 0; x + 11 <= a.width; x++) {
        let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
        for (let j = 0; j < 11; j++) {
          for (let i = 0; i < 11; i++) {
            const k = w[j] * w[i];
            const p = ((y + j) * a.width + x + i) * 3 + ch;
            mx += k * qa[p];
            my += k * qb[p];
            sxx += k * qa[p] * qa[p];
            syy += k * qb[p] * qb[p];
            sxy += k * qa[p] * qb[p];
          }
        }
        const vx = sxx - mx * mx;
        const vy = syy - my * my;
        const cxy = sxy - mx * my;
        sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        count++;
      }
    }
    total += sum / count;
  }
  return total / 3;
}

describe('reference values (scripts/metrics-reference.py)', () => {
  it('has the five pairs with four cases each', () => {
    expect(expected.pairs.map((p) => p.name)).toHaveLength(5);
    for (const p of expected.pairs) expect(p.cases).toHaveLength(4);
  });

  for (const pair of expected.pairs) {
    describe(pair.name, () => {
      const load = async () => ({
        gt: await decodeImage(`${FIXTURES}${pair.gt}`),
        lq: await decodeImage(`${FIXTURES}${pair.lq}`),
      });

      it('decodes to the exact pixels that were measured in Python', async () => {
        const { gt, lq } = await load();
        expect([gt.width, gt.height]).toEqual([pair.width, pair.height]);
        expect(sha256(toUint8(gt))).toBe(pair.gt_rgb_sha256);
        expect(sha256(toUint8(lq))).toBe(pair.lq_rgb_sha256);
      });

      for (const c of pair.cases) {
        const label = `crop_border ${c.crop_border}${c.test_y_channel ? ', Y' : ', RGB'}`;
        it(`matches skimage to 1e-9 and the numpy BasicSR to 1e-5 (${label})`, async () => {
          const { gt, lq } = await load();
          const options = { crop_border: c.crop_border, test_y_channel: c.test_y_channel };
          const m = measure(gt, lq, options);
          // skimage and this module both build Y in float64: only summation order differs.
          expect(Math.abs(m.psnr - c.skimage.psnr)).toBeLessThan(1e-9);
          expect(Math.abs(m.ssim - c.skimage.ssim)).toBeLessThan(1e-9);
          // BasicSR's to_y_channel goes through float32 (measured gap: 7.7e-7 dB, 1.9e-8 SSIM); RGB is exact.
          const tol = c.test_y_channel ? 1e-5 : 1e-9;
          expect(Math.abs(m.psnr - c.basicsr.psnr)).toBeLessThan(tol);
          expect(Math.abs(m.ssim - c.basicsr.ssim)).toBeLessThan(tol);
          expect(psnr(gt, lq, options)).toBe(m.psnr);
          expect(ssim(gt, lq, options)).toBe(m.ssim);
        });
      }
    });
  }
});

describe('psnr / ssim / measure', () => {
  it('keeps the two-argument psnr(a, b): RGB, no crop', () => {
    const a = randomImage(16, 12, 1);
    const b = randomImage(16, 12, 2);
    expect(psnr(a, b)).toBe(psnr(a, b, { crop_border: 0, test_y_channel: false }));
    // Two independent uniform images: MSE = 255^2 / 6 up to sampling, so PSNR is close to 7.78 dB.
    expect(psnr(a, b)).toBeGreaterThan(6.5);
    expect(psnr(a, b)).toBeLessThan(9);
  });

  it('gives Infinity and 1 for identical images', () => {
    const a = randomImage(24, 20, 3);
    expect(psnr(a, a)).toBe(Infinity);
    expect(ssim(a, a)).toBeCloseTo(1, 12);
    expect(measure(a, a, { test_y_channel: true }).psnr).toBe(Infinity);
  });

  it('quantizes exactly as toUint8 does (clamping, half-up rounding, NaN -> 0)', () => {
    const values = [NaN, -Infinity, -0.3, 0, 0.49 / 255, 0.5 / 255, 127.5 / 255, 254.5 / 255, 1, 1.7, Infinity];
    const a = createImage(values.length, 11);
    for (let i = 0; i < a.data.length; i++) a.data[i] = values[Math.floor(i / 3) % values.length];
    const roundTrip = fromUint8(a.width, a.height, toUint8(a));
    expect(psnr(a, roundTrip)).toBe(Infinity);
    expect(ssim(a, roundTrip)).toBeCloseTo(1, 12);
    // And a float change that stays inside its 8-bit bin is invisible, one that crosses it is not.
    const b = fromUint8(a.width, a.height, toUint8(a));
    b.data[0] += 0.4 / 255;
    expect(psnr(roundTrip, b)).toBe(Infinity);
    b.data[0] += 0.2 / 255;
    expect(psnr(roundTrip, b)).toBeLessThan(Infinity);
  });

  it('streams the separable window to the same value as the plain 2-D definition', () => {
    const a = randomImage(31, 23, 4);
    const b = randomImage(31, 23, 5);
    for (let i = 0; i < b.data.length; i++) b.data[i] = 0.6 * a.data[i] + 0.4 * b.data[i];
    expect(Math.abs(ssim(a, b) - naiveSsimRgb(a, b))).toBeLessThan(1e-12);
  });

  it('is symmetric and lowers with more damage', () => {
    const a = randomImage(40, 40, 6);
    const noise = randomImage(40, 40, 7);
    const mix = (t: number): Image => {
      const out = createImage(40, 40);
      for (let i = 0; i < out.data.length; i++) out.data[i] = (1 - t) * a.data[i] + t * noise.data[i];
      return out;
    };
    const light = mix(0.1);
    const heavy = mix(0.5);
    expect(ssim(a, light)).toBeCloseTo(ssim(light, a), 14);
    expect(ssim(a, light)).toBeGreaterThan(ssim(a, heavy));
    expect(psnr(a, light)).toBeGreaterThan(psnr(a, heavy));
  });

  it('crop_border equals measuring the cropped images', () => {
    const a = randomImage(30, 26, 8);
    const b = randomImage(30, 26, 9);
    const k = 3;
    const ca = cropImage(a, k, k, 30 - 2 * k, 26 - 2 * k);
    const cb = cropImage(b, k, k, 30 - 2 * k, 26 - 2 * k);
    expect(measure(a, b, { crop_border: k })).toEqual(measure(ca, cb));
    expect(measure(a, b, { crop_border: k, test_y_channel: true })).toEqual(measure(ca, cb, { test_y_channel: true }));
    expect(measure(a, b, { crop_border: k }).psnr).not.toBe(measure(a, b).psnr);
  });

  it('uses BasicSR Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255', () => {
    // Flat images: PSNR on Y is fixed by the luma difference alone.
    const a = createImage(12, 12);
    const b = createImage(12, 12);
    for (let i = 0; i < a.data.length; i += 3) {
      a.data[i] = 200 / 255; // pure red 200 -> Y = 16 + 65.481 * 200 / 255
      b.data[i + 2] = 200 / 255; // pure blue 200 -> Y = 16 + 24.966 * 200 / 255
    }
    const dy = ((65.481 - 24.966) * 200) / 255;
    expect(psnr(a, b, { test_y_channel: true })).toBeCloseTo(10 * Math.log10((255 * 255) / (dy * dy)), 10);
  });

  it('rejects bad sizes and options with messages naming them', () => {
    const a = randomImage(20, 16, 10);
    expect(() => psnr(a, randomImage(16, 20, 11))).toThrow(/differ in size: 20x16 vs 16x20/);
    expect(() => measure(a, randomImage(20, 15, 11))).toThrow(/measure: images differ in size/);
    expect(() => ssim(a, a, { crop_border: 3 })).toThrow(/crop_border must be an integer in 0\.\.2 .*got 3/);
    expect(() => psnr(a, a, { crop_border: -1 })).toThrow(/crop_border/);
    expect(() => psnr(a, a, { crop_border: 1.5 })).toThrow(/crop_border/);
    expect(psnr(a, a, { crop_border: 7 })).toBe(Infinity); // PSNR only needs one pixel left
    expect(() => psnr(a, a, { crop_border: 8 })).toThrow(/crop_border must be an integer in 0\.\.7/);
    const small = randomImage(10, 30, 12);
    expect(() => ssim(small, small)).toThrow(/SSIM needs at least 11x11/);
    expect(() => psnr(a, a, { test_y_channel: 'yes' as unknown as boolean })).toThrow(/test_y_channel must be a boolean/);
    const broken = { width: 20, height: 16, data: new Float32Array(10) };
    expect(() => psnr(broken, a)).toThrow(/image a has 10 values/);
  });
});

describe('detailRetention', () => {
  const scene = (): Image => {
    const rng = createRng('detail');
    const im = createImage(64, 64);
    for (let i = 0; i < im.data.length; i++) im.data[i] = rng.uniform();
    return gaussianBlur(im, 0.7);
  };

  it('is 1 for the clean image, falls with blur, and independent noise leaves it near 1', () => {
    const clean = scene();
    expect(detailRetention(clean, clean)).toBeCloseTo(1, 10);
    const soft = detailRetention(gaussianBlur(clean, 1), clean);
    const softer = detailRetention(gaussianBlur(clean, 2), clean);
    expect(soft).toBeLessThan(0.9);
    expect(softer).toBeLessThan(soft);
    const rng = createRng('noise');
    const noisy = createImage(64, 64, clean.data.map((v) => v + 0.4 * (rng.uniform() - 0.5)));
    expect(Math.abs(detailRetention(noisy, clean) - 1)).toBeLessThan(0.05);
    // PSNR, by contrast, punishes the noise more than the blur
    expect(psnr(noisy, clean)).toBeLessThan(psnr(gaussianBlur(clean, 1), clean));
    expect(() => detailRetention(createImage(8, 8), clean)).toThrow(/differ in size/);
  });
});
