import { createKernel, type Kernel } from '../../core/conv.js';
import type { SparseTaps } from './line.js';

/**
 * The image of one falling drop in an exposure: a motion-blur kernel of the drop's path, with the cross
 * profile of a drop seen through the lens. Along the path the weight is a box of the streak's length
 * convolved with a Gaussian (the drop's own size, plus defocus), so the ends fade; across it, a Gaussian
 * whose full width at half maximum is the streak width (plus defocus). The kernel sums to 1: a drop
 * leaves the same light however far it travels, so a longer streak is fainter per pixel (Garg & Nayar,
 * "Photorealistic rendering of rain streaks", SIGGRAPH 2006: streak brightness ~ exposure share per pixel;
 * the normalized motion blur of the Rain100L/H and Rain13k noise-layer recipe).
 */

export interface StreakKernelOptions {
  /** Full width at half maximum of the cross profile, pixels, in [0.5, 16]. */
  width: number;
  /** Gaussian defocus sigma in pixels, in [0, 16] (near, out-of-focus drops); 0 = in focus. */
  blur?: number;
}

/** Sigma of the along-path fade for an in-focus drop (about a pixel-sized drop). */
const END_SIGMA = 0.6;
/** Weights below this fraction of the peak are dropped: the kernel's support stays small. */
const CUTOFF = 2e-3;

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for kernel weights. */
function erfExact(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

/** erf tabulated on [-4, 4] in steps of 1/256, linearly interpolated (error < 2e-6): kernels are built per sample. */
const ERF_RANGE = 4;
const ERF_STEPS = 256;
const ERF_TABLE = Float64Array.from({ length: 2 * ERF_RANGE * ERF_STEPS + 2 }, (_, i) => erfExact(Math.min(ERF_RANGE, i / ERF_STEPS - ERF_RANGE)));

function erf(x: number): number {
  if (x <= -ERF_RANGE) return -1;
  if (x >= ERF_RANGE) return 1;
  const u = (x + ERF_RANGE) * ERF_STEPS;
  const i = u | 0;
  return ERF_TABLE[i] + (u - i) * (ERF_TABLE[i + 1] - ERF_TABLE[i]);
}

/**
 * A streak of `length` pixels falling at `angle` degrees (90 = straight down; 0 = horizontal, counter-clockwise
 * on screen, y down, as lineKernel), as the offsets and weights of its non-zero taps, weights summing to 1.
 * Only the box around the rotated streak is visited, so a long streak costs its own area, not its square.
 */
export function streakTaps(length: number, angle: number, options: StreakKernelOptions): SparseTaps {
  if (!Number.isFinite(length) || length < 1 || length > 512) throw new RangeError(`streak length must be in [1, 512] pixels, got ${length}`);
  if (!Number.isFinite(angle)) throw new RangeError(`streak angle must be a finite number of degrees, got ${angle}`);
  const width = options.width;
  const blur = options.blur ?? 0;
  if (!Number.isFinite(width) || width < 0.5 || width > 16) throw new RangeError(`streak width must be in [0.5, 16] pixels, got ${width}`);
  if (!Number.isFinite(blur) || blur < 0 || blur > 16) throw new RangeError(`streak blur must be in [0, 16] pixels, got ${blur}`);
  const rad = (angle * Math.PI) / 180;
  const ux = Math.cos(rad);
  const uy = -Math.sin(rad);
  const sigmaAlong = Math.sqrt(END_SIGMA * END_SIGMA + blur * blur);
  const sigmaAcross = Math.sqrt((width / 2.3548) ** 2 + blur * blur);
  const half = length / 2;
  const reachT = half + 3 * sigmaAlong;
  const reachS = 3 * sigmaAcross;
  const rx = Math.ceil(Math.abs(ux) * reachT + Math.abs(uy) * reachS);
  const ry = Math.ceil(Math.abs(uy) * reachT + Math.abs(ux) * reachS);
  const ka = 1 / (Math.SQRT2 * sigmaAlong);
  const kc = 1 / (2 * sigmaAcross * sigmaAcross);
  const cells = (2 * rx + 1) * (2 * ry + 1);
  const dxs = new Int32Array(cells);
  const dys = new Int32Array(cells);
  const ws = new Float32Array(cells);
  let n = 0;
  let peak = 0;
  for (let dy = -ry; dy <= ry; dy++) {
    for (let dx = -rx; dx <= rx; dx++) {
      const t = dx * ux + dy * uy;
      const s = -dx * uy + dy * ux;
      if (Math.abs(t) > reachT || Math.abs(s) > reachS) continue;
      const w = 0.5 * (erf((half - t) * ka) + erf((half + t) * ka)) * Math.exp(-s * s * kc);
      if (w <= 0) continue;
      dxs[n] = dx;
      dys[n] = dy;
      ws[n] = w;
      n++;
      if (w > peak) peak = w;
    }
  }
  let sum = 0;
  let kept = 0;
  let radius = 0;
  for (let i = 0; i < n; i++) {
    if (ws[i] < CUTOFF * peak) continue;
    dxs[kept] = dxs[i];
    dys[kept] = dys[i];
    ws[kept] = ws[i];
    sum += ws[i];
    radius = Math.max(radius, Math.abs(dxs[i]), Math.abs(dys[i]));
    kept++;
  }
  const w = ws.slice(0, kept);
  for (let i = 0; i < kept; i++) w[i] /= sum;
  return { dx: dxs.slice(0, kept), dy: dys.slice(0, kept), w, radius };
}

/** The same streak as a square kernel (for a dense convolution, or to look at). */
export function streakKernel(length: number, angle: number, options: StreakKernelOptions): Kernel {
  const taps = streakTaps(length, angle, options);
  const size = 2 * taps.radius + 1;
  const k = createKernel(size);
  for (let i = 0; i < taps.w.length; i++) k.data[(taps.dy[i] + taps.radius) * size + taps.dx[i] + taps.radius] = taps.w[i];
  return k;
}
