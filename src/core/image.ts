import { dataAddon, NATIVE_MIN_LENGTH } from './addon.js';

/**
 * The internal image: 3-channel RGB, interleaved (HWC), Float32, nominal range [0, 1].
 *
 * Why float: composite degradations (BLN, LHRS, DNBJ ...) chain up to four operators; as in
 * BasicSR/Real-ESRGAN, intermediate results stay in float and are quantized once, when encoded.
 * Values may leave [0, 1] between operators; `toUint8` clamps and rounds.
 */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export const CHANNELS = 3;

export function createImage(width: number, height: number, data?: Float32Array): Image {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  const length = width * height * CHANNELS;
  if (data && data.length !== length) {
    throw new RangeError(`image data has ${data.length} values, expected ${length} for ${width}x${height}x3`);
  }
  return { width, height, data: data ?? new Float32Array(length) };
}

export function cloneImage(image: Image): Image {
  return { width: image.width, height: image.height, data: image.data.slice() };
}

/** Same size as `image`, zero-filled. */
export function blankLike(image: Image): Image {
  return createImage(image.width, image.height);
}

/** k / 255 as float32 for every byte k: a lookup instead of a division per value (the same floats). */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** Bytes as a float image (values exactly k/255); into `into` when given (a caller's reused buffer of the right length). */
export function fromUint8(width: number, height: number, rgb: Uint8Array | Uint8ClampedArray, into?: Float32Array): Image {
  const out = createImage(width, height, into);
  const d = out.data;
  if (rgb.length !== d.length) throw new RangeError(`fromUint8: ${rgb.length} bytes for a ${width}x${height}x3 image`);
  if (dataAddon && d.length >= NATIVE_MIN_LENGTH && rgb instanceof Uint8Array) dataAddon.unitFromBytes(rgb, d);
  else unitFromBytesJs(rgb, d);
  return out;
}

/*
 * The loops below are the reference for native/png/pixels.cc, which runs them where the data addon
 * is built (addon.ts); test/core/addon.test.ts checks the two give the same values.
 */

/** out[i] = bytes[i] / 255 as float32. */
export function unitFromBytesJs(rgb: Uint8Array | Uint8ClampedArray, d: Float32Array): void {
  for (let i = 0; i < d.length; i++) d[i] = BYTE_TO_UNIT[rgb[i]];
}

/**
 * Clamp to [0, 1], scale to 0..255 and round half up: the one place float becomes 8-bit. Into
 * `out` when given (a caller's reused buffer of the same length).
 */
export function toUint8(image: Image, out: Uint8Array = new Uint8Array(image.data.length)): Uint8Array {
  const d = image.data;
  if (out.length !== d.length) throw new RangeError(`toUint8: out has ${out.length} bytes, the image ${d.length} values`);
  if (dataAddon && d.length >= NATIVE_MIN_LENGTH) dataAddon.bytesFromUnit(d, out);
  else bytesFromUnitJs(d, out);
  return out;
}

/** toUint8's loop: clamp, x255, round half up; NaN -> 0. */
export function bytesFromUnitJs(d: Float32Array, out: Uint8Array): void {
  for (let i = 0; i < d.length; i++) {
    const v = d[i] * 255 + 0.5;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v; // NaN -> 0 via the typed-array store
  }
}

/**
 * Round-trip through 8-bit in place (what a camera or codec stage does between operators): clamp,
 * round half up. Integer truncation of v*255+0.5 equals Math.round there and is ~4x faster; NaN -> 0.
 */
export function quantizeInPlace(image: Image): Image {
  if (dataAddon && image.data.length >= NATIVE_MIN_LENGTH) dataAddon.quantizeUnit(image.data);
  else quantizeUnitJs(image.data);
  return image;
}

/** quantizeInPlace's loop. */
export function quantizeUnitJs(d: Float32Array): void {
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    d[i] = BYTE_TO_UNIT[(v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + 0.5) | 0];
  }
}

/** Clamp in place; NaN stays NaN. */
export function clampInPlace(image: Image, lo = 0, hi = 1): Image {
  const d = image.data;
  if (lo === 0 && hi === 1) {
    if (dataAddon && d.length >= NATIVE_MIN_LENGTH) dataAddon.clampUnit(d);
    else clampUnitJs(d);
    return image;
  }
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    d[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return image;
}

/** clampInPlace's loop for [0, 1] (literal bounds let V8 run it ~3x faster than the general one). */
export function clampUnitJs(d: Float32Array): void {
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

export function cropImage(image: Image, x: number, y: number, width: number, height: number): Image {
  if (x < 0 || y < 0 || x + width > image.width || y + height > image.height) {
    throw new RangeError(
      `crop ${width}x${height}+${x}+${y} does not fit inside the ${image.width}x${image.height} image`,
    );
  }
  const out = createImage(width, height);
  const rowLen = width * CHANNELS;
  for (let r = 0; r < height; r++) {
    const src = ((y + r) * image.width + x) * CHANNELS;
    out.data.set(image.data.subarray(src, src + rowLen), r * rowLen);
  }
  return out;
}

/** Luma (BT.601) of one image as a single-channel plane. */
export function luminance(image: Image): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(n);
  const d = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = 0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2];
  return out;
}
