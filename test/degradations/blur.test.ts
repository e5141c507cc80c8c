import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { defocusBlur, gaussianSincBlur, motionBlur, type DepthBlurParams } from '../../src/degradations/blur.js';
import { estimateDepth } from '../../src/degradations/depth.js';
import { diskKernel } from '../../src/degradations/kernels/defocus.js';
import type { Degradation, Params } from '../../src/degradations/types.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image): Buffer => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);
const info = { width: 64, height: 64 };

const TYPES: Array<[string, Degradation]> = [
  ['MB', motionBlur],
  ['DB', defocusBlur],
  ['GB', gaussianSincBlur],
];

describe.each(TYPES)('%s common contract', (id, d) => {
  it('has ids variant:value with severity ascending within each variant', () => {
    expect(d.id).toBe(id);
    const seen = new Map<string, number>();
    for (const l of d.levels) {
      expect(l.id).toBe(`${l.variant}:${l.id.slice(l.variant.length + 1)}`);
      expect(l.severity).toBe(seen.get(l.variant) ?? 0);
      seen.set(l.variant, l.severity + 1);
    }
    expect(new Set(d.levels.map((l) => l.id)).size).toBe(d.levels.length);
    expect(() => d.sample(d.levels.length, createRng(1), info)).toThrow(/levels 0\.\./);
    expect(() => d.sample(0.5, createRng(1), info)).toThrow(/levels 0\.\./);
  });

  it('every level keeps the size, stays finite and in [0, 1], and blurs', async () => {
    const [im] = await sampleCrops(64);
    for (let level = 0; level < d.levels.length; level++) {
      const p = d.sample(level, createRng(`lv${level}`), info);
      expect(p.level).toBe(d.levels[level].id);
      const out = await d.apply(im, p);
      expect([out.width, out.height]).toEqual([64, 64]);
      expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
      expect(bytes(out).equals(bytes(im))).toBe(false);
    }
  });

  it('is deterministic and replays from JSON', async () => {
    const [, im] = await sampleCrops(64);
    for (const level of [0, Math.floor(d.levels.length / 2), d.levels.length - 1]) {
      const a = d.sample(level, createRng('same'), info);
      expect(d.sample(level, createRng('same'), info)).toEqual(a);
      const json = JSON.parse(JSON.stringify(a)) as Params;
      expect(json).toEqual(a);
      const out1 = await d.apply(im, a);
      const out2 = await d.apply(im, a);
      expect(bytes(out1).equals(bytes(out2))).toBe(true);
      expect(bytes(await d.apply(im, json)).equals(bytes(out1))).toBe(true);
    }
  });

  it('PSNR falls strictly with severity within each variant (5 photos, 2 seeds)', async () => {
    expectFallingWithinVariants(id, await meanPsnrByVariant(d, await sampleCrops(128), [1, 2]));
  });
});

/** A single white pixel on black: the output is the kernel (flipped: correlation), so its centroid shows any shift. */
function impulseImage(n: number): Image {
  const im = createImage(n, n);
  const c = ((n >> 1) * n + (n >> 1)) * 3;
  im.data[c] = im.data[c + 1] = im.data[c + 2] = 1;
  return im;
}

function centroid(im: Image): { x: number; y: number; mass: number } {
  let m = 0;
  let x = 0;
  let y = 0;
  for (let j = 0; j < im.height; j++) {
    for (let i = 0; i < im.width; i++) {
      const v = im.data[(j * im.width + i) * 3];
      m += v;
      x += v * i;
      y += v * j;
    }
  }
  return { x: x / m, y: y / m, mass: m };
}

