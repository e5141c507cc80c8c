import { afterEach, describe, expect, it } from 'vitest';
import {
  convolutionEngine,
  convolve2d,
  convolveColumns,
  convolveRows,
  convolveSeparable,
  createKernel,
  gaussianBlur,
  gaussianTaps,
  normalizeKernel,
  padReflect,
  planConvolution,
  reflectIndex,
  separableDecomposition,
  setConvolutionEngine,
  type ConvolutionEngine,
  type ConvolutionStrategy,
  type Kernel,
} from '../../src/core/conv.js';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng, type Rng } from '../../src/core/random.js';

/** The definition, nothing clever: correlation with reflect-101 borders, in double. */
function reference(image: Image, kernel: Kernel): Float64Array {
  const { width: w, height: h, data } = image;
  const k = kernel.size;
  const r = (k - 1) >> 1;
  const out = new Float64Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            s += kernel.data[ky * k + kx] * data[(reflectIndex(y + ky - r, h) * w + reflectIndex(x + kx - r, w)) * 3 + c];
          }
        }
        out[(y * w + x) * 3 + c] = s;
      }
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function randomImage(rng: Rng, w: number, h: number): Image {
  const im = createImage(w, h);
  for (let i = 0; i < im.data.length; i++) im.data[i] = rng.uniform();
  return im;
}

function outer(horizontal: ArrayLike<number>, vertical: ArrayLike<number>): Kernel {
  const n = horizontal.length;
  const d = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = vertical[i] * horizontal[j];
  return createKernel(n, d);
}

function impulse(n: number): Float32Array {
  const t = new Float32Array(n);
  t[(n - 1) >> 1] = 1;
  return t;
}

function randomDense(rng: Rng, k: number): Kernel {
  return normalizeKernel(createKernel(k, Array.from({ length: k * k }, () => rng.uniform())));
}

/** A signed kernel (sinc-like lobes) exercises cancellation in every path. */
function randomSigned(rng: Rng, k: number): Kernel {
  const d = Array.from({ length: k * k }, () => rng.uniform() - 0.3);
  return normalizeKernel(createKernel(k, d));
}

function sparse(rng: Rng, k: number, count: number): Kernel {
  const d = new Float32Array(k * k);
  for (let i = 0; i < count; i++) d[rng.int(0, k * k - 1)] += rng.uniform();
  return normalizeKernel(createKernel(k, d));
}

/** Rows of equal weights with ragged ends: what a disk looks like to the run splitter. */
function runsKernel(rng: Rng, k: number): Kernel {
  const d = new Float32Array(k * k);
  const r = (k - 1) >> 1;
  for (let y = 0; y < k; y++) {
    const half = Math.max(0, r - Math.abs(y - r));
    for (let x = r - half; x <= r + half; x++) d[y * k + x] = 1;
    if (r - half - 1 >= 0) d[y * k + r - half - 1] = rng.uniform();
  }
  return normalizeKernel(createKernel(k, d));
}

const ENGINES: ConvolutionEngine[] = ['wasm-simd', 'js'];
const STRATEGIES: ConvolutionStrategy[] = ['direct', 'runs', 'lowrank'];
const TOL = 1e-5;

afterEach(() => setConvolutionEngine(null));

describe('reflect-101 borders', () => {
  it('reflects like cv2.BORDER_REFLECT_101', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 7].map((i) => reflectIndex(i, 5))).toEqual([3, 2, 1, 0, 4, 3, 2, 1]);
    expect(reflectIndex(-7, 1)).toBe(0);
    // beyond one reflection the pattern repeats with period 2 (n - 1)
    expect([9, 10, -9].map((i) => reflectIndex(i, 5))).toEqual([1, 2, 1]);
  });

  it('padReflect agrees with reflectIndex', () => {
    const rng = createRng('pad');
    const im = randomImage(rng, 4, 3);
    const p = padReflect(im, 5);
    expect(p.width).toBe(14);
    expect(p.height).toBe(13);
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < p.width; x++) {
        const s = (reflectIndex(y - 5, 3) * 4 + reflectIndex(x - 5, 4)) * 3;
        for (let c = 0; c < 3; c++) expect(p.data[(y * p.width + x) * 3 + c]).toBe(im.data[s + c]);
      }
    }
    expect(() => padReflect(im, -1)).toThrow(/padding/);
  });
});

