import { createKernel, type Kernel } from '../../core/conv.js';
import type { Rng } from '../../core/random.js';

/**
 * Real-ESRGAN blur kernels (Wang et al. 2021; BasicSR basicsr/data/degradations.py and
 * realesrgan/data/realesrgan_dataset.py), rebuilt from plain-JSON params.
 *
 * Two steps, as the project splits every random operation:
 *   const p = sampleRealEsrganKernel(rng, REAL_ESRGAN_FIRST_ORDER);  // plain JSON, record it
 *   const k = realEsrganKernel(p);                                    // deterministic Kernel
 * and `sampleFinalSinc(rng)` draws the final sinc filter of the second-order pipeline (or null).
 *
 * Kernel grids follow BasicSR's mesh_grid: cell (col, row) of a size-K kernel sits at
 * (x, y) = (col - K//2, row - K//2); weights use the rotated covariance U diag(sx^2, sy^2) U^T.
 */

export const REAL_ESRGAN_KINDS = [
  'iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso', 'sinc',
] as const;
export type RealEsrganKind = (typeof REAL_ESRGAN_KINDS)[number];

/** Everything that regenerates one kernel. Unused fields are ignored (sigmaY/theta for iso, beta for Gaussian). */
export interface RealEsrganKernelParams {
  [key: string]: string | number;
  kind: RealEsrganKind;
  /** odd, 3..41 (Real-ESRGAN uses 7..21) */
  size: number;
  sigmaX: number;
  sigmaY: number;
  /** rotation in radians */
  theta: number;
  /** shape: betag for generalized (exp(-0.5 q^beta)), betap for plateau (1 / (1 + q^beta)) */
  beta: number;
  /** sinc cutoff in radians per pixel (pi = Nyquist) */
  omega: number;
  /** zero-pad to this odd size (Real-ESRGAN pads to 21); 0 = none */
  padTo: number;
}

/** Real-ESRGAN's sampling options (train_realesrgan_x4plus.yml). */
export interface RealEsrganSampling {
  kinds: readonly Exclude<RealEsrganKind, 'sinc'>[];
  probs: readonly number[];
  sigma: readonly [number, number];
  betag: readonly [number, number];
  betap: readonly [number, number];
  sincProb: number;
  /** candidate kernel sizes, drawn uniformly */
  sizes: readonly number[];
  padTo: number;
}

const MIXED_KINDS = ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso'] as const;
const MIXED_PROBS = [0.45, 0.25, 0.12, 0.03, 0.12, 0.03] as const;
/** kernel_range = [2 v + 1 for v in range(3, 11)] */
export const REAL_ESRGAN_SIZES: readonly number[] = [7, 9, 11, 13, 15, 17, 19, 21];

/** First degradation: blur_sigma [0.2, 3], betag [0.5, 4], betap [1, 2], sinc_prob 0.1. */
export const REAL_ESRGAN_FIRST_ORDER: RealEsrganSampling = {
  kinds: MIXED_KINDS, probs: MIXED_PROBS, sigma: [0.2, 3], betag: [0.5, 4], betap: [1, 2], sincProb: 0.1, sizes: REAL_ESRGAN_SIZES, padTo: 21,
};
/** Second degradation: blur_sigma2 [0.2, 1.5], betag2 [0.5, 4], betap2 [1, 2], sinc_prob2 0.1. */
export const REAL_ESRGAN_SECOND_ORDER: RealEsrganSampling = {
  kinds: MIXED_KINDS, probs: MIXED_PROBS, sigma: [0.2, 1.5], betag: [0.5, 4], betap: [1, 2], sincProb: 0.1, sizes: REAL_ESRGAN_SIZES, padTo: 21,
};

/** Defaults make a params object from the fields a kind needs. */
export function kernelParams(p: Partial<RealEsrganKernelParams> & Pick<RealEsrganKernelParams, 'kind' | 'size'>): RealEsrganKernelParams {
  return { sigmaX: 1, sigmaY: p.sigmaX ?? 1, theta: 0, beta: 1, omega: Math.PI, padTo: 0, ...p };
}

/**
 * Draw one kernel as Real-ESRGAN's dataset does: size uniform over `sizes`; with probability
 * `sincProb` a sinc with omega in [pi/3, pi] (size < 13) or [pi/5, pi]; otherwise
 * random_mixed_kernels: a kind by `probs`, sigma_x (and for aniso sigma_y, theta in [-pi, pi])
 * uniform, beta uniform in [lo, 1] or [1, hi] with equal chance.
 */
