import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { mosaic, mosaicDemosaic, type MosaicParams } from '../../src/degradations/mosaic.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

describe('MS (mosaic)', () => {
  it('lists 16 levels in 4 variants, severity ascending within each', () => {
    expect(mosaic.id).toBe('MS');
    expect(mosaic.levels.map((l) => l.id)).toEqual([
      'malvar:1', 'malvar:1.5', 'malvar:2', 'malvar:3',
      'bilinear:1', 'bilinear:1.5', 'bilinear:2', 'bilinear:3',
      'nearest:1', 'nearest:1.5', 'nearest:2', 'nearest:3',
      'noise:2', 'noise:5', 'noise:10', 'noise:20',
    ]);
    for (const l of mosaic.levels) expect(l.severity).toBe(mosaic.levels.filter((m) => m.variant === l.variant).indexOf(l));
    expect(() => mosaic.sample(16, createRng(1), { width: 8, height: 8 })).toThrow(/MS has levels 0\.\.15/);
  });

  it('every level keeps the size (odd sizes too) and gives finite values in [0, 1]', async () => {
    const [im] = await sampleCrops(64);
    const odd = createImage(37, 23);
    odd.data.set(im.data.subarray(0, odd.data.length));
    for (const src of [im, odd]) {
      for (let level = 0; level < mosaic.levels.length; level++) {
        const out = await mosaic.apply(src, mosaic.sample(level, createRng(level), src));
        expect([out.width, out.height]).toEqual([src.width, src.height]);
        expect(out.data.every((v) => v >= 0 && v <= 1)).toBe(true);
      }
    }
  });

  it('is deterministic and replays from JSON params', async () => {
    const [im] = await sampleCrops(64);
    for (const level of [1, 6, 14]) {
      const p = mosaic.sample(level, createRng('seed'), im);
      expect(mosaic.sample(level, createRng('seed'), im)).toEqual(p);
      const a = await mosaic.apply(im, p);
      const b = await mosaic.apply(im, p);
      const c = await mosaic.apply(im, JSON.parse(JSON.stringify(p)));
      expect(bytes(a).equals(bytes(b))).toBe(true);
      expect(bytes(a).equals(bytes(c))).toBe(true);
    }
  });

  it('different seeds draw different CFA phases and noise', async () => {
    const [im] = await sampleCrops(64);
    const patterns = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => mosaic.sample(0, createRng(s), im).pattern));
    expect(patterns.size).toBeGreaterThan(1);
    const a = mosaic.sample(14, createRng(1), im);
    const b = { ...a, seed: mosaic.sample(14, createRng(2), im).seed };
    expect(b.seed).not.toBe(a.seed);
    expect(bytes(await mosaic.apply(im, a)).equals(bytes(await mosaic.apply(im, b)))).toBe(false);
  });

  it('keeps a flat colour exactly at pitch 1 without noise (only the demosaic acts)', () => {
    const flat = createImage(16, 16);
    for (let i = 0; i < flat.data.length; i += 3) flat.data.set([0.25, 0.5, 0.75], i);
    for (const level of [0, 4, 8]) {
      const p = mosaic.sample(level, createRng(level), flat) as MosaicParams;
      expect(bytes(mosaicDemosaic(flat, p)).equals(bytes(flat))).toBe(true);
    }
  });

  it('PSNR falls strictly with severity within each variant (5 photos, 2 seeds)', async () => {
    const byVariant = await meanPsnrByVariant(mosaic, await sampleCrops(128), [1, 2]);
    expectFallingWithinVariants(mosaic.id, byVariant);
    // Malvar beats bilinear beats pixel replication at full resolution.
    expect(byVariant.get('malvar')![0]).toBeGreaterThan(byVariant.get('bilinear')![0]);
    expect(byVariant.get('bilinear')![0]).toBeGreaterThan(byVariant.get('nearest')![0]);
  });

  it('validates params', async () => {
    const [im] = await sampleCrops(64);
    const p = mosaic.sample(0, createRng(1), im) as MosaicParams;
    expect(() => mosaicDemosaic(im, { ...p, pitch: 0.5 })).toThrow(/pitch must be in \[1, 8\]/);
    expect(() => mosaicDemosaic(im, { ...p, sigma: -1 })).toThrow(/sigma must be in \[0, 255\]/);
  });
});