describe('MB (motion blur)', () => {
  it('has 12 trajectory-length levels and records every trajectory setting', () => {
    expect(motionBlur.levels.length).toBe(12);
    const p = motionBlur.sample(5, createRng('mb'), info);
    expect(Object.keys(p).sort()).toEqual(['centripetal', 'expl', 'gaussianShake', 'initAngle', 'iters', 'length', 'level', 'probBigShake', 'seed'].sort());
    expect(p.length).toBe(20);
    expect(p.expl).toBeGreaterThanOrEqual(0.003);
    expect(p.expl).toBeLessThan(0.01);
  });

  it('different seeds give different trajectories and pixels', async () => {
    const [im] = await sampleCrops(64);
    const a = motionBlur.sample(8, createRng('x1'), info);
    const b = motionBlur.sample(8, createRng('x2'), info);
    expect(a).not.toEqual(b);
    expect(bytes(await motionBlur.apply(im, a)).equals(bytes(await motionBlur.apply(im, b)))).toBe(false);
    // the per-step noise seed alone changes the kernel
    expect(bytes(await motionBlur.apply(im, { ...a, seed: 'other' })).equals(bytes(await motionBlur.apply(im, a)))).toBe(false);
  });

  it('does not displace the image: an impulse spreads around where it was', async () => {
    const im = impulseImage(129);
    for (const seed of ['c1', 'c2', 'c3']) {
      const out = await motionBlur.apply(im, motionBlur.sample(11, createRng(seed), info));
      const c = centroid(out);
      expect(c.mass).toBeCloseTo(1, 4);
      expect(Math.abs(c.x - 64)).toBeLessThan(1e-3);
      expect(Math.abs(c.y - 64)).toBeLessThan(1e-3);
      expect(out.data[(64 * 129 + 64) * 3]).toBeLessThan(0.5);
    }
  });
});

describe('DB (defocus blur)', () => {
  it('has 10 disk radii, drawn nothing at random, and 6 depth-varying levels', () => {
    expect(defocusBlur.levels.filter((l) => l.variant === 'disk').map((l) => l.id)).toEqual([
      'disk:1', 'disk:1.5', 'disk:2', 'disk:2.5', 'disk:3', 'disk:4', 'disk:5', 'disk:6.5', 'disk:8', 'disk:10',
    ]);
    expect(defocusBlur.levels.filter((l) => l.variant === 'depth').map((l) => l.id)).toEqual(['depth:2', 'depth:3', 'depth:4', 'depth:6', 'depth:8', 'depth:10']);
    expect(defocusBlur.sample(3, createRng('a'), info)).toEqual(defocusBlur.sample(3, createRng('b'), info));
    expect(defocusBlur.sample(9, createRng('a'), info)).toEqual({ level: 'disk:10', radius: 10 });
  });

  it('spreads an impulse into the pillbox', async () => {
    const out = await defocusBlur.apply(impulseImage(41), { level: 'disk:5', radius: 5 });
    const k = diskKernel(5);
    for (let dy = -5; dy <= 5; dy++) {
      for (let dx = -5; dx <= 5; dx++) {
        expect(out.data[((20 + dy) * 41 + 20 + dx) * 3 + 1]).toBeCloseTo(k.data[(5 - dy) * 11 + (5 - dx)], 6);
      }
    }
    expect(out.data[(20 * 41 + 27) * 3]).toBe(0);
  });

  it('depth variant: focus drawn per seed; the in-focus region stays sharper than the farthest one', async () => {
    const [, im] = await sampleCrops(128);
    const level = defocusBlur.levels.findIndex((l) => l.id === 'depth:8');
    const a = defocusBlur.sample(level, createRng('f1'), info) as DepthBlurParams;
    const b = defocusBlur.sample(level, createRng('f2'), info) as DepthBlurParams;
    expect(a.focus).not.toBe(b.focus);
    expect(a.focus).toBeGreaterThanOrEqual(0.2);
    expect(a.focus).toBeLessThanOrEqual(1);
    // Mean depth of each 8x8 block of the estimate; the nearest and the farthest block.
    const depth = estimateDepth(im).data;
    const blocks: number[] = [];
    for (let by = 0; by < 16; by++) {
      for (let bx = 0; bx < 16; bx++) {
        let s = 0;
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += depth[(by * 8 + y) * 128 + bx * 8 + x];
        blocks.push(s / 64);
      }
    }
    const near = blocks.indexOf(Math.min(...blocks));
    const far = blocks.indexOf(Math.max(...blocks));
    // focus on the farthest block: the nearest block has the largest circle of confusion
    const out = await defocusBlur.apply(im, { ...a, focus: blocks[far] });
    const change = (block: number): number => {
      const cx = block % 16;
      const cy = Math.floor(block / 16);
      let s = 0;
      for (let y = cy * 8; y < cy * 8 + 8; y++) {
        for (let x = cx * 8; x < cx * 8 + 8; x++) {
          for (let c = 0; c < 3; c++) s += Math.abs(out.data[(y * 128 + x) * 3 + c] - im.data[(y * 128 + x) * 3 + c]);
        }
      }
      return s / 192;
    };
    expect(change(far)).toBeLessThan(0.5 * change(near));
    await expect(defocusBlur.apply(im, { ...a, depth: 'v0' })).rejects.toThrow(/depth must be "estimate"/);
    await expect(defocusBlur.apply(im, { ...a, focus: 2 })).rejects.toThrow(/focus/);
  });
});

