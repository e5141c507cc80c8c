import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { resize } from '../../src/core/resize.js';
import { demosaic, mosaic as cfaSample } from '../../src/degradations/kernels/bayer.js';
import { mosaic, mosaicDemosaic, type MosaicParams } from '../../src/degradations/mosaic.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

describe('MS (mosaic)', () => {
  it('lists 8 levels in 2 variants, severity ascending within each', () => {
    expect(mosaic.id).toBe('MS');
    expect(mosaic.levels.map((l) => l.id)).toEqual([
      'demosaic:malvar', 'demosaic:bilinear', 'demosaic:nearest',
      'noise:2', 'noise:5', 'noise:10', 'noise:15', 'noise:20',
    ]);
    for (const l of mosaic.levels) expect(l.severity).toBe(mosaic.levels.filter((m) => m.variant === l.variant).indexOf(l));
    expect(() => mosaic.sample(8, createRng(1), { width: 8, height: 8 })).toThrow(/MS has levels 0\.\.7/);
  });

  it('keeps the resolution at every level: a fine grey grating survives (no trip through a smaller grid)', async () => {
    // A grey sinusoid of period 6 px (half the CFA's red/blue Nyquist rate): every demosaic keeps most of
    // it, while a sensor even 2x coarser (area down, bicubic up) would erase it.
    const size = 96;
    const period = 6;
    const im = createImage(size, size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) im.data.fill(0.5 + 0.3 * Math.sin((2 * Math.PI * (x + 0.3 * y)) / period), (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
    const amplitude = (img: Image, c: number): number => {
      let s = 0;
      let k = 0;
      for (let y = 8; y < size - 8; y++) {
        for (let x = 8; x < size - 8; x++) {
          const phase = (2 * Math.PI * (x + 0.3 * y)) / period;
          s += (img.data[(y * size + x) * 3 + c] - 0.5) * Math.sin(phase);
          k++;
        }
      }
      return (2 * s) / k;
    };
    // the control: version 1's bilinear:2 level (area down 2x, CFA, demosaic, bicubic up) loses most of it
    const coarse = resize(im, size / 2, size / 2, 'area');
    const trip = resize(demosaic(cfaSample(coarse, 'RGGB'), size / 2, size / 2, 'RGGB', 'bilinear'), size, size, 'bicubic');
    for (let c = 0; c < 3; c++) expect(amplitude(trip, c) / 0.3).toBeLessThan(0.5);
    for (let level = 0; level < mosaic.levels.length; level++) {
      const out = await mosaic.apply(im, mosaic.sample(level, createRng(level), im));
      for (let c = 0; c < 3; c++) expect(amplitude(out, c) / 0.3, `${mosaic.levels[level].id} channel ${c}`).toBeGreaterThan(0.65);
    }
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
    for (const level of [1, 2, 6]) {
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
    const a = mosaic.sample(6, createRng(1), im);
    const b = { ...a, seed: mosaic.sample(6, createRng(2), im).seed };
    expect(b.seed).not.toBe(a.seed);
    expect(bytes(await mosaic.apply(im, a)).equals(bytes(await mosaic.apply(im, b)))).toBe(false);
  });

  it('keeps a flat colour exactly without noise (only the demosaic acts)', () => {
    const flat = createImage(16, 16);
    for (let i = 0; i < flat.data.length; i += 3) flat.data.set([0.25, 0.5, 0.75], i);
    for (const level of [0, 1, 2]) {
      const p = mosaic.sample(level, createRng(level), flat) as MosaicParams;
      expect(bytes(mosaicDemosaic(flat, p)).equals(bytes(flat))).toBe(true);
    }
  });

  it('PSNR falls strictly with severity within each variant (5 photos, 2 seeds)', async () => {
    const byVariant = await meanPsnrByVariant(mosaic, await sampleCrops(128), [1, 2]);
    expectFallingWithinVariants(mosaic.id, byVariant);
    // Malvar beats bilinear beats pixel replication.
    const [malvar, bilinear, nearest] = byVariant.get('demosaic')!;
    expect(malvar).toBeGreaterThan(bilinear);
    expect(bilinear).toBeGreaterThan(nearest);
  });

  it('validates params', async () => {
    const [im] = await sampleCrops(64);
    const p = mosaic.sample(0, createRng(1), im) as MosaicParams;
    expect(() => mosaicDemosaic(createImage(1, 5), p)).toThrow(/at least 2x2/);
    expect(() => mosaicDemosaic(im, { ...p, sigma: -1 })).toThrow(/sigma must be in \[0, 255\]/);
  });
});
