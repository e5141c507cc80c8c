import { describe, expect, it } from 'vitest';
import { createImage, cropImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { psnr } from '../../src/core/metrics.js';
import {
  addRawNoise, captureScreen, captureScreenExact, moire, MOIRE_PSF, photographScreen, screenToSensor, screenWarp, sensorToScreen, type MoireParams,
} from '../../src/degradations/moire.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

function flat(size: number, value: number): Image {
  const im = createImage(size, size);
  im.data.fill(value);
  return im;
}

function channelStats(im: Image, border: number): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let y = border; y < im.height - border; y++) {
    for (let x = border; x < im.width - border; x++) {
      for (let c = 0; c < 3; c++) {
        const v = im.data[(y * im.width + x) * 3 + c];
        s += v;
        s2 += v * v;
        n++;
      }
    }
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) };
}

describe('MR (moire)', () => {
  it('has 9 psf levels, PSF narrowing as severity rises', () => {
    expect(moire.id).toBe('MR');
    expect(moire.levels.map((l) => l.id)).toEqual(MOIRE_PSF.map((v) => `psf:${v}`));
    expect(moire.levels.map((l) => l.severity)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => moire.sample(9, createRng(1), { width: 8, height: 8 })).toThrow(/MR has levels 0\.\.8/);
  });

  it('every level keeps the size (odd, non-square too) with finite values in [0, 1]', async () => {
    const [im] = await sampleCrops(64);
    const odd = cropImage(im, 3, 5, 45, 31);
    for (const src of [im, odd]) {
      for (let level = 0; level < moire.levels.length; level++) {
        const out = await moire.apply(src, moire.sample(level, createRng(level), src));
        expect([out.width, out.height]).toEqual([src.width, src.height]);
        expect(out.data.every((v) => v >= 0 && v <= 1)).toBe(true);
      }
    }
  });

  it('is deterministic, replays from JSON, and different seeds give different warps and pixels', async () => {
    const [im] = await sampleCrops(64);
    const p = moire.sample(4, createRng('k'), im);
    expect(moire.sample(4, createRng('k'), im)).toEqual(p);
    const a = await moire.apply(im, p);
    const b = await moire.apply(im, p);
    const c = await moire.apply(im, JSON.parse(JSON.stringify(p)));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(c))).toBe(true);
    const q = moire.sample(4, createRng('other'), im);
    expect(q.angle).not.toBe(p.angle);
    expect(q.seed).not.toBe(p.seed);
    expect(bytes(await moire.apply(im, q)).equals(bytes(a))).toBe(false);
    // The noise seed alone changes the pixels.
    expect(bytes(await moire.apply(im, { ...p, seed: 'x' })).equals(bytes(a))).toBe(false);
  });

  it('PSNR falls strictly as the PSF narrows (5 photos, 2 seeds)', async () => {
    expectFallingWithinVariants(moire.id, await meanPsnrByVariant(moire, await sampleCrops(128), [1, 2]));
  });

  const base: MoireParams = {
    level: 'test', ratio: 1.9, angle: 4, keystone: [0.05, -0.04], shift: [0.3, 1.1], distortion: 0, lensCentre: [0, 0], blur: 0.3, fill: 0.85, noise: 0,
    denoise: 0, quality: 100, pattern: 'RGGB', seed: 's',
  };

  it('a flat grey screen keeps its level; a sharp camera paints moire on it, a blurred one does not', async () => {
    const grey = flat(64, 0.5);
    const sharp = channelStats(await photographScreen(grey, base), 4);
    const soft = channelStats(await photographScreen(grey, { ...base, blur: 2 }), 4);
    expect(Math.abs(sharp.mean - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(soft.mean - 0.5)).toBeLessThan(0.01);
    expect(sharp.std).toBeGreaterThan(0.03);
    expect(soft.std).toBeLessThan(0.005);
  });

  it('the moire is low-frequency bands, not pixel noise: neighbouring pixels agree more than distant ones', async () => {
    const out = await photographScreen(flat(96, 0.5), base);
    const w = out.width;
    let near = 0;
    let far = 0;
    const { mean } = channelStats(out, 0);
    for (let y = 8; y < 88; y++) {
      for (let x = 8; x < 80; x++) {
        const i = (y * w + x) * 3;
        near += (out.data[i] - mean) * (out.data[i + 3] - mean);
        far += (out.data[i] - mean) * (out.data[i + 3 * 9] - mean);
      }
    }
    expect(near).toBeGreaterThan(0);
    expect(near).toBeGreaterThan(Math.abs(far));
  });

  it('stays aligned with the input: the warp is undone', async () => {
    const [im] = await sampleCrops(96);
    const out = await photographScreen(im, { ...base, blur: 1.2, angle: -7 });
    const inner = (a: Image, dx: number) => cropImage(a, 8 + dx, 8, 80, 80);
    const aligned = psnr(inner(out, 0), inner(im, 0));
    expect(aligned).toBeGreaterThan(26);
    expect(aligned).toBeGreaterThan(psnr(inner(out, 0), inner(im, 1)) + 2);
  });

  it('the fast capture (content x blurred subpixel mask) matches the exact stripe sum', async () => {
    const [, im] = await sampleCrops(64);
    for (const blur of [0.3, 0.8]) {
      const p = { ...base, blur, angle: -3, ratio: 1.7 };
      const w = screenWarp(64, 64, p);
      const fast = captureScreen(im, w, p);
      const exact = captureScreenExact(im, w, p);
      let se = 0;
      let energy = 0;
      for (let i = 0; i < fast.length; i++) {
        se += (fast[i] - exact[i]) ** 2;
        energy += exact[i] ** 2;
      }
      // The raw planes agree to a few % RMS of the signal (the fast form interpolates content with
      // a tent, not box (x) PSF); a stripe offset or mask phase error gives tens of %.
      expect(Math.sqrt(se / energy)).toBeLessThan(0.03);
    }
  });

  it('raw noise is zero-mean Gaussian with the given std, uncorrelated between neighbours', () => {
    const raw = new Float32Array(200_001);
    addRawNoise(raw, 51, 'n');
    let s = 0;
    let s2 = 0;
    let s4 = 0;
    let lag = 0;
    for (let i = 0; i < raw.length; i++) {
      s += raw[i];
      s2 += raw[i] ** 2;
      s4 += raw[i] ** 4;
      if (i > 0) lag += raw[i] * raw[i - 1];
    }
    const n = raw.length;
    const v = s2 / n;
    expect(Math.abs(s / n)).toBeLessThan(0.002);
    expect(Math.sqrt(v)).toBeCloseTo(0.2, 2);
    expect(s4 / n / (v * v)).toBeCloseTo(3, 1);
    expect(Math.abs(lag / n / v)).toBeLessThan(0.01);
    expect(raw[n - 1]).not.toBe(0);
  });

  it('the sensor holds the whole warped screen', () => {
    for (const angle of [-8, 0, 8]) {
      // with a barrel or pincushion lens too: the middle of each edge bulges past the corners
      const w = screenWarp(100, 60, { ...base, angle, ratio: 2.1, keystone: [0.08, -0.08], distortion: angle / 80, lensCentre: [0.3, -0.2] });
      for (const [x, y] of [[-0.5, -0.5], [99.5, -0.5], [-0.5, 59.5], [99.5, 59.5], [49.5, -0.5], [-0.5, 29.5], [49.5, 59.5], [99.5, 29.5]]) {
        const [u, v] = screenToSensor(w, x, y);
        expect(u).toBeGreaterThan(1);
        expect(v).toBeGreaterThan(1);
        expect(u).toBeLessThan(w.sensorWidth - 2);
        expect(v).toBeLessThan(w.sensorHeight - 2);
      }
    }
  });

  it('draws ratio, rotation, keystone and lens distortion over wide ranges, both signs', () => {
    const ps = Array.from({ length: 400 }, (_, i) => moire.sample(i % 8, createRng(`mr-range-${i}`), { width: 64, height: 64 }) as MoireParams);
    const span = (f: (p: MoireParams) => number) => [Math.min(...ps.map(f)), Math.max(...ps.map(f))];
    const [rLo, rHi] = span((p) => p.ratio);
    expect(rLo).toBeLessThan(1.3);
    expect(rHi).toBeGreaterThan(2.4);
    expect(rLo).toBeGreaterThanOrEqual(1.2);
    expect(rHi).toBeLessThanOrEqual(2.6);
    const [aLo, aHi] = span((p) => p.angle);
    expect(aLo).toBeLessThan(-18);
    expect(aHi).toBeGreaterThan(18);
    const [kLo, kHi] = span((p) => p.distortion);
    expect(kLo).toBeLessThan(-0.1);
    expect(kHi).toBeGreaterThan(0.1);
    const [qLo, qHi] = span((p) => p.quality);
    expect([qLo, qHi]).toEqual([75, 95]);
  });

  it('radial distortion bends straight screen rows on the sensor; without it they stay straight', () => {
    const bow = (distortion: number): number => {
      const w = screenWarp(128, 128, { ...base, angle: 0, keystone: [0, 0], distortion, lensCentre: [0, 0] });
      // the middle of the top row against the chord between its ends
      const [x0, y0] = screenToSensor(w, 0, 0);
      const [x1, y1] = screenToSensor(w, 127, 0);
      const [xm, ym] = screenToSensor(w, 63.5, 0);
      return Math.abs((x1 - x0) * (ym - y0) - (y1 - y0) * (xm - x0)) / Math.hypot(x1 - x0, y1 - y0);
    };
    expect(bow(0)).toBeLessThan(1e-6);
    expect(bow(0.12)).toBeGreaterThan(3);
    expect(bow(-0.12)).toBeGreaterThan(3);
  });

  it('the lens is undone exactly where the photo is resampled: sensor -> screen -> sensor is the identity', () => {
    const w = screenWarp(96, 80, { ...base, distortion: -0.12, lensCentre: [0.4, -0.3], keystone: [0.12, -0.1], angle: 17 });
    for (const [p, q] of [[20, 30], [100, 60], [w.sensorWidth / 2, w.sensorHeight / 2], [w.sensorWidth - 10, w.sensorHeight - 12]]) {
      const [x, y] = sensorToScreen(w, p, q);
      if (x < -1 || y < -1 || x > 96 || y > 80) continue;
      const [p2, q2] = screenToSensor(w, x, y);
      expect(Math.hypot(p2 - p, q2 - q)).toBeLessThan(1e-3);
    }
  });

  it('validates params', async () => {
    const im = flat(16, 0.5);
    await expect(photographScreen(im, { ...base, ratio: 9 })).rejects.toThrow(/ratio must be a number in \[0.5, 4\]/);
    await expect(photographScreen(im, { ...base, keystone: [0.1] })).rejects.toThrow(/keystone must be/);
    await expect(photographScreen(im, { ...base, fill: Number.NaN })).rejects.toThrow(/fill must be/);
  });
});