describe('GB (Gaussian & sinc blur)', () => {
  it('has gaussian, generalized, plateau and sinc variants, at least 16 levels', () => {
    const variants = [...new Set(gaussianSincBlur.levels.map((l) => l.variant))];
    expect(variants).toEqual(['gaussian', 'generalized', 'plateau', 'sinc']);
    expect(gaussianSincBlur.levels.length).toBeGreaterThanOrEqual(16);
    const sinc = gaussianSincBlur.levels.filter((l) => l.variant === 'sinc').map((l) => Number(l.id.slice(5)));
    for (let i = 1; i < sinc.length; i++) expect(sinc[i]).toBeLessThan(sinc[i - 1]);
    expect(Math.min(...sinc)).toBeGreaterThanOrEqual(Math.PI / 3 - 0.01);
  });

  it('ties kernel size to strength within [7, 21] and keeps Real-ESRGAN ranges', () => {
    const rng = createRng('ranges');
    let prevSize = 0;
    for (let level = 0; level < gaussianSincBlur.levels.length; level++) {
      const def = gaussianSincBlur.levels[level];
      if (def.severity === 0) prevSize = 0;
      for (let i = 0; i < 10; i++) {
        const p = gaussianSincBlur.sample(level, rng, info) as { kernel: Record<string, number | string> };
        const k = p.kernel;
        expect(k.size).toBeGreaterThanOrEqual(7);
        expect(k.size).toBeLessThanOrEqual(21);
        expect(k.size).toBeGreaterThanOrEqual(prevSize);
        if (def.variant === 'generalized') expect((k.beta as number) >= 0.5 && (k.beta as number) <= 4).toBe(true);
        if (def.variant === 'plateau') expect((k.beta as number) >= 1 && (k.beta as number) <= 2).toBe(true);
        if (String(k.kind).endsWith('aniso')) {
          expect(k.sigmaY as number).toBeGreaterThanOrEqual(0.2);
          expect(k.sigmaY as number).toBeLessThanOrEqual(k.sigmaX as number);
        }
      }
      prevSize = (gaussianSincBlur.sample(level, rng, info) as { kernel: { size: number } }).kernel.size;
    }
  });

  it('draws both iso and aniso kernels; different seeds differ where the variant is random', async () => {
    const kinds = new Set<string>();
    for (let i = 0; i < 40; i++) kinds.add(String((gaussianSincBlur.sample(4, createRng(`k${i}`), info) as { kernel: { kind: string } }).kernel.kind));
    expect([...kinds].sort()).toEqual(['aniso', 'iso']);
    const [im] = await sampleCrops(64);
    const level = gaussianSincBlur.levels.findIndex((l) => l.id.startsWith('generalized:'));
    const a = gaussianSincBlur.sample(level + 2, createRng('g1'), info);
    const b = gaussianSincBlur.sample(level + 2, createRng('g2'), info);
    expect(a).not.toEqual(b);
    expect(bytes(await gaussianSincBlur.apply(im, a)).equals(bytes(await gaussianSincBlur.apply(im, b)))).toBe(false);
  });

  it('rejects params without a kernel', async () => {
    const [im] = await sampleCrops(64);
    await expect(gaussianSincBlur.apply(im, { level: 'gaussian:1' } as Params)).rejects.toThrow(/kernel/);
  });
});
