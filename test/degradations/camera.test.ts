import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import {
  addShotReadNoise,
  cameraMatrices,
  captureWithNoise,
  processMosaic,
  processRaw,
  readNoiseFor,
  realNoise,
  sampleCamera,
  sampleNoiseLevels,
  toDisplay,
  toLinear,
  unprocess,
  type CameraParams,
} from '../../src/degradations/camera.js';
import { mosaic } from '../../src/degradations/kernels/bayer.js';
import { psnr } from '../../src/core/metrics.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

function flat(width: number, height: number, rgb: [number, number, number]): Image {
  const im = createImage(width, height);
  for (let i = 0; i < im.data.length; i += 3) im.data.set(rgb, i);
  return im;
}

const CAMERA: CameraParams = { ccmWeights: [0.4, 0.3, 0.2, 0.1], rgbGain: 1.25, redGain: 2.1, blueGain: 1.7, pattern: 'RGGB' };

describe('camera model (Brooks et al. 2019)', () => {
  it('samples cameras in the paper ranges, with convex CCM weights', () => {
    for (let s = 0; s < 200; s++) {
      const c = sampleCamera(createRng(s));
      expect(c.ccmWeights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(c.ccmWeights.every((w) => w > 0)).toBe(true);
      expect(c.redGain).toBeGreaterThanOrEqual(1.9);
      expect(c.redGain).toBeLessThan(2.4);
      expect(c.blueGain).toBeGreaterThanOrEqual(1.5);
      expect(c.blueGain).toBeLessThan(1.9);
      expect(1 / c.rgbGain).toBeGreaterThan(0.2);
      expect(['RGGB', 'BGGR', 'GRBG', 'GBRG']).toContain(c.pattern);
    }
  });

  it('draws read noise on the paper line log_read = 2.18 log_shot + 1.2 + N(0, 0.26)', () => {
    const rng = createRng('read');
    let m = 0;
    let v = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const { shot, read } = sampleNoiseLevels(rng);
      expect(shot).toBeGreaterThanOrEqual(0.0001 * (1 - 1e-9));
      expect(shot).toBeLessThanOrEqual(0.012 * (1 + 1e-9));
      const r = Math.log(read) - (2.18 * Math.log(shot) + 1.2);
      m += r;
      v += r * r;
    }
    expect(Math.abs(m / n)).toBeLessThan(0.02);
    expect(Math.sqrt(v / n - (m / n) ** 2)).toBeCloseTo(0.26, 1);
    expect(() => readNoiseFor(0, rng)).toThrow(/shot must be a finite number > 0/);
    expect(() => sampleNoiseLevels(rng, [1, 0])).toThrow(/logShotRange/);
  });

  it('builds row-normalized RGB->camera matrices and their inverses', () => {
    const { rgb2cam, cam2rgb } = cameraMatrices(CAMERA);
    for (let r = 0; r < 3; r++) expect(rgb2cam[r * 3] + rgb2cam[r * 3 + 1] + rgb2cam[r * 3 + 2]).toBeCloseTo(1, 12);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += rgb2cam[r * 3 + k] * cam2rgb[k * 3 + c];
        expect(s).toBeCloseTo(r === c ? 1 : 0, 10);
      }
    }
    expect(() => cameraMatrices({ ...CAMERA, ccmWeights: [1, 2] })).toThrow(/ccmWeights/);
    expect(() => cameraMatrices({ ...CAMERA, redGain: -1 })).toThrow(/camera\.redGain/);
    expect(() => cameraMatrices({ ...CAMERA, pattern: 'RGBG' as CameraParams['pattern'] })).toThrow(/camera\.pattern/);
  });

  it('tone/gamma tables match the closed forms and invert each other', () => {
    for (let i = 0; i <= 1000; i++) {
      const v = i / 1000;
      const lin = Math.max(0.5 - Math.sin(Math.asin(1 - 2 * v) / 3), 1e-8) ** 2.2;
      expect(Math.abs(toLinear(v) - lin)).toBeLessThan(2e-6);
      const g = Math.max(v, 1e-8) ** (1 / 2.2);
      expect(Math.abs(toDisplay(v) - (3 * g * g - 2 * g * g * g))).toBeLessThan(2e-6);
      expect(Math.abs(toDisplay(toLinear(v)) - v)).toBeLessThan(1e-4);
    }
  });

  it('process(unprocess(x)) returns the photo without noise, with or without the CFA on flat colour', async () => {
    const crops = await sampleCrops(64);
    for (const [i, im] of crops.entries()) {
      const cam = sampleCamera(createRng(i));
      expect(psnr(processRaw(unprocess(im, cam), cam), im)).toBeGreaterThan(45);
      expect(psnr(captureWithNoise(im, cam, { shot: 0, read: 0 }, createRng(1)), im)).toBeGreaterThan(45);
    }
    // A flat colour survives mosaic + bilinear demosaic exactly.
    const f = flat(8, 8, [0.6, 0.4, 0.2]);
    const raw = unprocess(f, CAMERA);
    expect(psnr(processMosaic(mosaic(raw, CAMERA.pattern), 8, 8, CAMERA), processRaw(raw, CAMERA))).toBe(Infinity);
  });

  it('adds Gaussian noise with variance shot * x + read', () => {
    const x = new Float32Array(200_000).fill(0.25);
    addShotReadNoise(x, { shot: 0.01, read: 0.0005 }, createRng(5));
    let v = 0;
    for (const y of x) v += (y - 0.25) ** 2;
    expect(v / x.length).toBeCloseTo(0.01 * 0.25 + 0.0005, 4);
    expect(() => addShotReadNoise(x, { shot: -1, read: 0 }, createRng(1))).toThrow(/shot must be/);
    expect(() => addShotReadNoise(x, { shot: 0, read: Number.NaN }, createRng(1))).toThrow(/read must be/);
    const im = flat(4, 4, [0.5, 0.5, 0.5]);
    expect(() => captureWithNoise(im, CAMERA, { shot: -1, read: 0 }, createRng(1))).toThrow(/shot must be/);
    expect(() => captureWithNoise(im, CAMERA, { shot: 0, read: Infinity }, createRng(1))).toThrow(/read must be/);
  });

  it('gives the noise the spatial correlation of a demosaicked sensor', () => {
    // Flat grey: the residual's horizontal neighbours are correlated because bilinear demosaicking
    // interpolates each noisy CFA sample into its neighbours; independent per-pixel noise is not.
    const im = flat(128, 128, [0.5, 0.5, 0.5]);
    const out = captureWithNoise(im, CAMERA, { shot: 0.004, read: 1e-5 }, createRng(7));
    let sxy = 0;
    let sxx = 0;
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 127; x++) {
        const a = out.data[(y * 128 + x) * 3] - 0.5;
        const b = out.data[(y * 128 + x + 1) * 3] - 0.5;
        sxy += a * b;
        sxx += a * a;
      }
    }
    expect(sxy / sxx).toBeGreaterThan(0.2);
  });

  it('handles images too small for a CFA cell', async () => {
    const im = flat(1, 5, [0.5, 0.3, 0.2]);
    const out = await realNoise.apply(im, realNoise.sample(5, createRng(1), im));
    expect([out.width, out.height]).toEqual([1, 5]);
    expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
  });
});

