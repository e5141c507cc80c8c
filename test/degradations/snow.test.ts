import { describe, expect, it } from 'vitest';
import { createImage, cropImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { SNOW_DENSITIES, applySnow, sampleSnow, snow, type FlakeLayer, type SnowParams } from '../../src/degradations/snow.js';
import { expectSameShareAtSizes } from '../support/frame-share.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

function flat(width: number, height: number, v: number): Image {
  return createImage(width, height, new Float32Array(width * height * 3).fill(v));
}

const flake: FlakeLayer = {
  seed: 'f',
  density: 0.003,
  radiusMin: 1,
  radiusMax: 2,
  streak: 1,
  angle: 90,
  blur: 0,
  opacityMin: 0.9,
  opacityMax: 1,
};

describe('S (snow)', () => {
  it('has ten density levels, severity ascending', () => {
    expect(snow.id).toBe('S');
    expect(snow.levels.map((l) => l.id)).toEqual(SNOW_DENSITIES.map((d) => `density:${d}`));
    expect(snow.levels.map((l) => l.severity)).toEqual(SNOW_DENSITIES.map((_, i) => i));
    expect(() => snow.sample(10, createRng(1), { width: 8, height: 8 })).toThrow(/levels 0\.\.9/);
  });

  it('every level keeps the size (non-square too), gives finite values in [0, 1], and changes the image', async () => {
    const [, im0] = await sampleCrops(96);
    const im = cropImage(im0, 0, 0, 96, 64);
    for (let level = 0; level < snow.levels.length; level++) {
      const params = snow.sample(level, createRng(`every${level}`), im);
      expect(params.level).toBe(snow.levels[level].id);
      const out = await snow.apply(im, params);
      expect([out.width, out.height]).toEqual([96, 64]);
      expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
      expect(bytes(out).equals(bytes(im))).toBe(false);
    }
  });

  it('handles tiny images (3x2) at every level', async () => {
    const im = createImage(3, 2, Float32Array.from({ length: 18 }, (_, i) => i / 18));
    for (let level = 0; level < snow.levels.length; level++) {
      const out = await snow.apply(im, snow.sample(level, createRng(level), im));
      expect([out.width, out.height]).toEqual([3, 2]);
      expect(out.data.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('is deterministic and replays from JSON; other seeds give other params and pixels', async () => {
    const [im] = await sampleCrops(64);
    const a = snow.sample(7, createRng('a'), im);
    expect(snow.sample(7, createRng('a'), im)).toEqual(a);
    const out1 = await snow.apply(im, a);
    const out2 = await snow.apply(im, a);
    const replay = await snow.apply(im, JSON.parse(JSON.stringify(a)));
    expect(bytes(out1).equals(bytes(out2))).toBe(true);
    expect(bytes(out1).equals(bytes(replay))).toBe(true);
    const b = snow.sample(7, createRng('b'), im);
    expect(b).not.toEqual(a);
    expect(bytes(await snow.apply(im, b)).equals(bytes(out1))).toBe(false);
  });

  it('PSNR falls strictly as density rises (5 photos, 2 seeds)', async () => {
    expectFallingWithinVariants(snow.id, await meanPsnrByVariant(snow, await sampleCrops(128), [1, 2]));
  });

  it('draws three particle sizes (small, medium, large defocused), one wind for all levels of a seed', () => {
    const p0 = sampleSnow(0, createRng(4), { width: 256, height: 256 }) as SnowParams;
    const p9 = sampleSnow(9, createRng(4), { width: 256, height: 256 }) as SnowParams;
    expect(p9.layers.length).toBe(3);
    const [small, medium, large] = p9.layers;
    expect(small.radiusMax).toBeLessThanOrEqual(medium.radiusMin);
    expect(medium.radiusMax).toBeLessThanOrEqual(large.radiusMin);
    expect(large.blur).toBeGreaterThan(medium.blur);
    expect(small.density).toBeGreaterThan(medium.density);
    expect(medium.density).toBeGreaterThan(large.density);
    expect(p9.layers[0].density).toBeGreaterThan(p0.layers[0].density);
    expect(p9.veil).toBeGreaterThan(p0.veil);
    expect(p9.layers.map((l) => l.angle)).toEqual(p0.layers.map((l) => l.angle));
    for (const l of p9.layers) expect(Math.abs(l.angle - 90)).toBeLessThanOrEqual(40);
  });

  it('a level covers the same share of the frame at 128, 256 and 512 px: flakes grow with the frame, their count is per frame', () => {
    // The mean coverage of the flakes (veil left out) over a flat frame: with a density per pixel and radii grown
    // with the frame it went with the square of the size (4x from 256 to 512 px); at 128 px the smallest flakes
    // sit on the half-pixel floor and are faded to the alpha the 256 px flake, scaled down, carries.
    const share = (n: number) => {
      const im = flat(n, n, 0.2);
      const params = sampleSnow(5, createRng('share'), im);
      const out = applySnow(im, { ...params, veil: 0 });
      let sum = 0;
      for (let i = 0; i < out.data.length; i += 3) sum += (out.data[i] - 0.2) / (params.colour - 0.2);
      return sum / (n * n);
    };
    expectSameShareAtSizes(share, 0.02);
  });

  it('flakes are sized to the frame: twice the frame, twice the radii, streaks and defocus, a quarter the density', () => {
    const a = sampleSnow(6, createRng('scale'), { width: 256, height: 256 });
    const b = sampleSnow(6, createRng('scale'), { width: 512, height: 512 });
    for (const [la, lb] of a.layers.map((l, i) => [l, b.layers[i]] as const)) {
      expect(lb.radiusMax).toBeCloseTo(2 * la.radiusMax, 2);
      expect(lb.streak).toBeCloseTo(2 * la.streak, 2);
      expect(lb.blur).toBeCloseTo(2 * la.blur, 2);
      expect(lb.density / la.density).toBeCloseTo(0.25, 2);
      expect([lb.opacityMin, lb.opacityMax]).toEqual([la.opacityMin, la.opacityMax]);
    }
    // A photo of a few thousand pixels a side gets the same snow, larger (these sizes used to be refused).
    expect(() => applySnow(flat(8, 8, 0.5), { ...sampleSnow(9, createRng('big'), { width: 4000, height: 3000 }), veil: 0 })).not.toThrow();
  });

  it('flakes only brighten a dark scene toward the snow colour; no layers and no veil is the identity', () => {
    const im = flat(64, 64, 0.1);
    expect(bytes(applySnow(im, { layers: [], veil: 0, colour: 1 })).equals(bytes(im))).toBe(true);
    const out = applySnow(im, { layers: [flake], veil: 0, colour: 1 });
    let bright = 0;
    let darker = 0;
    for (let i = 0; i < out.data.length; i++) {
      if (out.data[i] < 0.1 - 1e-6) darker++;
      if (out.data[i] > 0.8) bright++;
    }
    expect(darker).toBe(0);
    expect(bright).toBeGreaterThan(10);
  });

  it('motion-blurs flakes along the wind: a horizontal wind stretches them horizontally', () => {
    const im = flat(96, 96, 0);
    const corr = (out: Image, dx: number, dy: number) => {
      let s = 0;
      for (let y = 2; y < 94; y++) for (let x = 2; x < 94; x++) s += out.data[(y * 96 + x) * 3] * out.data[((y + dy) * 96 + x + dx) * 3];
      return s;
    };
    const streaked = { ...flake, radiusMin: 0.6, radiusMax: 0.8, streak: 9, angle: 0 };
    const h = applySnow(im, { layers: [streaked], veil: 0, colour: 1 });
    expect(corr(h, 2, 0)).toBeGreaterThan(2 * corr(h, 0, 2));
    const v = applySnow(im, { layers: [{ ...streaked, angle: 90 }], veil: 0, colour: 1 });
    expect(corr(v, 0, 2)).toBeGreaterThan(2 * corr(v, 2, 0));
  });

  it('the veil brightens a dark scene even with no flakes, more at the top (far)', () => {
    const im = flat(64, 64, 0.1);
    const out = applySnow(im, { layers: [], veil: 0.4, colour: 1 });
    expect(out.data[(2 * 64 + 32) * 3]).toBeGreaterThan(out.data[(61 * 64 + 32) * 3]);
    expect(out.data[(61 * 64 + 32) * 3]).toBeGreaterThan(0.1);
  });

  it('validates its settings', () => {
    const im = flat(16, 16, 0.5);
    expect(() => applySnow(im, { layers: [{ ...flake, density: 2 }], veil: 0, colour: 1 })).toThrow(/density/);
    expect(() => applySnow(im, { layers: [{ ...flake, radiusMax: 0.5 }], veil: 0, colour: 1 })).toThrow(/radiusMax/);
    expect(() => applySnow(im, { layers: [{ ...flake, seed: '' }], veil: 0, colour: 1 })).toThrow(/seed/);
    expect(() => applySnow(im, { layers: [flake], veil: -1, colour: 1 })).toThrow(/veil/);
    expect(() => applySnow(im, { layers: [flake], veil: 0, colour: 2 })).toThrow(/colour/);
  });
});