export function sampleRealEsrganKernel(rng: Rng, options: RealEsrganSampling = REAL_ESRGAN_FIRST_ORDER): RealEsrganKernelParams {
  validateSampling(options);
  const size = rng.pick(options.sizes);
  if (rng.uniform() < options.sincProb) {
    const omega = size < 13 ? rng.range(Math.PI / 3, Math.PI) : rng.range(Math.PI / 5, Math.PI);
    return kernelParams({ kind: 'sinc', size, omega, padTo: options.padTo });
  }
  const kind = pickWeighted(rng, options.kinds, options.probs);
  const sigmaX = rng.range(options.sigma[0], options.sigma[1]);
  const iso = kind.endsWith('iso') && !kind.endsWith('aniso');
  const sigmaY = iso ? sigmaX : rng.range(options.sigma[0], options.sigma[1]);
  const theta = iso ? 0 : rng.range(-Math.PI, Math.PI);
  let beta = 1;
  if (kind.startsWith('generalized') || kind.startsWith('plateau')) {
    const [lo, hi] = kind.startsWith('generalized') ? options.betag : options.betap;
    beta = rng.uniform() < 0.5 ? rng.range(lo, 1) : rng.range(1, hi);
  }
  return kernelParams({ kind, size, sigmaX, sigmaY, theta, beta, padTo: options.padTo });
}

/** The final sinc of the second-order pipeline: with probability `prob` (0.8), omega in [pi/3, pi], padded to 21; else null (the pulse). */
export function sampleFinalSinc(rng: Rng, prob = 0.8): RealEsrganKernelParams | null {
  if (!(prob >= 0 && prob <= 1)) throw new RangeError(`prob must be in [0, 1], got ${prob}`);
  if (rng.uniform() >= prob) return null;
  const size = rng.pick(REAL_ESRGAN_SIZES);
  return kernelParams({ kind: 'sinc', size, omega: rng.range(Math.PI / 3, Math.PI), padTo: 21 });
}

/** One of `items`, drawn with the given (unnormalized) probabilities: random.choices(items, probs). */
export function pickWeighted<T>(rng: Rng, items: readonly T[], probs: readonly number[]): T {
  let total = 0;
  for (const p of probs) total += p;
  let u = rng.uniform() * total;
  for (let i = 0; i < items.length; i++) {
    u -= probs[i];
    if (u < 0) return items[i];
  }
  return items[items.length - 1];
}

function validateSampling(o: RealEsrganSampling): void {
  if (o.kinds.length === 0 || o.kinds.length !== o.probs.length) throw new RangeError(`kinds and probs must be non-empty and of equal length, got ${o.kinds.length} and ${o.probs.length}`);
  if (o.probs.some((p) => !(p >= 0))) throw new RangeError(`probs must be >= 0, got ${o.probs.join(', ')}`);
  for (const [name, [lo, hi]] of [['sigma', o.sigma], ['betag', o.betag], ['betap', o.betap]] as const) {
    if (!(lo > 0 && hi >= lo)) throw new RangeError(`${name} range must satisfy 0 < lo <= hi, got [${lo}, ${hi}]`);
  }
  if (!(o.sincProb >= 0 && o.sincProb <= 1)) throw new RangeError(`sincProb must be in [0, 1], got ${o.sincProb}`);
  if (o.sizes.length === 0 || o.sizes.some((s) => !Number.isInteger(s) || s < 3 || s % 2 === 0)) throw new RangeError(`sizes must be odd integers >= 3, got ${o.sizes.join(', ')}`);
}

/** Build the kernel the params describe, normalized to sum 1. */
export function realEsrganKernel(p: RealEsrganKernelParams): Kernel {
  if (!(REAL_ESRGAN_KINDS as readonly string[]).includes(p.kind)) throw new RangeError(`kind must be one of ${REAL_ESRGAN_KINDS.join(', ')}, got ${String(p.kind)}`);
  if (!Number.isInteger(p.size) || p.size < 3 || p.size > 41 || p.size % 2 === 0) throw new RangeError(`size must be an odd integer in [3, 41], got ${p.size}`);
  if (p.padTo !== 0 && (!Number.isInteger(p.padTo) || p.padTo % 2 === 0 || p.padTo > 41)) throw new RangeError(`padTo must be 0 or an odd integer <= 41, got ${p.padTo}`);
  let k: Kernel;
  if (p.kind === 'sinc') {
    k = sincKernel(p.size, p.omega);
  } else {
    const iso = p.kind === 'iso' || p.kind === 'generalized_iso' || p.kind === 'plateau_iso';
    const sy = iso ? p.sigmaX : p.sigmaY;
    const theta = iso ? 0 : p.theta;
    const shape = p.kind.startsWith('generalized') ? 'generalized' : p.kind.startsWith('plateau') ? 'plateau' : 'gaussian';
    k = bivariateKernel(p.size, p.sigmaX, sy, theta, shape, shape === 'gaussian' ? 1 : p.beta);
  }
  return p.padTo > p.size ? padKernel(k, p.padTo) : k;
}