describe('RN (real noise)', () => {
  it("has 8 shot-noise levels spanning Brooks et al.'s range [1e-4, 0.012] and none beyond it", () => {
    expect(realNoise.id).toBe('RN');
    const shots = realNoise.levels.map((l) => l.settings.shot as number);
    expect(realNoise.levels.length).toBe(8);
    expect(realNoise.levels.map((l) => l.id)).toEqual(shots.map((s) => `shot:${s}`));
    expect(realNoise.levels.map((l) => l.severity)).toEqual(shots.map((_, i) => i));
    expect(shots[0]).toBe(0.0001);
    expect(shots[shots.length - 1]).toBe(0.012);
    expect(shots.every((s) => s >= 1e-4 && s <= 0.012)).toBe(true);
    // the drawn shot and read stay on the paper's line within its range, whatever the seed
    for (let i = 0; i < 200; i++) {
      const p = realNoise.sample(i % 8, createRng(`rn-range-${i}`), { width: 8, height: 8 });
      const shot = p.shot as number;
      expect(shot >= 1e-4 && shot <= 0.012, `shot ${shot}`).toBe(true);
    }
    expect(() => realNoise.sample(8, createRng(1), { width: 8, height: 8 })).toThrow(/levels 0\.\.7/);
  });

  it('every level keeps the size, stays finite in [0, 1], and changes the image', async () => {
    const [im] = await sampleCrops(64);
    for (let level = 0; level < realNoise.levels.length; level++) {
      const out = await realNoise.apply(im, realNoise.sample(level, createRng(level), im));
      expect([out.width, out.height]).toEqual([64, 64]);
      expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
      expect(bytes(out).equals(bytes(im))).toBe(false);
    }
  });

  it('is deterministic, records every choice, and replays from JSON', async () => {
    const [im] = await sampleCrops(64);
    const a = realNoise.sample(4, createRng('x'), im);
    expect(realNoise.sample(4, createRng('x'), im)).toEqual(a);
    expect(Object.keys(a).sort()).toEqual(['camera', 'level', 'read', 'seed', 'shot']);
    expect(a.level).toBe(realNoise.levels[4].id);
    const out1 = await realNoise.apply(im, a);
    const out2 = await realNoise.apply(im, a);
    const replay = await realNoise.apply(im, JSON.parse(JSON.stringify(a)));
    expect(bytes(out1).equals(bytes(out2))).toBe(true);
    expect(bytes(out1).equals(bytes(replay))).toBe(true);
  });

  it('different seeds give different cameras and pixels', async () => {
    const [im] = await sampleCrops(64);
    const a = realNoise.sample(4, createRng('a'), im);
    const b = realNoise.sample(4, createRng('b'), im);
    expect(a.camera).not.toEqual(b.camera);
    expect(a.seed).not.toEqual(b.seed);
    expect(bytes(await realNoise.apply(im, a)).equals(bytes(await realNoise.apply(im, b)))).toBe(false);
  });

  it('PSNR falls strictly as the shot noise rises (5 photos, 2 seeds)', async () => {
    const byVariant = await meanPsnrByVariant(realNoise, await sampleCrops(128), [1, 2]);
    expectFallingWithinVariants(realNoise.id, byVariant);
    expect(byVariant.get('shot')![0]).toBeGreaterThan(35);
  });
});
