import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { CHANNELS, createImage, toUint8, type Image } from './image.js';

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

/**
 * Decode any common format into the internal RGB float image: EXIF orientation applied,
 * ICC/CMYK converted to sRGB, alpha flattened onto `background`, greyscale expanded to RGB,
 * 16-bit inputs kept at 16-bit precision (scaled by 1/65535).
 */
export async function decodeImage(input: string | Buffer, options: DecodeOptions = {}): Promise<Image> {
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
    const image = createImage(info.width, info.height);
    const out = image.data;
    if (deep) {
      const u16 = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = u16[i] / 65535;
    } else {
      for (let i = 0; i < out.length; i++) out[i] = data[i] / 255;
    }
    return image;
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    throw new ImageInputError(name, explain(err instanceof Error ? err.message : String(err), maxPixels));
  }
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

/** 8-bit RGB PNG with fixed settings, so equal pixels always give equal bytes. */
export async function encodePng(image: Image, compressionLevel = 6): Promise<Buffer> {
  return sharp(toUint8(image), { raw: { width: image.width, height: image.height, channels: CHANNELS } })
    .png({ compressionLevel, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** 8-bit RGB view of raw bytes, used where a degradation goes through a real codec. */
export function rawInput(image: Image): sharp.Sharp {
  return sharp(toUint8(image), { raw: { width: image.width, height: image.height, channels: CHANNELS } });
}

/** Decode a raw 8-bit RGB buffer that sharp produced back into an Image. */
export function imageFromRaw(data: Buffer, width: number, height: number): Image {
  const image = createImage(width, height);
  const out = image.data;
  for (let i = 0; i < out.length; i++) out[i] = data[i] / 255;
  return image;
}
