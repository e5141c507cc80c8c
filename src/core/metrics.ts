import { dataAddon, NATIVE_MIN_LENGTH } from './addon.js';
import { gaussianBlur, gaussianWindow } from './conv.js';
import { CHANNELS, luminance, type Image } from './image.js';

/**
 * PSNR and SSIM the way image-restoration papers report them: BasicSR's `calculate_psnr` /
 * `calculate_ssim` (basicsr/metrics/psnr_ssim.py), checked against scikit-image and a numpy
 * re-implementation of BasicSR in test/core/metrics.test.ts (see scripts/metrics-reference.py).
 *
 * Conventions:
 * - Both images are first quantized to 8 bits exactly as `toUint8` does (clamp to [0, 1], x255,
 *   round half up, NaN -> 0), because published numbers are measured on saved 8-bit images, not on
 *   the float tensors; two floats in the same 8-bit bin therefore measure as identical.
 * - Data range 255; RGB channels (or the Y channel with `test_y_channel`) in float64.
 * - `crop_border` pixels are dropped on every side before anything else, as BasicSR does.
 * - Y is BasicSR's `bgr2ycbcr(..., y_only=True)` scaled to 0..255:
 *   Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 with R, G, B the 8-bit values, not rounded.
 *   BasicSR computes it through float32; this module (like skimage's rgb2ycbcr) uses float64, which
 *   moves PSNR by < 1e-6 dB and SSIM by < 1e-7 on the reference pairs.
 * - SSIM: 11x11 Gaussian window, sigma 1.5, c1 = (0.01*255)^2, c2 = (0.03*255)^2, population
 *   (co)variances, mean of the SSIM map over the valid region only (the window never leaves the
 *   image, BasicSR's `cv2.filter2D(...)[5:-5, 5:-5]`), then mean over channels.
 */

export interface MetricOptions {
  /** Pixels removed from each edge before measuring (BasicSR `crop_border`); default 0. */
  crop_border?: number;
  /** Measure the luma (Y of YCbCr, BT.601 studio range) instead of RGB; default false. */
  test_y_channel?: boolean;
}

export interface Metrics {
  /** dB; Infinity when the quantized images are identical. */
  psnr: number;
  ssim: number;
}

const PEAK = 255;
const C1 = (0.01 * PEAK) ** 2;
const C2 = (0.03 * PEAK) ** 2;
const WIN = 11;
const RADIUS = (WIN - 1) / 2;
/** cv2.getGaussianKernel(11, 1.5): the 1-D factor of BasicSR's separable window. */
const TAPS = gaussianWindow(WIN, 1.5);

/** What is measured: the images' window after crop_border, and whether as RGB or Y. */
interface Region {
  border: number;
  width: number;
  height: number;
  yOnly: boolean;
}

/** Channel planes (3 for RGB, 1 for Y) of one image's region, values 0..255 in float64. */
interface Planes {
  width: number;
  height: number;
  a: Float64Array[];
  b: Float64Array[];
}

/** PSNR in dB (BasicSR `calculate_psnr`); Infinity for identical 8-bit images. */
export function psnr(a: Image, b: Image, options: MetricOptions = {}): number {
  return psnrOf(a, b, region('psnr', a, b, options, 1));
}

/**
 * PSNR (RGB, no border) of two 8-bit images given as equal-length byte arrays: the value psnr()
 * gives for float images that quantize to these bytes (the same integer sum, the same formula).
 */
export function psnrBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0 || a.length % CHANNELS !== 0) {
    throw new RangeError(`psnrBytes: images must be non-empty RGB byte arrays of equal length, got ${a.length} and ${b.length}`);
  }
  const se = dataAddon && a.length >= NATIVE_MIN_LENGTH ? dataAddon.squaredError(a, b) : squaredErrorJs(a, b);
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((PEAK * PEAK) / mse);
}

