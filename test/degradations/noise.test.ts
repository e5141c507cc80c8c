import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import {
  addGaussianNoise,
  addPoissonNoise,
  addSaltPepperNoise,
  fillStandardNormal,
  gaussianNoise,
  GRAY_NOISE_PROB,
} from '../../src/degradations/noise.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);
const info = { width: 64, height: 64 };

function flat(width: number, height: number, v: number): Image {
  const im = createImage(width, height);
  im.data.fill(v);
  return im;
}

function firstOf(variant: string): number {
  return gaussianNoise.levels.findIndex((l) => l.variant === variant);
}

describe('GN levels', () => {
  it('has >= 16 levels, grouped by variant, ids variant:value, severity ascending', () => {
    const levels = gaussianNoise.levels;
    expect(gaussianNoise.id).toBe('GN');
    expect(levels.length).toBeGreaterThanOrEqual(16);
    expect([...new Set(levels.map((l) => l.variant))]).toEqual(['gaussian', 'poisson', 'saltpepper']);
    for (const l of levels) expect(l.id).toMatch(new RegExp(`^${l.variant}:[0-9.]+$`));
    for (const v of ['gaussian', 'poisson', 'saltpepper']) {
      const group = levels.filter((l) => l.variant === v);
      expect(group.map((l) => l.severity)).toEqual(group.map((_, i) => i));
    }
    for (const s of ['gaussian:15', 'gaussian:25', 'gaussian:50']) expect(levels.map((l) => l.id)).toContain(s);
    expect(() => gaussianNoise.sample(levels.length, createRng(1), info)).toThrow(/levels 0\.\./);
    expect(() => gaussianNoise.sample(1.5, createRng(1), info)).toThrow(/levels 0\.\./);
  });
});

describe('GN contract', () => {
  it('every level keeps the size, stays finite in [0, 1], and changes the image', async () => {
    const [im] = await sampleCrops(64);
    for (let level = 0; level < gaussianNoise.levels.length; level++) {
      const out = await gaussianNoise.apply(im, gaussianNoise.sample(level, createRng(level), im));
      expect([out.width, out.height]).toEqual([64, 64]);
      expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
      expect(bytes(out).equals(bytes(im))).toBe(false);
    }
  });

  it('is deterministic and replays from JSON, per variant', async () => {
    const [im] = await sampleCrops(64);
    for (const v of ['gaussian', 'poisson', 'saltpepper']) {
      const level = firstOf(v) + 2;
      const a = gaussianNoise.sample(level, createRng('seed'), im);
      expect(gaussianNoise.sample(level, createRng('seed'), im)).toEqual(a);
      expect(a.level).toBe(gaussianNoise.levels[level].id);
      const out1 = await gaussianNoise.apply(im, a);
      const out2 = await gaussianNoise.apply(im, a);
      const replay = await gaussianNoise.apply(im, JSON.parse(JSON.stringify(a)));
      expect(bytes(out1).equals(bytes(out2))).toBe(true);
      expect(bytes(out1).equals(bytes(replay))).toBe(true);
    }
  });

  it('different seeds give different params and pixels', async () => {
    const [im] = await sampleCrops(64);
    for (const v of ['gaussian', 'poisson', 'saltpepper']) {
      const level = firstOf(v) + 1;
      const a = gaussianNoise.sample(level, createRng('a'), im);
      const b = gaussianNoise.sample(level, createRng('b'), im);
      expect(a.seed).not.toEqual(b.seed);
      expect(bytes(await gaussianNoise.apply(im, a)).equals(bytes(await gaussianNoise.apply(im, b)))).toBe(false);
    }
  });

  it('PSNR falls strictly with severity within each variant (5 photos, 2 seeds)', async () => {
    expectFallingWithinVariants(gaussianNoise.id, await meanPsnrByVariant(gaussianNoise, await sampleCrops(128), [1, 2]));
  });

  it('draws grey noise with probability ~0.4 for gaussian and poisson, never for salt & pepper', () => {
    const count = (level: number) => {
      let n = 0;
      for (let s = 0; s < 500; s++) if ((gaussianNoise.sample(level, createRng(s), info) as { gray?: boolean }).gray) n++;
      return n / 500;
    };
    expect(Math.abs(count(firstOf('gaussian')) - GRAY_NOISE_PROB)).toBeLessThan(0.07);
    expect(Math.abs(count(firstOf('poisson')) - GRAY_NOISE_PROB)).toBeLessThan(0.07);
    expect(count(firstOf('saltpepper'))).toBe(0);
  });
});

