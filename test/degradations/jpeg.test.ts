import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/random.js';
import { psnr } from '../../src/core/metrics.js';
import { jpeg, jpegRoundTrip, JPEG_QUALITIES } from '../../src/degradations/jpeg.js';
import { createImage, type Image } from '../../src/core/image.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

describe('J (jpeg)', () => {
  it('has the quality steps as levels, ids quality:Q, severity ascending', () => {
    expect(jpeg.id).toBe('J');
    expect(jpeg.levels.map((l) => l.id)).toEqual(JPEG_QUALITIES.map((q) => `quality:${q}`));
    expect(jpeg.levels.map((l) => l.severity)).toEqual(JPEG_QUALITIES.map((_, i) => i));
    expect(() => jpeg.sample(JPEG_QUALITIES.length, createRng(1), { width: 8, height: 8 })).toThrow(new RegExp(`levels 0\\.\\.${JPEG_QUALITIES.length - 1}`));
  });

  it('every level keeps the size, gives finite 8-bit values, and differs from the input', async () => {
    const [im] = await sampleCrops(64);
    for (let level = 0; level < jpeg.levels.length; level++) {
      const params = jpeg.sample(level, createRng(level), im);
      const out = await jpeg.apply(im, params);
      expect([out.width, out.height]).toEqual([64, 64]);
      expect(out.data.every((v) => Number.isFinite(v) && Math.abs(v * 255 - Math.round(v * 255)) < 1e-4)).toBe(true);
      expect(bytes(out).equals(bytes(im))).toBe(false);
    }
  });

  it('is deterministic, replays from JSON, and draws nothing at random (the codec is not random)', async () => {
    const [im] = await sampleCrops(64);
    const a = jpeg.sample(6, createRng('a'), im);
    expect(jpeg.sample(6, createRng('a'), im)).toEqual(a);
    expect(jpeg.sample(6, createRng('b'), im)).toEqual(a);
    expect(a).toEqual({ level: 'quality:30', quality: 30 });
    const out1 = await jpeg.apply(im, a);
    const out2 = await jpeg.apply(im, a);
    const replay = await jpeg.apply(im, JSON.parse(JSON.stringify(a)));
    expect(bytes(out1).equals(bytes(out2))).toBe(true);
    expect(bytes(out1).equals(bytes(replay))).toBe(true);
  });

  it('PSNR falls strictly as quality falls (5 photos, 2 seeds)', async () => {
    const byVariant = await meanPsnrByVariant(jpeg, await sampleCrops(128), [1, 2]);
    expectFallingWithinVariants(jpeg.id, byVariant);
    expect(byVariant.get(jpeg.levels[0].variant)![0]).toBeGreaterThan(30);
  });

  it('jpegRoundTrip validates quality and is near-lossless at 100', async () => {
    const [im] = await sampleCrops(64);
    await expect(jpegRoundTrip(im, 0)).rejects.toThrow(/quality must be an integer in 1\.\.100/);
    await expect(jpegRoundTrip(im, 50.5)).rejects.toThrow(/quality must be an integer/);
    expect(psnr(await jpegRoundTrip(im, 100), im)).toBeGreaterThan(38);
  });

  it('shows 8x8 block structure at low quality: a flat-in-block gradient stays flat per block', async () => {
    // A smooth horizontal ramp at quality 10 is coded as nearly constant DCT blocks: the jump in
    // value between columns 7 and 8 (a block edge) exceeds the jumps inside blocks.
    const im = createImage(64, 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 64; x++) im.data.fill(x / 80 + 0.1, (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
    const out = await jpegRoundTrip(im, 10);
    const g = (x: number) => out.data[(4 * 64 + x) * 3 + 1];
    let edge = 0;
    let inner = 0;
    for (let b = 1; b < 8; b++) {
      edge += Math.abs(g(8 * b) - g(8 * b - 1));
      inner += Math.abs(g(8 * b + 4) - g(8 * b + 3));
    }
    expect(edge).toBeGreaterThan(inner);
  });
});
