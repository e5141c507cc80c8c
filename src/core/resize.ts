import { CHANNELS, createImage, type Image } from './image.js';

/**
 * Image resizing with PyTorch `F.interpolate(x, size=(h, w), mode, align_corners=False)` semantics,
 * so pipelines ported from BasicSR / Real-ESRGAN (which resize with torch) sample the same pixels:
 * - `nearest`: torch's legacy nearest, src = floor(dst * (in / out)) in float32 (ATen nearest_idx);
 * - `bilinear`: half-pixel centres, src = (dst + 0.5) * in / out - 0.5, clamped at 0; no antialias;
 * - `bicubic`: Keys cubic convolution with a = -0.75 (torch's constant), border pixels replicated;
 * - `area`: adaptive average pooling, cell i covers [floor(i*in/out), ceil((i+1)*in/out)).
 * The 2-D result is computed as two 1-D passes in double precision, so values agree with torch's
 * float32 kernels to within float rounding. Pure JS and deterministic; equal sizes copy the input.
 */
export type ResizeMode = 'nearest' | 'bilinear' | 'bicubic' | 'area';
export const RESIZE_MODES: readonly ResizeMode[] = ['nearest', 'bilinear', 'bicubic', 'area'];

/** Per output index: `count` taps starting at `start[i]` in `index` (input positions) and `weight`. */
interface AxisTaps {
  start: Int32Array;
  count: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

const CUBIC_A = -0.75;

function cubicNear(x: number): number {
  return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
}

function cubicFar(x: number): number {
  return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
}

function axisTaps(inSize: number, outSize: number, mode: ResizeMode): AxisTaps {
  const per = mode === 'nearest' ? 1 : mode === 'bilinear' ? 2 : mode === 'bicubic' ? 4 : Math.ceil(inSize / outSize) + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const index = new Int32Array(outSize * per);
  const weight = new Float64Array(outSize * per);
  const scale = inSize / outSize;
  let k = 0;
  for (let o = 0; o < outSize; o++) {
    start[o] = k;
    if (mode === 'nearest') {
      const fscale = Math.fround(scale);
      const src = Math.floor(Math.fround(o * fscale));
      index[k] = Math.min(src, inSize - 1);
      weight[k++] = 1;
    } else if (mode === 'bilinear') {
      let src = scale * (o + 0.5) - 0.5;
      if (src < 0) src = 0;
      const i0 = Math.floor(src);
      const lambda = Math.min(Math.max(src - i0, 0), 1);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      index[k] = i0;
      weight[k++] = 1 - lambda;
      index[k] = i1;
      weight[k++] = lambda;
    } else if (mode === 'bicubic') {
      const src = scale * (o + 0.5) - 0.5;
      const i0 = Math.floor(src);
      const t = src - i0;
      const w = [cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)];
      for (let j = 0; j < 4; j++) {
        const i = i0 - 1 + j;
        index[k] = i < 0 ? 0 : i > inSize - 1 ? inSize - 1 : i;
        weight[k++] = w[j];
      }
    } else {
      // ATen adaptive pooling bounds, in integer arithmetic.
      const lo = Math.floor((o * inSize) / outSize);
      const hi = Math.ceil(((o + 1) * inSize) / outSize);
      const n = hi - lo;
      for (let i = lo; i < hi; i++) {
        index[k] = i;
        weight[k++] = 1 / n;
      }
    }
    count[o] = k - start[o];
  }
  return { start, count, index, weight };
}

/** Resize `image` to width x height (see the module comment for each mode's exact definition). */
export function resize(image: Image, width: number, height: number, mode: ResizeMode = 'bilinear'): Image {
  if (!Number.isInteger(width) || width < 1 || width > 1 << 16) {
    throw new RangeError(`width must be an integer in 1..65536, got ${width}`);
  }
  if (!Number.isInteger(height) || height < 1 || height > 1 << 16) {
    throw new RangeError(`height must be an integer in 1..65536, got ${height}`);
  }
  if (!(RESIZE_MODES as readonly string[]).includes(mode)) {
    throw new RangeError(`mode must be one of ${RESIZE_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
  const { width: iw, height: ih, data } = image;
  if (iw === width && ih === height) return createImage(width, height, data.slice());

  // Horizontal pass: ih rows of `width` pixels, kept in double until the vertical pass.
  const tx = axisTaps(iw, width, mode);
  const rowOut = width * CHANNELS;
  const mid = new Float64Array(ih * rowOut);
  for (let y = 0; y < ih; y++) {
    const sb = y * iw * CHANNELS;
    let q = y * rowOut;
    for (let x = 0; x < width; x++, q += 3) {
      let a = 0;
      let b = 0;
      let c = 0;
      const end = tx.start[x] + tx.count[x];
      for (let k = tx.start[x]; k < end; k++) {
        const s = sb + tx.index[k] * CHANNELS;
        const w = tx.weight[k];
        a += w * data[s];
        b += w * data[s + 1];
        c += w * data[s + 2];
      }
      mid[q] = a;
      mid[q + 1] = b;
      mid[q + 2] = c;
    }
  }

  // Vertical pass: whole rows at a time (contiguous, cache-friendly); the common 1, 2 and 4 tap
  // cases unrolled.
  const ty = axisTaps(ih, height, mode);
  const out = createImage(width, height);
  const o = out.data;
  for (let y = 0; y < height; y++) {
    const k0 = ty.start[y];
    const n = ty.count[y];
    const ob = y * rowOut;
    const b0 = ty.index[k0] * rowOut;
    const w0 = ty.weight[k0];
    if (n === 1) {
      for (let i = 0; i < rowOut; i++) o[ob + i] = w0 * mid[b0 + i];
    } else if (n === 2) {
      const b1 = ty.index[k0 + 1] * rowOut;
      const w1 = ty.weight[k0 + 1];
      for (let i = 0; i < rowOut; i++) o[ob + i] = w0 * mid[b0 + i] + w1 * mid[b1 + i];
    } else if (n === 4) {
      const b1 = ty.index[k0 + 1] * rowOut;
      const b2 = ty.index[k0 + 2] * rowOut;
      const b3 = ty.index[k0 + 3] * rowOut;
      const w1 = ty.weight[k0 + 1];
      const w2 = ty.weight[k0 + 2];
      const w3 = ty.weight[k0 + 3];
      for (let i = 0; i < rowOut; i++) {
        o[ob + i] = w0 * mid[b0 + i] + w1 * mid[b1 + i] + w2 * mid[b2 + i] + w3 * mid[b3 + i];
      }
    } else {
      for (let i = 0; i < rowOut; i++) {
        let a = 0;
        for (let k = k0; k < k0 + n; k++) a += ty.weight[k] * mid[ty.index[k] * rowOut + i];
        o[ob + i] = a;
      }
    }
  }
  return out;
}