/** Sum of (a[i] - b[i])^2, exact; the reference for the data addon's squaredError (native/png/pixels.cc). */
export function squaredErrorJs(a: Uint8Array, b: Uint8Array): number {
  // Integer sums of at most 32768 squares (< 2^31) folded into a double: exact, and int arithmetic.
  let se = 0;
  for (let i = 0; i < a.length; ) {
    const end = Math.min(a.length, i + 32768);
    let part = 0;
    for (; i < end; i++) {
      const d = a[i] - b[i];
      part = (part + d * d) | 0;
    }
    se += part;
  }
  return se;
}

/** Mean SSIM (BasicSR `calculate_ssim`); needs at least 11x11 pixels after `crop_border`. */
export function ssim(a: Image, b: Image, options: MetricOptions = {}): number {
  return ssimOf(planesOfBoth(a, b, region('ssim', a, b, options, WIN)));
}

/** PSNR and SSIM of one pair under one set of options. */
export function measure(a: Image, b: Image, options: MetricOptions = {}): Metrics {
  const r = region('measure', a, b, options, WIN);
  return { psnr: psnrOf(a, b, r), ssim: ssimOf(planesOfBoth(a, b, r)) };
}

function region(fn: string, a: Image, b: Image, options: MetricOptions, minSide: number): Region {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`${fn}: images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  for (const [name, im] of [['a', a], ['b', b]] as const) {
    if (im.data.length !== im.width * im.height * CHANNELS) {
      throw new RangeError(`${fn}: image ${name} has ${im.data.length} values, expected ${im.width}x${im.height}x3`);
    }
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn}: options must be an object, got ${String(options)}`);
  }
  if (Math.min(a.width, a.height) < minSide) {
    throw new RangeError(`${fn}: images are ${a.width}x${a.height}; SSIM needs at least ${minSide}x${minSide} pixels`);
  }
  const border = options.crop_border ?? 0;
  const limit = Math.floor((Math.min(a.width, a.height) - minSide) / 2);
  if (!Number.isInteger(border) || border < 0 || border > limit) {
    throw new RangeError(
      `${fn}: crop_border must be an integer in 0..${limit} for a ${a.width}x${a.height} image ` +
        `(at least ${minSide}x${minSide} pixels must remain), got ${String(border)}`,
    );
  }
  const y = options.test_y_channel ?? false;
  if (typeof y !== 'boolean') {
    throw new TypeError(`${fn}: test_y_channel must be a boolean, got ${String(y)}`);
  }
  return { border, width: a.width - 2 * border, height: a.height - 2 * border, yOnly: y };
}

function planesOfBoth(a: Image, b: Image, r: Region): Planes {
  return {
    width: r.width,
    height: r.height,
    a: planesOf(a, r.border, r.width, r.height, r.yOnly),
    b: planesOf(b, r.border, r.width, r.height, r.yOnly),
  };
}

function planesOf(
  image: Image,
  border: number,
  width: number,
  height: number,
  yOnly: boolean,
): Float64Array[] {
  const d = image.data;
  const stride = image.width;
  const n = width * height;
  if (yOnly) {
    const out = new Float64Array(n);
    for (let r = 0, o = 0; r < height; r++) {
      let s = ((r + border) * stride + border) * CHANNELS;
      for (let c = 0; c < width; c++, s += CHANNELS) {
        out[o++] = luma(q8(d[s]), q8(d[s + 1]), q8(d[s + 2]));
      }
    }
    return [out];
  }
  const planes = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const [p0, p1, p2] = planes;
  for (let r = 0, o = 0; r < height; r++) {
    let s = ((r + border) * stride + border) * CHANNELS;
    for (let c = 0; c < width; c++, s += CHANNELS, o++) {
      p0[o] = q8(d[s]);
      p1[o] = q8(d[s + 1]);
      p2[o] = q8(d[s + 2]);
    }
  }
  return planes;
}

/**
 * The 8-bit value `toUint8` would store (clamp, x255, round half up, NaN -> 0), without allocating
 * its full-size buffer (test/core/metrics.test.ts checks the two agree).
 */