describe.each(ENGINES)('engine %s', (engine) => {
  const use = (): void => setConvolutionEngine(engine);

  it.each([
    [32, 24],
    [37, 23],
    [5, 9],
    [1, 7],
  ])('1-D passes on %ix%i match the definition', (w, h) => {
    use();
    const rng = createRng(`1d-${w}-${h}`);
    const im = randomImage(rng, w, h);
    for (const k of [1, 3, 9, 21]) {
      const a = gaussianTaps(k / 5 + 0.3, k);
      const b = Float32Array.from({ length: k }, () => rng.uniform() - 0.4);
      expect(maxDiff(convolveRows(im, a).data, reference(im, outer(a, impulse(k))))).toBeLessThan(TOL);
      expect(maxDiff(convolveColumns(im, b).data, reference(im, outer(impulse(k), b)))).toBeLessThan(TOL);
      expect(maxDiff(convolveSeparable(im, a, b).data, reference(im, outer(a, b)))).toBeLessThan(TOL);
    }
    // unequal lengths share one padding
    const h5 = gaussianTaps(1, 5);
    const v11 = gaussianTaps(2, 11);
    const pad = (t: Float32Array, n: number): Float32Array => {
      const o = new Float32Array(n);
      o.set(t, (n - t.length) >> 1);
      return o;
    };
    expect(maxDiff(convolveSeparable(im, h5, v11).data, reference(im, outer(pad(h5, 11), v11)))).toBeLessThan(TOL);
  });

  it.each(STRATEGIES)('convolve2d %s matches the definition on random images and kernels', (strategy) => {
    use();
    const rng = createRng(`2d-${strategy}`);
    for (const [w, h] of [
      [33, 20],
      [16, 16],
      [6, 11],
    ]) {
      const im = randomImage(rng, w, h);
      for (const k of [1, 3, 7, 13, 21]) {
        const kernels = [randomDense(rng, k), randomSigned(rng, k), sparse(rng, k, 2 * k), runsKernel(rng, k), outer(gaussianTaps(k / 6 + 0.2, k), gaussianTaps(k / 4 + 0.2, k))];
        for (const kernel of kernels) {
          const d = maxDiff(convolve2d(im, kernel, strategy).data, reference(im, kernel));
          expect(d, `${w}x${h} k=${k}`).toBeLessThan(TOL);
        }
      }
    }
  });

  it('auto choice matches the definition for a large sparse kernel on a small image', () => {
    use();
    const rng = createRng('big');
    const im = randomImage(rng, 24, 17);
    const kernel = sparse(rng, 45, 60);
    expect(maxDiff(convolve2d(im, kernel).data, reference(im, kernel))).toBeLessThan(TOL);
  });
});

describe('engines', () => {
  it('runs on WebAssembly SIMD by default under Node', () => {
    expect(convolutionEngine()).toBe('wasm-simd');
    setConvolutionEngine('js');
    expect(convolutionEngine()).toBe('js');
    setConvolutionEngine(null);
    expect(convolutionEngine()).toBe('wasm-simd');
    expect(() => setConvolutionEngine('gpu' as ConvolutionEngine)).toThrow(/engine/);
  });

  it('agree with each other to float rounding on a 256x256 image', () => {
    const rng = createRng('agree');
    const im = randomImage(rng, 256, 256);
    const kernel = randomDense(rng, 21);
    const wasm = convolve2d(im, kernel, 'direct');
    setConvolutionEngine('js');
    const js = convolve2d(im, kernel, 'direct');
    expect(maxDiff(wasm.data, js.data)).toBeLessThan(5e-6);
  });

  it('survive growing the arena between calls', () => {
    const rng = createRng('grow');
    const small = randomImage(rng, 8, 8);
    const large = randomImage(rng, 300, 200);
    const k = randomDense(rng, 5);
    const before = convolve2d(small, k);
    convolve2d(large, k);
    expect(Buffer.from(convolve2d(small, k).data.buffer)).toEqual(Buffer.from(before.data.buffer));
  });
});

