import { createKernel, type Kernel } from '../../core/conv.js';

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
function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

/**
 * A streak of `length` pixels falling at `angle` degrees (90 = straight down; 0 = horizontal, counter-clockwise
 * on screen, y down, as lineKernel), weights summing to 1.
 */
export function streakKernel(length: number, angle: number, options: StreakKernelOptions): Kernel {
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
  const r = Math.ceil(Math.abs(ux) * reachT + Math.abs(uy) * reachS);
  const rr = Math.ceil(Math.abs(uy) * reachT + Math.abs(ux) * reachS);
  const radius = Math.max(r, rr);
  const size = 2 * radius + 1;
  const k = createKernel(size);
  const d = k.data;
  const ka = 1 / (Math.SQRT2 * sigmaAlong);
  const kc = 1 / (2 * sigmaAcross * sigmaAcross);
  let peak = 0;
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const t = dx * ux + dy * uy;
      const s = -dx * uy + dy * ux;
      if (Math.abs(t) > reachT || Math.abs(s) > reachS) continue;
      const along = 0.5 * (erf((half - t) * ka) + erf((half + t) * ka));
      const w = along * Math.exp(-s * s * kc);
      d[(dy + radius) * size + dx + radius] = w;
      if (w > peak) peak = w;
    }
  }
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < CUTOFF * peak) d[i] = 0;
    sum += d[i];
  }
  for (let i = 0; i < d.length; i++) d[i] /= sum;
  return k;
}
