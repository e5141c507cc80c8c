import { describe, expect, it } from 'vitest';
import { createImage, cropImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { estimateDepth } from '../../src/degradations/depth.js';
import { AIRLIGHT_RANGE, HAZE_BETAS, applyHaze, haze, type HazeParams } from '../../src/degradations/haze.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

function flat(width: number, height: number, v: number): Image {
  return createImage(width, height, new Float32Array(width * height * 3).fill(v));
}

describe('H (haze)', () => {
  it('has ten beta levels, ids beta:B, severity ascending', () => {
    expect(haze.id).toBe('H');
    expect(haze.levels.map((l) => l.id)).toEqual(HAZE_BETAS.map((b) => `beta:${b}`));
    expect(haze.levels.map((l) => l.severity)).toEqual(HAZE_BETAS.map((_, i) => i));
    expect(() => haze.sample(10, createRng(1), { width: 8, height: 8 })).toThrow(/levels 0\.\.9/);
    expect(() => haze.sample(-1, createRng(1), { width: 8, height: 8 })).toThrow(/levels 0\.\.9/);
  });

  it('every level keeps the size (non-square too), gives finite values in [0, 1], and changes the image', async () => {
    const [, im0] = await sampleCrops(64);
    const im = cropImage(im0, 0, 0, 64, 40);
    for (let level = 0; level < haze.levels.length; level++) {
      const params = haze.sample(level, createRng(level), im);
      const out = await haze.apply(im, params);
      expect([out.width, out.height]).toEqual([64, 40]);
      expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
      expect(bytes(out).equals(bytes(im))).toBe(false);
    }
  });

  it('handles tiny images (3x2) at every level', async () => {
    const im = createImage(3, 2, Float32Array.from({ length: 18 }, (_, i) => i / 18));
    for (let level = 0; level < haze.levels.length; level++) {
      const out = await haze.apply(im, haze.sample(level, createRng(level), im));
      expect([out.width, out.height]).toEqual([3, 2]);
      expect(out.data.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('is deterministic, replays from JSON, and records airlight drawn in [0.7, 1.0]', async () => {
    const [im] = await sampleCrops(64);
    const a = haze.sample(5, createRng('a'), im) as HazeParams;
    expect(haze.sample(5, createRng('a'), im)).toEqual(a);
    expect(a.level).toBe('beta:1.2');
    expect(a.beta).toBe(1.2);
    expect(a.airlight).toBeGreaterThanOrEqual(AIRLIGHT_RANGE[0]);
    expect(a.airlight).toBeLessThan(AIRLIGHT_RANGE[1]);
    const out1 = await haze.apply(im, a);
    const out2 = await haze.apply(im, a);
    const replay = await haze.apply(im, JSON.parse(JSON.stringify(a)));
    expect(bytes(out1).equals(bytes(out2))).toBe(true);
    expect(bytes(out1).equals(bytes(replay))).toBe(true);
  });

  it('different seeds draw different airlights and pixels', async () => {
    const [im] = await sampleCrops(64);
    const a = haze.sample(3, createRng('a'), im);
    const b = haze.sample(3, createRng('b'), im);
    expect(a.airlight).not.toBe(b.airlight);
    expect(bytes(await haze.apply(im, a)).equals(bytes(await haze.apply(im, b)))).toBe(false);
  });

  it('PSNR falls strictly as beta rises (5 photos, 2 seeds)', async () => {
    expectFallingWithinVariants(haze.id, await meanPsnrByVariant(haze, await sampleCrops(128), [1, 2]));
  });

  it('follows I = J t + A (1 - t): beta 0 is the identity, a pixel equal to A stays A', () => {
    const im = flat(32, 24, 0.3);
    im.data[0] = 0.9;
    expect(bytes(applyHaze(im, { beta: 0, airlight: 0.8 })).equals(bytes(im))).toBe(true);
    const grey = flat(16, 16, 0.75);
    const out = applyHaze(grey, { beta: 1.5, airlight: 0.75 });
    for (const v of out.data) expect(v).toBeCloseTo(0.75, 6);
  });

  it('hazes the top of a uniform image more than the bottom (top is far), smoothly', () => {
    const im = flat(64, 64, 0.1);
    const out = applyHaze(im, { beta: 1.5, airlight: 1 });
    const at = (y: number) => out.data[(y * 64 + 32) * 3];
    expect(at(0)).toBeGreaterThan(at(63) + 0.1);
    for (let y = 1; y < 64; y++) {
      expect(at(y)).toBeLessThanOrEqual(at(y - 1) + 1e-6);
      expect(Math.abs(at(y) - at(y - 1))).toBeLessThan(0.02);
    }
  });

  it('puts bright, colourless regions (a high dark channel, like sky) farther than dark ones at the same height', () => {
    const im = flat(64, 64, 0.05);
    for (let y = 0; y < 64; y++) for (let x = 32; x < 64; x++) im.data.fill(0.9, (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
    const depth = estimateDepth(im).data;
    expect(depth[32 * 64 + 60]).toBeGreaterThan(depth[32 * 64 + 3] + 0.2);
    for (const d of depth) {
      expect(d).toBeGreaterThanOrEqual(0.2);
      expect(d).toBeLessThanOrEqual(1);
    }
  });

  it('the transmission follows an object edge: it changes across the edge far more than along it', async () => {
    // A textured, colourful object (near: low dark channel) against a bright grey wall (far), its
    // outline a slanted edge at no block boundary: x = 70 + 0.3 y on a 160x160 scene.
    const n = 160;
    const im = flat(n, n, 0.82);
    const edge = (y: number) => 70 + 0.3 * y;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        if (x >= edge(y)) continue;
        const p = (y * n + x) * 3;
        const checker = ((x >> 2) + (y >> 2)) & 1;
        im.data[p] = checker ? 0.7 : 0.55;
        im.data[p + 1] = checker ? 0.2 : 0.3;
        im.data[p + 2] = 0.08;
      }
    }
    const out = await haze.apply(im, { level: 'beta:1.2', beta: 1.2, airlight: 0.9, depth: 'estimate' } as HazeParams);
    // t recovered from the red channel: I = J t + A (1 - t)  =>  t = (I - A) / (J - A).
    const t = (x: number, y: number) => {
      const p = (y * n + Math.round(x)) * 3;
      return (out.data[p] - 0.9) / (im.data[p] - 0.9);
    };
    let across = 0;
    let along = 0;
    let full = 0;
    for (let y = 20; y < 140; y += 10) {
      across += Math.abs(t(edge(y) + 3, y) - t(edge(y) - 4, y));
      // along the edge, on the object side: the same distance (7 px) down the outline
      along += Math.abs(t(edge(y) - 4, y) - t(edge(y + 7) - 4, y + 7));
      full += Math.abs(t(n - 10, y) - t(10, y));
    }
    expect(across).toBeGreaterThan(5 * along);
    // the step sits at the edge: most of the object-to-wall change happens within those 7 px
    expect(across).toBeGreaterThan(0.5 * full);
  });

  it('validates settings and the recorded depth', async () => {
    const im = flat(8, 8, 0.5);
    expect(() => applyHaze(im, { beta: -1, airlight: 0.8 })).toThrow(/beta must be in \[0, 5\]/);
    expect(() => applyHaze(im, { beta: 1, airlight: 1.5 })).toThrow(/airlight must be in \[0, 1\]/);
    const p = haze.sample(0, createRng(1), im);
    expect(p.depth).toBe('estimate');
    await expect(haze.apply(im, { ...p, depth: 'other' })).rejects.toThrow(/depth must be "estimate"/);
    const map = { sha256: 'a'.repeat(64), kind: 'inverse' as const };
    await expect(haze.apply(im, { ...p, depth: map })).rejects.toThrow(/depth map sha256 aaaaaaaaaaaa.*no depth map was given/);
  });
});
