import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropRaster8, cropRasterBytes, decodeImage, decodeRaster8, encodePng, ImageInputError, probeImage, rasterToImage } from '../../src/core/io.js';
import { cropImage, quantizeInPlace, toUint8 } from '../../src/core/image.js';
import { samplePaths } from '../support/samples.js';
import { pngBomb, tempDir } from '../support/files.js';

const dir = tempDir();
const chelsea = samplePaths().find((p) => p.endsWith('chelsea.png')) as string;

async function rejects(input: string | Buffer, reason: RegExp): Promise<ImageInputError> {
  const err = await decodeImage(input).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageInputError);
  expect((err as ImageInputError).message).toMatch(reason);
  return err as ImageInputError;
}

describe('decodeImage: awkward but valid inputs', () => {
  it('decodes 8-bit RGB to [0,1] floats', async () => {
    const im = await decodeImage(chelsea);
    expect([im.width, im.height]).toEqual([451, 300]);
    const raw = await sharp(chelsea).raw().toBuffer();
    expect(im.data[0]).toBeCloseTo(raw[0] / 255, 7);
    expect(im.data[1000]).toBeCloseTo(raw[1000] / 255, 7);
  });

  it('keeps 16-bit precision (scaled by 1/65535)', async () => {
    const path = join(dir, 'deep.png');
    const px = new Uint16Array([32768, 1000, 65535, 0, 12345, 54321]);
    await sharp(px, { raw: { width: 2, height: 1, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(path);
    const im = await decodeImage(path);
    expect(im.data[0]).toBeCloseTo(32768 / 65535, 6);
    expect(im.data[1]).toBeCloseTo(1000 / 65535, 6); // an 8-bit path would give 0 or 1/255
    expect(im.data[4]).toBeCloseTo(12345 / 65535, 6);
  });

  it('expands greyscale (8- and 16-bit) to three equal channels', async () => {
    for (const [name, space] of [['g8.png', 'b-w'], ['g16.png', 'grey16']] as const) {
      const path = join(dir, name);
      await sharp(chelsea).greyscale().toColourspace(space).png().toFile(path);
      const im = await decodeImage(path);
      expect(im.data.length).toBe(451 * 300 * 3);
      for (const i of [0, 3000, 99999]) {
        expect(im.data[i * 3]).toBe(im.data[i * 3 + 1]);
        expect(im.data[i * 3 + 1]).toBe(im.data[i * 3 + 2]);
      }
    }
  });

  it('flattens alpha onto white', async () => {
    const path = join(dir, 'rgba.png');
    const px = Buffer.from([255, 0, 0, 0, 0, 0, 255, 255, 0, 255, 0, 128]);
    await sharp(px, { raw: { width: 3, height: 1, channels: 4 } }).png().toFile(path);
    const im = await decodeImage(path);
    expect(Array.from(im.data.slice(0, 3))).toEqual([1, 1, 1]); // transparent -> background
    expect(Array.from(im.data.slice(3, 6))).toEqual([0, 0, 1]); // opaque blue stays
    expect(im.data[7]).toBeGreaterThan(0.49); // half-transparent green over white
    expect(im.data[6]).toBeGreaterThan(0.45);
  });

  it('converts CMYK to sRGB', async () => {
    const path = join(dir, 'cmyk.jpg');
    await sharp(chelsea).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(path);
    const [im, ref] = [await decodeImage(path), await decodeImage(chelsea)];
    expect(im.data.length).toBe(ref.data.length);
    let diff = 0;
    for (let i = 0; i < ref.data.length; i++) diff += Math.abs(im.data[i] - ref.data[i]);
    expect(diff / ref.data.length).toBeLessThan(0.08); // same picture, colour-managed round trip
  });

  it('applies EXIF orientation', async () => {
    const path = join(dir, 'rotated.jpg');
    await sharp(chelsea).jpeg().withMetadata({ orientation: 6 }).toFile(path);
    const im = await decodeImage(path);
    expect([im.width, im.height]).toEqual([300, 451]);
    expect(await probeImage(path)).toEqual({ width: 300, height: 451 });
  });

  it('reads webp and tiff', async () => {
    for (const fmt of ['webp', 'tiff'] as const) {
      const path = join(dir, `a.${fmt}`);
      await sharp(chelsea)[fmt]().toFile(path);
      const im = await decodeImage(path);
      expect([im.width, im.height]).toEqual([451, 300]);
    }
  });
});

describe('decodeImage: unusable inputs give a clear ImageInputError', () => {
  it('missing file', async () => {
    const err = await rejects(join(dir, 'nope.png'), /file not found/);
    expect(err.path).toContain('nope.png');
  });
  it('empty file', async () => {
    const path = join(dir, 'empty.png');
    writeFileSync(path, '');
    await rejects(path, /empty file/);
  });
  it('not an image', async () => {
    const path = join(dir, 'text.png');
    writeFileSync(path, 'hello, I am text\n');
    await rejects(path, /not a readable image/);
  });
  it('truncated file', async () => {
    const path = join(dir, 'truncated.png');
    const full = readFileSync(chelsea);
    writeFileSync(path, full.subarray(0, full.length >> 1));
    const err = await rejects(path, /truncated.png/);
    expect(err.reason.length).toBeGreaterThan(5);
  });
  it('pixel bomb, refused before any allocation', async () => {
    const path = join(dir, 'bomb.png');
    writeFileSync(path, pngBomb(60000, 60000));
    await rejects(path, /pixel limit/);
    await expect(probeImage(path)).rejects.toThrow(/pixel limit/);
  });
  it('a lower limit refuses a real photo', async () => {
    await expect(decodeImage(chelsea, { maxPixels: 1000 })).rejects.toThrow(/1,000-pixel limit/);
  });
});

describe('encodePng', () => {
  it('gives identical bytes for identical pixels and round-trips the quantized image', async () => {
    const im = await decodeImage(chelsea);
    const a = await encodePng(im);
    const b = await encodePng({ ...im, data: im.data.slice() });
    expect(a.equals(b)).toBe(true);
    const back = await decodeImage(a);
    expect(Buffer.from(toUint8(back)).equals(Buffer.from(toUint8(quantizeInPlace({ ...im, data: im.data.slice() }))))).toBe(true);
    const meta = await sharp(a).metadata();
    expect([meta.format, meta.channels, meta.depth]).toEqual(['png', 3, 'uchar']);
  });
});

describe('decodeRaster8 / cropRaster8', () => {
  it('crops the same pixels as the float decode, quantized, at a quarter of the memory', async () => {
    const [raster, image] = [await decodeRaster8(chelsea), await decodeImage(chelsea)];
    expect(raster.data.length).toBe(image.data.length);
    const a = cropRaster8(raster, 17, 9, 40, 30);
    const b = quantizeInPlace(cropImage(image, 17, 9, 40, 30));
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
  });

  it("rasterToImage into a reused buffer: the caller's array, refilled with the same floats as a fresh one", async () => {
    const raster = await decodeRaster8(chelsea);
    const into = new Float32Array(40 * 30 * 3).fill(Number.NaN);
    for (const [x, y] of [[17, 9], [101, 55]]) {
      const crop = cropRasterBytes(raster, x, y, 40, 30);
      const reused = rasterToImage(crop, into);
      expect(reused.data).toBe(into);
      expect(Buffer.from(into.buffer).equals(Buffer.from(rasterToImage(crop).data.buffer))).toBe(true);
    }
    expect(() => rasterToImage(cropRasterBytes(raster, 0, 0, 40, 30), new Float32Array(10))).toThrow(/expected 3600/);
  });

  it('rounds 16-bit inputs to the nearest 8-bit level', async () => {
    const path = join(dir, 'deep8.png');
    await sharp(new Uint16Array([0, 128, 129, 385, 65535, 32896]), { raw: { width: 2, height: 1, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(path);
    expect(Array.from((await decodeRaster8(path)).data)).toEqual([0, 0, 1, 1, 255, 128]);
  });

  it('refuses a crop outside the raster and the same bad inputs as decodeImage', async () => {
    const raster = await decodeRaster8(chelsea);
    expect(() => cropRaster8(raster, 440, 0, 20, 20)).toThrow(/does not fit/);
    const path = join(dir, 'bomb8.png');
    writeFileSync(path, pngBomb());
    await expect(decodeRaster8(path)).rejects.toThrow(/pixel limit/);
  });
});