/**
 * bivariate_Gaussian / bivariate_generalized_Gaussian / bivariate_plateau: with q = x^T S^-1 x,
 * gaussian exp(-q / 2), generalized exp(-q^beta / 2), plateau 1 / (1 + q^beta); normalized.
 */
export function bivariateKernel(
  size: number,
  sigmaX: number,
  sigmaY: number,
  theta: number,
  shape: 'gaussian' | 'generalized' | 'plateau' = 'gaussian',
  beta = 1,
): Kernel {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new RangeError(`size must be odd and >= 1, got ${size}`);
  if (!(sigmaX > 0 && sigmaY > 0) || !Number.isFinite(sigmaX * sigmaY)) throw new RangeError(`sigmaX and sigmaY must be finite and > 0, got ${sigmaX}, ${sigmaY}`);
  if (!Number.isFinite(theta)) throw new RangeError(`theta must be finite, got ${theta}`);
  if (!(beta > 0) || !Number.isFinite(beta)) throw new RangeError(`beta must be finite and > 0, got ${beta}`);
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  // inverse of U diag(sx^2, sy^2) U^T = U diag(1/sx^2, 1/sy^2) U^T
  const ix = 1 / (sigmaX * sigmaX);
  const iy = 1 / (sigmaY * sigmaY);
  const a = c * c * ix + s * s * iy;
  const b = c * s * (ix - iy);
  const d = s * s * ix + c * c * iy;
  const r = (size - 1) >> 1;
  const w = new Float64Array(size * size);
  let sum = 0;
  for (let row = 0; row < size; row++) {
    const y = row - r;
    for (let col = 0; col < size; col++) {
      const x = col - r;
      const q = a * x * x + 2 * b * x * y + d * y * y;
      const v = shape === 'gaussian' ? Math.exp(-0.5 * q) : shape === 'generalized' ? Math.exp(-0.5 * Math.pow(q, beta)) : 1 / (Math.pow(q, beta) + 1);
      w[row * size + col] = v;
      sum += v;
    }
  }
  return createKernel(size, Float32Array.from(w, (v) => v / sum));
}

/**
 * circular_lowpass_kernel: the 2-D circularly symmetric ideal low-pass (jinc),
 * omega J1(omega d) / (2 pi d), centre omega^2 / (4 pi), normalized.
 */
export function sincKernel(size: number, omega: number): Kernel {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new RangeError(`size must be odd and >= 1, got ${size}`);
  if (!(omega > 0 && omega <= Math.PI)) throw new RangeError(`omega must be in (0, pi], got ${omega}`);
  const r = (size - 1) >> 1;
  const w = new Float64Array(size * size);
  let sum = 0;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const d = Math.hypot(col - r, row - r);
      const v = d === 0 ? (omega * omega) / (4 * Math.PI) : (omega * besselJ1(omega * d)) / (2 * Math.PI * d);
      w[row * size + col] = v;
      sum += v;
    }
  }
  return createKernel(size, Float32Array.from(w, (v) => v / sum));
}

/**
 * Bessel function of the first kind, order 1, from Bessel's integral
 * J1(x) = (1 / 2 pi) * integral over one period of cos(t - x sin t) dt. The trapezoid rule on a
 * periodic analytic integrand converges geometrically once the point count exceeds ~|x|, so
 * 40 + 2|x| points give double precision for the arguments a kernel needs.
 */
export function besselJ1(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`x must be finite, got ${x}`);
  const n = 40 + 2 * Math.ceil(Math.abs(x));
  let s = 0;
  for (let k = 0; k < n; k++) {
    const t = (2 * Math.PI * k) / n;
    s += Math.cos(t - x * Math.sin(t));
  }
  return s / n;
}

function padKernel(k: Kernel, size: number): Kernel {
  const pad = (size - k.size) >> 1;
  const out = createKernel(size);
  for (let r = 0; r < k.size; r++) out.data.set(k.data.subarray(r * k.size, (r + 1) * k.size), (r + pad) * size + pad);
  return out;
}