describe('kernel analysis', () => {
  it('separates a rank-1 kernel into one term, by Jacobi or by power iteration', () => {
    const k = outer(gaussianTaps(1.5, 11), gaussianTaps(0.7, 11));
    for (const maxRank of [11, 1]) {
      const terms = separableDecomposition(k, 1e-6, maxRank);
      expect(terms).not.toBeNull();
      expect(terms!.length).toBe(1);
      for (let r = 0; r < 11; r++) {
        for (let c = 0; c < 11; c++) expect(terms![0].vertical[r] * terms![0].horizontal[c]).toBeCloseTo(k.data[r * 11 + c], 9);
      }
    }
    expect(separableDecomposition(randomDense(createRng('r1'), 7), 1e-6, 1)).toBeNull();
    expect(separableDecomposition(createKernel(5), 1e-6, 0)).toEqual([]);
    expect(() => separableDecomposition(k, 1e-6, 1.5)).toThrow(/maxRank/);
  });

  it('reconstructs a kernel within the tolerance and refuses when the rank cap is too low', () => {
    const rng = createRng('svd');
    const k = randomDense(rng, 9);
    const terms = separableDecomposition(k, 1e-6)!;
    expect(terms.length).toBeGreaterThan(1);
    let l1 = 0;
    for (let r = 0; r < 9; r++) {
      for (let c = 0; c < 9; c++) {
        let s = 0;
        for (const t of terms) s += t.vertical[r] * t.horizontal[c];
        l1 += Math.abs(s - k.data[r * 9 + c]);
      }
    }
    expect(l1).toBeLessThanOrEqual(1e-6);
    expect(separableDecomposition(k, 1e-6, 2)).toBeNull();
    expect(() => separableDecomposition(k, -1)).toThrow(/tolerance/);
  });

  it('chooses low rank for Gaussians, runs for disks, direct taps for sparse paths', () => {
    const g = gaussianTaps(3, 19);
    expect(planConvolution(outer(g, g)).strategy).toBe('lowrank');
    expect(planConvolution(runsKernel(createRng('r'), 21)).strategy).toBe('runs');
    expect(planConvolution(sparse(createRng('s'), 31, 40)).strategy).toBe('direct');
  });

  it('drops negligible taps (at most 1e-6 of the sum) from the direct path, within tolerance', () => {
    // rotated elongated Gaussian: high rank, and most of the square holds weights near zero
    const n = 21;
    const d = new Float32Array(n * n);
    const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
    for (let y = -10; y <= 10; y++) {
      for (let x = -10; x <= 10; x++) {
        const u = c * x + s * y;
        const v = -s * x + c * y;
        d[(y + 10) * n + x + 10] = Math.exp(-0.5 * ((u * u) / 9 + (v * v) / 0.36));
      }
    }
    const k = normalizeKernel(createKernel(n, d));
    const nonZero = k.data.filter((w) => w !== 0).length;
    const plan = planConvolution(k);
    expect(plan.strategy).toBe('direct');
    expect(plan.cost).toBeLessThan(0.8 * nonZero);
    const im = randomImage(createRng('drop'), 40, 30);
    expect(maxDiff(convolve2d(im, k).data, reference(im, k))).toBeLessThan(2e-6);
  });

  it('skips prefix-sum runs on images so wide that float32 sums would lose 1e-5', () => {
    const k = runsKernel(createRng('w'), 7);
    expect(planConvolution(k, 256, 256).strategy).toBe('runs');
    expect(planConvolution(k, 8192, 64).strategy).not.toBe('runs');
  });

  it('keeps an all-zero kernel at zero', () => {
    const im = randomImage(createRng('z'), 9, 9);
    for (const s of STRATEGIES) expect(Math.max(...convolve2d(im, createKernel(5), s).data.map(Math.abs))).toBe(0);
  });
});

describe('arguments', () => {
  const im = createImage(8, 8);
  it('rejects even or non-finite taps and bad kernels', () => {
    expect(() => convolveRows(im, [0.5, 0.5])).toThrow(/odd length/);
    expect(() => convolveColumns(im, [0, NaN, 0])).toThrow(/finite/);
    expect(() => convolve2d(im, createKernel(3, [0, 0, 0, 0, Infinity, 0, 0, 0, 0]))).toThrow(/finite/);
    expect(() => convolve2d(im, { size: 2, data: new Float32Array(4) })).toThrow(/odd size/);
    expect(() => convolve2d(im, createKernel(3), 'fft' as ConvolutionStrategy)).toThrow(/strategy/);
    expect(() => createKernel(4)).toThrow(/odd/);
    expect(() => normalizeKernel(createKernel(3))).toThrow(/sum/);
    expect(() => gaussianTaps(0)).toThrow(/sigma/);
  });
});

describe('Gaussian helpers', () => {
  it('taps are symmetric and sum to 1; blur keeps a constant image constant', () => {
    const t = gaussianTaps(2.2);
    expect(t.length).toBe(15);
    expect(t.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    for (let i = 0; i < t.length; i++) expect(t[i]).toBe(t[t.length - 1 - i]);
    const im = createImage(20, 20);
    im.data.fill(0.25);
    expect(maxDiff(gaussianBlur(im, 2.2).data, im.data)).toBeLessThan(1e-6);
    expect(gaussianBlur(im, 0).data).not.toBe(im.data);
  });
});
