/**
 * Edge-aware filters on single-channel planes (row-major Float32Array, `width` x `height`): the box
 * mean, the min filter of the dark channel, and He et al.'s guided filter ("Guided Image Filtering",
 * ECCV 2010 / TPAMI 2013) with its fast, subsampled form (He & Sun, arXiv 1505.00996, 2015).
 * Pure functions: each returns a new plane.
 */

/** A single-channel image. */
export interface Plane {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

function checkPlane(p: Plane, what: string): void {
  if (!Number.isInteger(p.width) || !Number.isInteger(p.height) || p.width < 1 || p.height < 1 || p.data.length !== p.width * p.height) {
    throw new RangeError(`${what} must be a width x height plane, got ${p.width}x${p.height} with ${p.data.length} values`);
  }
}

function checkRadius(r: number): void {
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`filter radius must be an integer >= 0, got ${r}`);
}

/**
 * Mean over the (2r+1) x (2r+1) window clipped to the plane (each output divides by the number of
 * pixels its window covers, as the guided filter's reference code does), by running sums along rows
 * then columns: O(pixels) whatever r. Sums are float64, so wide planes keep their precision.
 */
export function boxMean(src: Plane, r: number): Plane {
  checkPlane(src, 'boxMean input');
  checkRadius(r);
  const { width: w, height: h, data } = src;
  const rows = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    let acc = 0;
    // Window [x - r, x + r] clipped: add the entering pixel, drop the leaving one.
    for (let x = 0; x < Math.min(r, w); x++) acc += data[o + x];
    for (let x = 0; x < w; x++) {
      if (x + r < w) acc += data[o + x + r];
      if (x - r - 1 >= 0) acc -= data[o + x - r - 1];
      rows[o + x] = acc / (Math.min(w - 1, x + r) - Math.max(0, x - r) + 1);
    }
  }
  const out = new Float32Array(w * h);
  const col = new Float64Array(w);
  for (let y = 0; y < Math.min(r, h); y++) for (let x = 0; x < w; x++) col[x] += rows[y * w + x];
  for (let y = 0; y < h; y++) {
    if (y + r < h) for (let x = 0, o = (y + r) * w; x < w; x++) col[x] += rows[o + x];
    if (y - r - 1 >= 0) for (let x = 0, o = (y - r - 1) * w; x < w; x++) col[x] -= rows[o + x];
    const n = Math.min(h - 1, y + r) - Math.max(0, y - r) + 1;
    for (let x = 0, o = y * w; x < w; x++) out[o + x] = col[x] / n;
  }
  return { width: w, height: h, data: out };
}

/** Sliding-window minimum along one axis (van Herk / Gil-Werman: three comparisons a value, any r). */
function minLine(src: Float32Array, dst: Float32Array, start: number, stride: number, n: number, r: number, fwd: Float32Array, bwd: Float32Array): void {
  const k = 2 * r + 1;
  for (let i = 0; i < n; i++) {
    const v = src[start + i * stride];
    fwd[i] = i % k === 0 || v < fwd[i - 1] ? v : fwd[i - 1];
  }
  for (let i = n - 1; i >= 0; i--) {
    const v = src[start + i * stride];
    bwd[i] = i === n - 1 || (i + 1) % k === 0 || v < bwd[i + 1] ? v : bwd[i + 1];
  }
  for (let i = 0; i < n; i++) {
    const lo = i - r < 0 ? 0 : i - r;
    const hi = i + r > n - 1 ? n - 1 : i + r;
    // The window [lo, hi] spans at most two blocks of length k: the suffix min of the first, the prefix min of
    // the second. Within one block it starts at the block (left edge) or ends where bwd restarts (right edge).
    let m: number;
    if (((lo / k) | 0) === ((hi / k) | 0)) m = lo % k === 0 ? fwd[hi] : bwd[lo];
    else m = bwd[lo] < fwd[hi] ? bwd[lo] : fwd[hi];
    dst[start + i * stride] = m;
  }
}

/** Minimum over the (2r+1) x (2r+1) window clipped to the plane (the dark channel's patch minimum). */
export function minFilter(src: Plane, r: number): Plane {
  checkPlane(src, 'minFilter input');
  checkRadius(r);
  const { width: w, height: h } = src;
  if (r === 0) return { width: w, height: h, data: src.data.slice() };
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  const fwd = new Float32Array(Math.max(w, h));
  const bwd = new Float32Array(Math.max(w, h));
  for (let y = 0; y < h; y++) minLine(src.data, tmp, y * w, 1, w, r, fwd, bwd);
  for (let x = 0; x < w; x++) minLine(tmp, out, x, w, h, r, fwd, bwd);
  return { width: w, height: h, data: out };
}

