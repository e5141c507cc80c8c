import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { CHANNELS, createImage, fromUint8, toUint8, type Image } from './image.js';
import { encodePngRgb8 } from './png.js';

/** Alpha is flattened onto this colour (white, as a page or a browser shows a transparent image). */
export const DEFAULT_BACKGROUND = { r: 255, g: 255, b: 255 } as const;

/** Refuse inputs above this many pixels (decompression bombs); 100 MP covers any real photo. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface DecodeOptions {
  maxPixels?: number;
  background?: { r: number; g: number; b: number };
}

/** An input that cannot become an image: the path (or "<buffer>") and a reason a user can act on. */
export class ImageInputError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'ImageInputError';
  }
}

function explain(message: string, maxPixels: number): string {
  if (/pixel limit/i.test(message)) {
    return `image exceeds the ${maxPixels.toLocaleString('en-US')}-pixel limit (a decompression bomb or a very large scan); raise the limit or downscale it first`;
  }
  if (/unsupported image format|bad seek|corrupt|premature|truncat|VipsJpeg|read error|end of/i.test(message)) {
    return `not a readable image (${message.trim().split('\n')[0]})`;
  }
  return message.trim().split('\n')[0];
}

/** Decoded pixels as libvips hands them over: 8-bit, or 16-bit for deep inputs. */
interface DecodedRaw {
  width: number;
  height: number;
  data: Buffer;
  deep: boolean;
}

async function decodeRaw(input: string | Buffer, options: DecodeOptions): Promise<DecodedRaw> {
  const name = typeof input === 'string' ? input : '<buffer>';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let bytes: Buffer;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ImageInputError(name, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`);
    }
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw new ImageInputError(name, 'empty file (0 bytes)');
  try {
    const pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
    const meta = await pipeline.metadata();
    const deep = meta.depth === 'ushort' || meta.depth === 'short' || meta.depth === 'float' || meta.depth === 'double';
    const { data, info } = await pipeline
      .rotate()
      .flatten({ background: options.background ?? DEFAULT_BACKGROUND })
      .toColourspace(deep ? 'rgb16' : 'srgb')
      .raw(deep ? { depth: 'ushort' } : undefined)
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== CHANNELS) {
      throw new ImageInputError(name, `decoded to ${info.channels} channels, expected 3`);
    }
    return { width: info.width, height: info.height, data, deep };
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    throw new ImageInputError(name, explain(err instanceof Error ? err.message : String(err), maxPixels));
  }
}

function ushortView(data: Buffer): Uint16Array {
  return new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
}

/**
 * Decode any common format into the internal RGB float image: EXIF orientation applied,
 * ICC/CMYK converted to sRGB, alpha flattened onto `background`, greyscale expanded to RGB,
 * 16-bit inputs kept at 16-bit precision (scaled by 1/65535).
 */
export async function decodeImage(input: string | Buffer, options: DecodeOptions = {}): Promise<Image> {
  const raw = await decodeRaw(input, options);
  if (!raw.deep) return fromUint8(raw.width, raw.height, raw.data);
  const image = createImage(raw.width, raw.height);
  const out = image.data;
  const u16 = ushortView(raw.data);
  for (let i = 0; i < out.length; i++) out[i] = u16[i] / 65535;
  return image;
}

/** 8-bit RGB pixels, HWC: a quarter of the float image's memory, for sources that are only cropped. */
export interface Raster8 {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Decode like decodeImage, but keep 8-bit pixels (16-bit inputs rounded, u/257): what a training
 * pair stores anyway, so a large source costs 3 bytes a pixel in a worker instead of 12.
 */
export async function decodeRaster8(input: string | Buffer, options: DecodeOptions = {}): Promise<Raster8> {
  const raw = await decodeRaw(input, options);
  if (!raw.deep) return { width: raw.width, height: raw.height, data: raw.data };
  const u16 = ushortView(raw.data);
  const data = new Uint8Array(u16.length);
  for (let i = 0; i < u16.length; i++) data[i] = Math.floor(u16[i] / 257 + 0.5);
  return { width: raw.width, height: raw.height, data };
}

/** A w x h window of an 8-bit raster, copied into its own raster (its bytes in `out` when given). */
export function cropRasterBytes(raster: Raster8, x: number, y: number, width: number, height: number, out?: Uint8Array): Raster8 {
  if (x < 0 || y < 0 || x + width > raster.width || y + height > raster.height) {
    throw new RangeError(`crop ${width}x${height}+${x}+${y} does not fit inside the ${raster.width}x${raster.height} image`);
  }
  const rowLen = width * CHANNELS;
  const data = out ?? new Uint8Array(height * rowLen);
  if (data.length !== height * rowLen) throw new RangeError(`cropRasterBytes: out has ${data.length} bytes, the crop ${height * rowLen}`);
  for (let r = 0; r < height; r++) {
    const src = ((y + r) * raster.width + x) * CHANNELS;
    data.set(raster.data.subarray(src, src + rowLen), r * rowLen);
  }
  return { width, height, data };
}

/** An 8-bit raster as a float image (values exactly k/255), into `into` when given. */
export function rasterToImage(raster: Raster8, into?: Float32Array): Image {
  return fromUint8(raster.width, raster.height, raster.data, into);
}

/** A w x h window of an 8-bit raster as a float image (values exactly k/255). */
export function cropRaster8(raster: Raster8, x: number, y: number, width: number, height: number): Image {
  return rasterToImage(cropRasterBytes(raster, x, y, width, height));
}

/** Width and height without decoding pixels (orientation applied), or an ImageInputError. */
export async function probeImage(path: string, options: DecodeOptions = {}): Promise<{ width: number; height: number }> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  try {
    const meta = await sharp(path, { limitInputPixels: maxPixels }).metadata();
    if (!meta.width || !meta.height) throw new ImageInputError(path, 'image has no size');
    if (meta.width * meta.height > maxPixels) throw new ImageInputError(path, explain('pixel limit', maxPixels));
    const swap = (meta.orientation ?? 1) >= 5;
    return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    throw new ImageInputError(path, explain(err instanceof Error ? err.message : String(err), maxPixels));
  }
}

/**
 * 8-bit RGB PNG by png.ts: the bytes depend on the pixels and `level` alone (0 stored, 1 runs,
 * 2..9 LZ77 with longer searches), on every machine and whatever libvips or zlib is installed.
 * Level 1, the default, is also the smallest for photographs (deflate.ts).
 */
export function encodePngSync(image: Image, level = 1): Buffer {
  return encodePngRgb8(toUint8(image), image.width, image.height, level);
}

/** encodePngSync for callers that await (kept asynchronous for them). */
export async function encodePng(image: Image, level = 1): Promise<Buffer> {
  return encodePngSync(image, level);
}

/** 8-bit RGB view of raw bytes, used where a degradation goes through a real codec. */
export function rawInput(image: Image): sharp.Sharp {
  return sharp(toUint8(image), { raw: { width: image.width, height: image.height, channels: CHANNELS } });
}

/** Decode a raw 8-bit RGB buffer that sharp produced back into an Image. */
export function imageFromRaw(data: Buffer, width: number, height: number): Image {
  return fromUint8(width, height, data);
}
