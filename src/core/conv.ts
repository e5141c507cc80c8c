import { CHANNELS, createImage, type Image } from './image.js';

/** A square, odd-sized 2-D kernel, row-major; `data[(r + dy) * size + (r + dx)]` weights offset (dx, dy). */
export interface Kernel {
  readonly size: number;
  readonly data: Float32Array;
}

export function createKernel(size: number, data?: Float32Array | number[]): Kernel {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new RangeError(`kernel size must be odd and >= 1, got ${size}`);
  const d = data ? Float32Array.from(data) : new Float32Array(size * size);
  if (d.length !== size * size) throw new RangeError(`kernel of size ${size} needs ${size * size} weights, got ${d.length}`);
  return { size, data: d };
}

/** Scale weights to sum to 1 (a blur keeps mean brightness). */
export function normalizeKernel(kernel: Kernel): Kernel {
  let s = 0;
  for (const v of kernel.data) s += v;
  if (s === 0) throw new RangeError('kernel weights sum to zero');
  return { size: kernel.size, data: kernel.data.map((v) => v / s) };
}

/** Reflect-101 index (cv2.BORDER_REFLECT_101, torch 'reflect'): -1 -> 1, n -> n - 2. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/** Pad by `r` on every side with reflect-101 borders; returns the padded data and its width. */
export function padReflect(image: Image, r: number): { data: Float32Array; width: number; height: number } {
  const { width, height, data } = image;
  const pw = width + 2 * r;
  const ph = height + 2 * r;
  const out = new Float32Array(pw * ph * CHANNELS);
  const cols = new Int32Array(pw);
  for (let x = 0; x < pw; x++) cols[x] = reflectIndex(x - r, width) * CHANNELS;
  for (let y = 0; y < ph; y++) {
    const srcRow = reflectIndex(y - r, height) * width * CHANNELS;
    let o = y * pw * CHANNELS;
    for (let x = 0; x < pw; x++, o += 3) {
      const s = srcRow + cols[x];
      out[o] = data[s];
      out[o + 1] = data[s + 1];
      out[o + 2] = data[s + 2];
    }
  }
  return { data: out, width: pw, height: ph };
}

/** 1-D horizontal pass with reflect-101 borders; `taps` has odd length, centred. */
export function convolveRows(image: Image, taps: Float32Array | readonly number[]): Image {
  const { width, height, data } = image;
  const k = taps.length;
  const r = (k - 1) >> 1;
  const out = createImage(width, height);
  const o = out.data;
  const line = new Float32Array((width + 2 * r) * CHANNELS);
  const w = Float32Array.from(taps);
  for (let y = 0; y < height; y++) {
    const base = y * width * CHANNELS;
    for (let x = -r; x < width + r; x++) {
      const s = base + reflectIndex(x, width) * CHANNELS;
      const d = (x + r) * CHANNELS;
      line[d] = data[s];
      line[d + 1] = data[s + 1];
      line[d + 2] = data[s + 2];
    }
    for (let x = 0; x < width; x++) {
      let a = 0;
      let b = 0;
      let c = 0;
      let p = x * CHANNELS;
      for (let t = 0; t < k; t++, p += 3) {
        const wt = w[t];
        a += wt * line[p];
        b += wt * line[p + 1];
        c += wt * line[p + 2];
      }
      const q = base + x * CHANNELS;
      o[q] = a;
      o[q + 1] = b;
      o[q + 2] = c;
    }
  }
  return out;
}

/** 1-D vertical pass with reflect-101 borders. */
export function convolveColumns(image: Image, taps: Float32Array | readonly number[]): Image {
  const { width, height, data } = image;
  const k = taps.length;
  const r = (k - 1) >> 1;
  const out = createImage(width, height);
  const o = out.data;
  const rowLen = width * CHANNELS;
  const w = Float32Array.from(taps);
  const rows = new Int32Array(k);
  for (let y = 0; y < height; y++) {
    for (let t = 0; t < k; t++) rows[t] = reflectIndex(y + t - r, height) * rowLen;
    const ob = y * rowLen;
    for (let t = 0; t < k; t++) {
      const wt = w[t];
      if (wt === 0) continue;
      const sb = rows[t];
      for (let i = 0; i < rowLen; i++) o[ob + i] += wt * data[sb + i];
    }
  }
  return out;
}

export function convolveSeparable(image: Image, horizontal: Float32Array | readonly number[], vertical: Float32Array | readonly number[]): Image {
  return convolveColumns(convolveRows(image, horizontal), vertical);
}

/**
 * Full 2-D convolution (correlation, as cv2.filter2D and BasicSR's filter2D), reflect-101 borders.
 * Only non-zero taps are visited, so sparse kernels (motion trajectories) cost what they hold.
 */
export function convolve2d(image: Image, kernel: Kernel): Image {
  const { width, height } = image;
  const size = kernel.size;
  const r = (size - 1) >> 1;
  const padded = padReflect(image, r);
  const p = padded.data;
  const prow = padded.width * CHANNELS;
  const offsets: number[] = [];
  const weights: number[] = [];
  for (let ky = 0; ky < size; ky++) {
    for (let kx = 0; kx < size; kx++) {
      const wt = kernel.data[ky * size + kx];
      if (wt !== 0) {
        offsets.push(ky * prow + kx * CHANNELS);
        weights.push(wt);
      }
    }
  }
  const off = Int32Array.from(offsets);
  const wts = Float32Array.from(weights);
  const n = off.length;
  const out = createImage(width, height);
  const o = out.data;
  for (let y = 0; y < height; y++) {
    const pb = y * prow;
    let q = y * width * CHANNELS;
    for (let x = 0; x < width; x++, q += 3) {
      const base = pb + x * CHANNELS;
      let a = 0;
      let b = 0;
      let c = 0;
      for (let t = 0; t < n; t++) {
        const s = base + off[t];
        const wt = wts[t];
        a += wt * p[s];
        b += wt * p[s + 1];
        c += wt * p[s + 2];
      }
      o[q] = a;
      o[q + 1] = b;
      o[q + 2] = c;
    }
  }
  return out;
}

/** Normalized 1-D Gaussian taps of odd length `size`. */
export function gaussianTaps(sigma: number, size = 2 * Math.ceil(3 * sigma) + 1): Float32Array {
  const r = (size - 1) >> 1;
  const taps = new Float32Array(size);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    taps[i + r] = v;
    s += v;
  }
  for (let i = 0; i < size; i++) taps[i] /= s;
  return taps;
}

export function gaussianBlur(image: Image, sigma: number): Image {
  if (sigma <= 0) return { width: image.width, height: image.height, data: image.data.slice() };
  const taps = gaussianTaps(sigma);
  return convolveSeparable(image, taps, taps);
}