describe('noise operators', () => {
  it('fillStandardNormal draws N(0, 1): mean, variance, kurtosis, tail mass', () => {
    const z = fillStandardNormal(createRng('z'), new Float32Array(400_000));
    let m = 0;
    let v = 0;
    let k = 0;
    let tail = 0;
    for (const x of z) {
      m += x;
      v += x * x;
      k += x ** 4;
      if (Math.abs(x) > 2) tail++;
    }
    const n = z.length;
    expect(Math.abs(m / n)).toBeLessThan(0.01);
    expect(Math.abs(v / n - 1)).toBeLessThan(0.01);
    expect(Math.abs(k / n - 3)).toBeLessThan(0.06);
    expect(Math.abs(tail / n - 0.0455)).toBeLessThan(0.002);
    expect(() => fillStandardNormal(createRng(1), new Float32Array(2), -1)).toThrow(/sigma must be/);
  });

  it('gaussian noise has std sigma/255; grey noise is the same in the three channels', () => {
    const im = flat(200, 200, 0.5);
    const out = addGaussianNoise(im, 25, false, createRng(3));
    let v = 0;
    for (const x of out.data) v += (x - 0.5) ** 2;
    expect(Math.sqrt(v / out.data.length) * 255).toBeCloseTo(25, 0);
    const g = addGaussianNoise(im, 25, true, createRng(3));
    for (let i = 0; i < g.data.length; i += 3) {
      if (g.data[i] !== g.data[i + 1] || g.data[i] !== g.data[i + 2]) throw new Error(`grey noise differs across channels at ${i}`);
    }
    expect(() => addGaussianNoise(im, -1, false, createRng(1))).toThrow(/sigma must be a finite number >= 0/);
  });

  it('poisson noise follows BasicSR: Poisson(k/255*256)/256 - k/255, variance k/255/256 * scale^2', () => {
    const k = 128;
    const im = flat(300, 300, k / 255);
    for (const scale of [1, 2]) {
      const out = addPoissonNoise(im, scale, false, createRng(scale));
      let m = 0;
      let v = 0;
      for (const x of out.data) {
        const n = ((x - k / 255) / scale) * 256;
        m += n;
        v += n * n;
        // Integer counts: the unscaled noise * 256 + lambda... is Poisson(lambda) minus lambda.
        const count = n + (k / 255) * 256;
        if (Math.abs(count - Math.round(count)) > 1e-3) throw new Error(`non-integer Poisson count ${count}`);
      }
      const n = out.data.length;
      expect(Math.abs(m / n)).toBeLessThan(0.1);
      expect(v / n - (m / n) ** 2).toBeGreaterThan(((k * 256) / 255) * 0.97);
      expect(v / n - (m / n) ** 2).toBeLessThan(((k * 256) / 255) * 1.03);
    }
    // Black stays black (Poisson(0) = 0); grey noise is shared by the three channels.
    const black = addPoissonNoise(flat(16, 16, 0), 3, false, createRng(1));
    expect(black.data.every((x) => x === 0)).toBe(true);
    const g = addPoissonNoise(flat(32, 32, 0.3), 1, true, createRng(2));
    for (let i = 0; i < g.data.length; i += 3) {
      if (g.data[i] !== g.data[i + 1] || g.data[i] !== g.data[i + 2]) throw new Error(`grey noise differs across channels at ${i}`);
    }
    expect(() => addPoissonNoise(im, Number.NaN, false, createRng(1))).toThrow(/scale must be/);
  });

  it('salt & pepper flips a fraction `amount` of values to 0 or 1, half each', () => {
    const im = flat(300, 300, 0.5);
    const out = addSaltPepperNoise(im, 0.1, 0.5, createRng(9));
    let salt = 0;
    let pepper = 0;
    for (const x of out.data) {
      if (x === 1) salt++;
      else if (x === 0) pepper++;
      else if (x !== 0.5) throw new Error(`unexpected value ${x}`);
    }
    const n = out.data.length;
    expect(Math.abs((salt + pepper) / n - 0.1)).toBeLessThan(0.003);
    expect(Math.abs(salt / (salt + pepper) - 0.5)).toBeLessThan(0.02);
    expect(bytes(addSaltPepperNoise(im, 0, 0.5, createRng(1))).equals(bytes(im))).toBe(true);
    expect(() => addSaltPepperNoise(im, 1, 0.5, createRng(1))).toThrow(/amount must be in \[0, 1\)/);
    expect(() => addSaltPepperNoise(im, 0.1, 2, createRng(1))).toThrow(/saltVsPepper must be in \[0, 1\]/);
  });
});
