import { describe, expect, it } from 'vitest';
import { createImage, quantizeInPlace, type Image } from '../../src/core/image.js';
import { processRaw, unprocess, type CameraParams } from '../../src/degradations/camera.js';
import { createRng } from '../../src/core/random.js';
import { darken, lowLight } from '../../src/degradations/lowlight.js';
import { psnr } from '../../src/core/metrics.js';
import { sampleCrops } from '../support/samples.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

function mean(im: Image): number {
  let s = 0;
  for (const v of im.data) s += v;
  return s / im.data.length;
}

describe('darken (Lv et al.)', () => {
  it('computes beta * (alpha * I)^gamma', () => {
    const im = createImage(101, 1);
    for (let i = 0; i < im.data.length; i++) im.data[i] = (i % 101) / 100;
    const p = { alpha: 0.93, beta: 0.7, gamma: 2.7 };
    const out = darken(im, p);
    for (let i = 0; i < im.data.length; i++) {
      expect(Math.abs(out.data[i] - p.beta * (p.alpha * im.data[i]) ** p.gamma)).toBeLessThan(1e-6);
    }
    expect(() => darken(im, { ...p, alpha: 1.5 })).toThrow(/alpha must be in \(0, 1\]/);
    expect(() => darken(im, { ...p, beta: 0 })).toThrow(/beta must be in \(0, 1\]/);
    expect(() => darken(im, { ...p, gamma: 0.5 })).toThrow(/gamma must be in \[1, 10\]/);
  });
});

describe('LL (low light)', () => {
  it('has 10 gamma levels over [1.5, 5] with rising shot noise, then 6 exposure levels from -1 to -4.5 EV', () => {
    expect(lowLight.id).toBe('LL');
    expect(lowLight.levels.slice(10).map((l) => l.id)).toEqual(['exposure:-1', 'exposure:-1.5', 'exposure:-2', 'exposure:-2.5', 'exposure:-3.5', 'exposure:-4.5']);
    for (const l of lowLight.levels.slice(10)) {
      expect(l.settings.exposure).toBe(2 ** (l.settings.ev as number));
      for (const shot of l.settings.shot as number[]) expect(shot >= 1e-4 && shot <= 0.012).toBe(true);
    }
    const levels = lowLight.levels.slice(0, 10);
    expect(levels.length).toBe(10);
    const gammas = levels.map((l) => l.settings.gamma as number);
    expect(levels.map((l) => l.id)).toEqual(gammas.map((g) => `gamma:${g}`));
    expect(levels.map((l) => l.severity)).toEqual(gammas.map((_, i) => i));
    expect(gammas[0]).toBe(1.5);
    expect(gammas[9]).toBe(5);
    for (let i = 1; i < 10; i++) {
      expect(gammas[i]).toBeGreaterThan(gammas[i - 1]);
      expect((levels[i].settings.shot as number[])[0]).toBeGreaterThan((levels[i - 1].settings.shot as number[])[0]);
    }
    expect(() => lowLight.sample(-1, createRng(1), { width: 8, height: 8 })).toThrow(/levels 0\.\.15/);
  });

  it('samples alpha, beta in the paper ranges and the level gamma', () => {
    for (let s = 0; s < 100; s++) {
      const p = lowLight.sample(s % 10, createRng(s), { width: 8, height: 8 });
      expect(p.alpha).toBeGreaterThanOrEqual(0.9);
      expect(p.alpha).toBeLessThan(1);
      expect(p.beta).toBeGreaterThanOrEqual(0.5);
      expect(p.beta).toBeLessThan(1);
      expect(p.gamma).toBe(lowLight.levels[s % 10].settings.gamma);
      const [lo, hi] = lowLight.levels[s % 10].settings.shot as number[];
      expect(p.shot).toBeGreaterThanOrEqual(lo * (1 - 1e-12));
      expect(p.shot).toBeLessThanOrEqual(hi * (1 + 1e-12));
      expect(p.read).toBeGreaterThan(0);
    }
  });

  it('every level keeps the size and gives finite 8-bit values, darker than the input', async () => {
    const [im] = await sampleCrops(64);
    for (let level = 0; level < lowLight.levels.length; level++) {
      const out = await lowLight.apply(im, lowLight.sample(level, createRng(level), im));
      expect([out.width, out.height]).toEqual([64, 64]);
      expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-4)).toBe(true);
      expect(mean(out)).toBeLessThan(mean(im));
    }
  });

  it('is deterministic, records every choice, and replays from JSON', async () => {
    const [im] = await sampleCrops(64);
    const a = lowLight.sample(3, createRng('x'), im);
    expect(lowLight.sample(3, createRng('x'), im)).toEqual(a);
    expect(Object.keys(a).sort()).toEqual(['alpha', 'beta', 'camera', 'gamma', 'level', 'read', 'seed', 'shot']);
    expect(a.level).toBe('gamma:2.5');
    const out1 = await lowLight.apply(im, a);
    const out2 = await lowLight.apply(im, a);
    const replay = await lowLight.apply(im, JSON.parse(JSON.stringify(a)));
    expect(bytes(out1).equals(bytes(out2))).toBe(true);
    expect(bytes(out1).equals(bytes(replay))).toBe(true);
  });

  it('different seeds give different params and pixels; the noise seed alone changes pixels', async () => {
    const [im] = await sampleCrops(64);
    const a = lowLight.sample(5, createRng('a'), im);
    const b = lowLight.sample(5, createRng('b'), im);
    expect(a).not.toEqual(b);
    expect(bytes(await lowLight.apply(im, a)).equals(bytes(await lowLight.apply(im, b)))).toBe(false);
    const reseeded = await lowLight.apply(im, { ...a, seed: `${a.seed}x` });
    expect(bytes(reseeded).equals(bytes(await lowLight.apply(im, a)))).toBe(false);
  });

  it('a shorter exposure scales the linear raw by 2^EV and adds one noise pass: no noise, it is the photo through the camera at that exposure', async () => {
    const [im] = await sampleCrops(32);
    const p = lowLight.sample(12, createRng('ev'), im);
    const quiet = await lowLight.apply(im, { ...p, shot: 0, read: 0 });
    const cam = p.camera as CameraParams;
    const raw = unprocess(im, cam);
    raw.data.forEach((v, i) => (raw.data[i] = v * 2 ** -2));
    const expected = quantizeInPlace(processRaw(raw, cam));
    expect(bytes(quiet).equals(bytes(expected))).toBe(true);
    expect(bytes(await lowLight.apply(im, p)).equals(bytes(quiet))).toBe(false);
  });

  it('gets darker and PSNR falls strictly with the level within each variant (5 photos, 2 seeds)', async () => {
    const crops = await sampleCrops(128);
    for (const [from, to] of [[0, 10], [10, 16]]) {
      const psnrs: number[] = [];
      const means: number[] = [];
      for (let level = from; level < to; level++) {
        let s = 0;
        let m = 0;
        for (const seed of [1, 2]) {
          for (const im of crops) {
            const out = await lowLight.apply(im, lowLight.sample(level, createRng(seed), im));
            s += psnr(out, im);
            m += mean(out);
          }
        }
        psnrs.push(s / (2 * crops.length));
        means.push(m / (2 * crops.length));
      }
      for (let i = 1; i < psnrs.length; i++) {
        expect(psnrs[i], `psnr level ${from + i}`).toBeLessThan(psnrs[i - 1]);
        expect(means[i], `brightness level ${from + i}`).toBeLessThan(means[i - 1]);
      }
    }
  });
});