/** The guided filter's local linear model q = a I + b, its coefficients already box-averaged. */
interface LinearModel {
  a: Plane;
  b: Plane;
}

function linearModel(guide: Plane, src: Plane, r: number, eps: number): LinearModel {
  const n = guide.data.length;
  const ii = new Float32Array(n);
  const ip = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = guide.data[i];
    ii[i] = g * g;
    ip[i] = g * src.data[i];
  }
  const { width, height } = guide;
  const mI = boxMean(guide, r).data;
  const mP = boxMean(src, r).data;
  const mII = boxMean({ width, height, data: ii }, r).data;
  const mIP = boxMean({ width, height, data: ip }, r).data;
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const varI = mII[i] - mI[i] * mI[i];
    const cov = mIP[i] - mI[i] * mP[i];
    a[i] = cov / (varI + eps);
    b[i] = mP[i] - a[i] * mI[i];
  }
  return { a: boxMean({ width, height, data: a }, r), b: boxMean({ width, height, data: b }, r) };
}

function checkGuided(guide: Plane, src: Plane, r: number, eps: number): void {
  checkPlane(guide, 'guidedFilter guide');
  checkPlane(src, 'guidedFilter input');
  if (guide.width !== src.width || guide.height !== src.height) {
    throw new RangeError(`guidedFilter guide (${guide.width}x${guide.height}) and input (${src.width}x${src.height}) must have one size`);
  }
  checkRadius(r);
  if (!(eps > 0) || !Number.isFinite(eps)) throw new RangeError(`guidedFilter eps must be a finite number > 0, got ${eps}`);
}

/**
 * He et al.'s guided filter with a grey guide: in every (2r+1)^2 window the output is a linear function of
 * the guide fitted to the input (a = cov(I, p) / (var(I) + eps), b = mean(p) - a mean(I)), so it is smooth
 * where the guide is flat and steps where the guide steps. `eps` sets which guide edges count (variance units).
 */
export function guidedFilter(guide: Plane, src: Plane, r: number, eps: number): Plane {
  checkGuided(guide, src, r, eps);
  const { a, b } = linearModel(guide, src, r, eps);
  const out = new Float32Array(guide.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] * guide.data[i] + b.data[i];
  return { width: guide.width, height: guide.height, data: out };
}

/**
 * The fast guided filter: the linear model is fitted on `lowGuide` / `lowSrc` (the planes subsampled), its
 * coefficients are interpolated bilinearly to the full-size `guide` and applied there, so edges stay at full
 * resolution while the box filters run on 1/s^2 of the pixels. `r` is in low-resolution pixels.
 */
export function guidedUpsample(guide: Plane, lowGuide: Plane, lowSrc: Plane, r: number, eps: number): Plane {
  checkPlane(guide, 'guidedUpsample guide');
  checkGuided(lowGuide, lowSrc, r, eps);
  const { a, b } = linearModel(lowGuide, lowSrc, r, eps);
  const { width: w, height: h } = guide;
  const lw = lowGuide.width;
  const lh = lowGuide.height;
  // Bilinear from low-resolution pixel centres, edges clamped: first along x for every low row, then
  // between two such rows for each output row.
  const ax = new Float32Array(lh * w);
  const bx = new Float32Array(lh * w);
  const sx = lw / w;
  for (let x = 0; x < w; x++) {
    const gx = Math.min(lw - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    const x0 = Math.floor(gx);
    const x1 = Math.min(lw - 1, x0 + 1);
    const f = gx - x0;
    for (let y = 0; y < lh; y++) {
      const i = y * lw;
      ax[y * w + x] = a.data[i + x0] + (a.data[i + x1] - a.data[i + x0]) * f;
      bx[y * w + x] = b.data[i + x0] + (b.data[i + x1] - b.data[i + x0]) * f;
    }
  }
  const out = new Float32Array(w * h);
  const sy = lh / h;
  const g = guide.data;
  for (let y = 0; y < h; y++) {
    const gy = Math.min(lh - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(gy);
    const r0 = y0 * w;
    const r1 = Math.min(lh - 1, y0 + 1) * w;
    const f = gy - y0;
    for (let x = 0, o = y * w; x < w; x++, o++) {
      const av = ax[r0 + x] + (ax[r1 + x] - ax[r0 + x]) * f;
      const bv = bx[r0 + x] + (bx[r1 + x] - bx[r0 + x]) * f;
      out[o] = av * g[o] + bv;
    }
  }
  return { width: w, height: h, data: out };
}