function q8(value: number): number {
  const v = value * 255 + 0.5;
  return v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
}

/** Straight from the float data (no planes): PSNR is what the pipeline computes for every pair. */
function psnrOf(a: Image, b: Image, r: Region): number {
  const da = a.data;
  const db = b.data;
  let se = 0;
  for (let row = 0; row < r.height; row++) {
    let s = ((row + r.border) * a.width + r.border) * CHANNELS;
    for (let c = 0; c < r.width; c++, s += CHANNELS) {
      const ra = q8(da[s]), ga = q8(da[s + 1]), ba = q8(da[s + 2]);
      const rb = q8(db[s]), gb = q8(db[s + 1]), bb = q8(db[s + 2]);
      if (r.yOnly) {
        const d = luma(ra, ga, ba) - luma(rb, gb, bb);
        se += d * d;
      } else {
        se += (ra - rb) * (ra - rb) + (ga - gb) * (ga - gb) + (ba - bb) * (ba - bb);
      }
    }
  }
  const mse = se / (r.width * r.height * (r.yOnly ? 1 : CHANNELS));
  return mse === 0 ? Infinity : 10 * Math.log10((PEAK * PEAK) / mse);
}

/** BasicSR's Y (bgr2ycbcr y_only) on 8-bit values, scaled to 0..255, unrounded. */
function luma(r: number, g: number, b: number): number {
  return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
}

function ssimOf(p: Planes): number {
  let total = 0;
  for (let ch = 0; ch < p.a.length; ch++) total += ssimPlane(p.a[ch], p.b[ch], p.width, p.height);
  return total / p.a.length;
}

/**
 * Mean SSIM map of one channel. Separable window, streamed by rows: each input row is filtered
 * horizontally into a ring of the last 11 rows, and as soon as 11 are there the vertical pass and
 * the SSIM formula run for one output row. The working set stays in cache (a few hundred KB for a
 * 512-wide image) instead of five full-size filtered planes. Only the sum sigma_x^2 + sigma_y^2
 * enters the formula, so x^2 + y^2 is filtered as one plane (linearity).
 */
function ssimPlane(x: Float64Array, y: Float64Array, width: number, height: number): number {
  const outW = width - 2 * RADIUS;
  const outH = height - 2 * RADIUS;
  const ringX = new Float64Array(WIN * outW);
  const ringY = new Float64Array(WIN * outW);
  const ringSq = new Float64Array(WIN * outW);
  const ringXy = new Float64Array(WIN * outW);
  const sq = new Float64Array(width);
  const xy = new Float64Array(width);
  const rows = new Int32Array(WIN);
  const [k0, k1, k2, k3, k4, k5] = TAPS;
  let sum = 0;
  for (let r = 0; r < height; r++) {
    const base = r * width;
    for (let c = 0; c < width; c++) {
      const a = x[base + c];
      const b = y[base + c];
      sq[c] = a * a + b * b;
      xy[c] = a * b;
    }
    const slot = (r % WIN) * outW;
    filterRow(x, base, ringX, slot, outW);
    filterRow(y, base, ringY, slot, outW);
    filterRow(sq, 0, ringSq, slot, outW);
    filterRow(xy, 0, ringXy, slot, outW);
    if (r < WIN - 1) continue;
    for (let t = 0; t < WIN; t++) rows[t] = ((r - (WIN - 1) + t) % WIN) * outW;
    const [o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10] = rows;
    for (let c = 0; c < outW; c++) {
      const mx =
        k5 * ringX[o5 + c] +
        k4 * (ringX[o4 + c] + ringX[o6 + c]) +
        k3 * (ringX[o3 + c] + ringX[o7 + c]) +
        k2 * (ringX[o2 + c] + ringX[o8 + c]) +
        k1 * (ringX[o1 + c] + ringX[o9 + c]) +
        k0 * (ringX[o0 + c] + ringX[o10 + c]);
      const my =
        k5 * ringY[o5 + c] +
        k4 * (ringY[o4 + c] + ringY[o6 + c]) +
        k3 * (ringY[o3 + c] + ringY[o7 + c]) +
        k2 * (ringY[o2 + c] + ringY[o8 + c]) +
        k1 * (ringY[o1 + c] + ringY[o9 + c]) +
        k0 * (ringY[o0 + c] + ringY[o10 + c]);
      const msq =
        k5 * ringSq[o5 + c] +
        k4 * (ringSq[o4 + c] + ringSq[o6 + c]) +
        k3 * (ringSq[o3 + c] + ringSq[o7 + c]) +
        k2 * (ringSq[o2 + c] + ringSq[o8 + c]) +
        k1 * (ringSq[o1 + c] + ringSq[o9 + c]) +
        k0 * (ringSq[o0 + c] + ringSq[o10 + c]);
      const mxy =
        k5 * ringXy[o5 + c] +
        k4 * (ringXy[o4 + c] + ringXy[o6 + c]) +
        k3 * (ringXy[o3 + c] + ringXy[o7 + c]) +
        k2 * (ringXy[o2 + c] + ringXy[o8 + c]) +
        k1 * (ringXy[o1 + c] + ringXy[o9 + c]) +
        k0 * (ringXy[o0 + c] + ringXy[o10 + c]);
      const mx2 = mx * mx;
      const my2 = my * my;
      const mxmy = mx * my;
      sum += ((2 * mxmy + C1) * (2 * (mxy - mxmy) + C2)) / ((mx2 + my2 + C1) * (msq - mx2 - my2 + C2));
    }
  }
  return sum / (outH * outW);
}

