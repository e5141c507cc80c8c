import zlib from 'node:zlib';
import { dataAddon } from './addon.js';
import { zlibCompress } from './deflate.js';

/**
 * An 8-bit RGB PNG writer whose bytes depend on the pixels and the level only (see deflate.ts for
 * why not zlib or libvips): signature, IHDR, one IDAT, IEND, and nothing else (no gamma, no
 * colour profile, no time stamp).
 *
 * Every row uses the Average filter (type 3): one add and one shift per byte, and a fixed filter
 * keeps the bytes free of any heuristic's tie-breaks. Measured by scripts/png-filters.mjs on pairs from `synthesize` (256x256,
 * level 1, 120 pairs of the six cheap types / 190 of all 19): no filter 153% / 151% of Average's
 * size, Sub 105% / 106%, Up 103% / 103%, Paeth 98% / 97.5%, libpng's per-row adaptive choice 96% /
 * 96%. Paeth and adaptive would save 2-4% of the bytes for several times the filter's cost.
 *
 * Levels 0 and 1 (what datasets use) also have a C++ twin, native/png/png.cc in the data addon
 * (addon.ts), built by `npm run build` where a C++ compiler exists: the same algorithm step for
 * step, so the same bytes, about four times faster. Which one ran never shows in the output;
 * UIRGEN_PNG=js forces this file's, UIRGEN_PNG=native refuses to run without the addon.
 */

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const FILTER_AVERAGE = 3;
const CHANNELS = 3;

const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}

function crc32Js(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** CRC-32 (ISO 3309, as PNG chunks use): node:zlib's where it has one (Node >= 20.15), else a table. */
const crc32: (data: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (data) => (zlib as unknown as { crc32(d: Uint8Array): number }).crc32(data) : crc32Js;

export { crc32Js as crc32Reference };

/** The rows of the image, each prefixed by its filter type, as the IDAT stream carries them. */
let filtered = new Uint8Array(0);

/**
 * Average-filter rows of `pixels` into `filtered`: out = x - floor((left + up) / 2), left and up
 * taken as 0 outside the image.
 */
function filterRows(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const rowBytes = width * CHANNELS;
  const stride = rowBytes;
  const size = height * (rowBytes + 1);
  if (filtered.length < size) filtered = new Uint8Array(size);
  const out = filtered;
  for (let y = 0; y < height; y++) {
    const o = y * (rowBytes + 1);
    const r = y * stride;
    out[o] = FILTER_AVERAGE;
    if (y === 0) {
      for (let i = 0; i < CHANNELS; i++) out[o + 1 + i] = pixels[r + i];
      for (let i = CHANNELS; i < rowBytes; i++) out[o + 1 + i] = (pixels[r + i] - (pixels[r + i - CHANNELS] >> 1)) & 0xff;
      continue;
    }
    const u = r - stride;
    for (let i = 0; i < CHANNELS; i++) out[o + 1 + i] = (pixels[r + i] - (pixels[u + i] >> 1)) & 0xff;
    for (let i = CHANNELS; i < rowBytes; i++) {
      out[o + 1 + i] = (pixels[r + i] - ((pixels[r + i - CHANNELS] + pixels[u + i]) >> 1)) & 0xff;
    }
  }
  return out.subarray(0, size);
}

/** The filtered scanlines (filter byte + Average residuals per row) as a new array: for benchmarks. */
export function filterAverage(pixels: Uint8Array, width: number, height: number): Uint8Array {
  return filterRows(pixels, width, height).slice();
}

function writeUint32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** Write one chunk (length, type, data, CRC over type and data) at `at`; returns the next offset. */
function writeChunk(out: Uint8Array, at: number, type: string, data: Uint8Array): number {
  writeUint32(out, at, data.length);
  for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
  out.set(data, at + 8);
  writeUint32(out, at + 8 + data.length, crc32(out.subarray(at + 4, at + 8 + data.length)));
  return at + 12 + data.length;
}

/** The addon's PNG writer, where the addon loaded on a little-endian host. */
const nativeEncode = dataAddon?.encodePngRgb8 ?? null;

/** Which encoder levels 0 and 1 use in this process (the bytes are the same either way). */
export function pngEncoder(): 'native' | 'js' {
  return nativeEncode ? 'native' : 'js';
}

/** PNG (8-bit RGB, no interlace) of HWC pixels. `level` is the deflate level (deflate.ts: 0 stored, 1 runs, 2..9 LZ77). */
export function encodePngRgb8(pixels: Uint8Array, width: number, height: number, level = 1): Buffer {
  if (nativeEncode && (level === 0 || level === 1) && pixels instanceof Uint8Array) {
    checkPngArgs(pixels, width, height);
    return nativeEncode(pixels, width, height, level);
  }
  return encodePngRgb8Js(pixels, width, height, level);
}

function checkPngArgs(pixels: Uint8Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`);
  }
  if (pixels.length !== width * height * CHANNELS) {
    throw new RangeError(`pixels (${pixels.length} bytes) do not hold a ${width}x${height} RGB image`);
  }
}

/** encodePngRgb8 by this file's code alone (the reference the native twin is tested against). */
export function encodePngRgb8Js(pixels: Uint8Array, width: number, height: number, level = 1): Buffer {
  checkPngArgs(pixels, width, height);
  const idat = zlibCompress(filterRows(pixels, width, height), level);
  const ihdr = new Uint8Array(13);
  writeUint32(ihdr, 0, width);
  writeUint32(ihdr, 4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  // compression 0 (deflate), filter method 0, interlace 0
  const out = Buffer.allocUnsafe(SIGNATURE.length + 25 + 12 + idat.length + 12);
  out.set(SIGNATURE, 0);
  let at = writeChunk(out, SIGNATURE.length, 'IHDR', ihdr);
  at = writeChunk(out, at, 'IDAT', idat);
  writeChunk(out, at, 'IEND', new Uint8Array(0));
  return out;
}