/** Horizontal pass of the window over one row, valid part only (outW = row width - 10). */
function filterRow(src: Float64Array, from: number, out: Float64Array, to: number, outW: number): void {
  const [k0, k1, k2, k3, k4, k5] = TAPS;
  for (let c = 0; c < outW; c++) {
    const s = from + c;
    // The window is symmetric: pair the taps to halve the multiplications.
    out[to + c] =
      k5 * src[s + 5] +
      k4 * (src[s + 4] + src[s + 6]) +
      k3 * (src[s + 3] + src[s + 7]) +
      k2 * (src[s + 2] + src[s + 8]) +
      k1 * (src[s + 1] + src[s + 9]) +
      k0 * (src[s] + src[s + 10]);
  }
}

/**
 * Detail retention: how much of the clean image's fine detail survives in the degraded one, as the
 * regression gain of the degraded image's high-pass band on the clean one's over luma,
 * sum(HP(d) HP(c)) / sum(HP(c)^2) with HP(x) = x - Gaussian(x, sigma 2 px), the band above about 1/12 cycle per
 * pixel (what a 1.25x to 4x loss of resolution takes away). 1 when all detail is kept, falling
 * with blur and resolution loss; noise independent of the image leaves it unchanged on average (which PSNR
 * is not: for types whose severity is a loss of resolution under random noise, this is the measure).
 */
export function detailRetention(degraded: Image, clean: Image): number {
  if (degraded.width !== clean.width || degraded.height !== clean.height) {
    throw new RangeError(`detailRetention: images differ in size: ${degraded.width}x${degraded.height} vs ${clean.width}x${clean.height}`);
  }
  const band = (im: Image): Float32Array => {
    const y = luminance(im);
    const plane = { width: im.width, height: im.height, data: new Float32Array(y.length * CHANNELS) };
    for (let i = 0; i < y.length; i++) plane.data[i * CHANNELS] = y[i];
    const low = gaussianBlur(plane, 2).data;
    const hp = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) hp[i] = y[i] - low[i * CHANNELS];
    return hp;
  };
  const d = band(degraded);
  const c = band(clean);
  let dc = 0;
  let cc = 0;
  for (let i = 0; i < c.length; i++) {
    dc += d[i] * c[i];
    cc += c[i] * c[i];
  }
  return cc > 0 ? dc / cc : 1;
}
