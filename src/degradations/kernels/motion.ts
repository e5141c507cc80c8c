import { createKernel, type Kernel } from '../../core/conv.js';
import { createRng } from '../../core/random.js';

/**
 * Camera-shake motion kernels after Boracchi & Foi, "Modeling the performance of image restoration
 * from motion blur" (IEEE TIP 2012), as DeblurGAN implements them (motion_blur/generate_trajectory.py,
 * generate_PSF.py): a particle moves in N steps of equal length (so the path length is exactly
 * `length` pixels); each step its velocity takes a Gaussian perturbation, an inertial pull toward
 * the origin, and with small probability an impulsive reversal (the shutter press); the PSF is the
 * path rasterized with bilinear (triangle) weights at sub-pixel positions.
 *
 * Everything that shapes the path is in `TrajectorySettings` (plain numbers plus the seed of the
 * per-step noise), so a recorded settings object regenerates the same kernel.
 *
 * DeblurGAN's inertial term grows with max_len, so its long paths curl up tighter than its short
 * ones. Here the path is always traced at DeblurGAN's default max_len (60 px, canvas 64) and then
 * scaled to `length`: one set of settings gives the same shape at every length, and blur grows
 * with the length alone.
 */
export const REFERENCE_LENGTH = 60;

export interface TrajectorySettings {
  /** total path length in pixels (DeblurGAN's max_len; the shape is traced at 60 and scaled) */
  length: number;
  /** number of steps (DeblurGAN: 2000) */
  iters: number;
  /** exploration / anxiety: scales every perturbation (DeblurGAN recommends 0.005) */
  expl: number;
  /** inertial pull toward the start, DeblurGAN draws 0.7 U(0, 1) */
  centripetal: number;
  /** probability scale of an impulsive shake, 0.2 U(0, 1) */
  probBigShake: number;
  /** scale of the Gaussian perturbation, 10 U(0, 1) */
  gaussianShake: number;
  /** initial direction in degrees, 360 U(0, 1) */
  initAngle: number;
  /** seed of the per-step Gaussian and impulse draws */
  seed: string;
}

function validate(s: TrajectorySettings): void {
  if (!(s.length > 0 && s.length <= 200)) throw new RangeError(`length must be in (0, 200] pixels, got ${s.length}`);
  if (!Number.isInteger(s.iters) || s.iters < 2 || s.iters > 20000) throw new RangeError(`iters must be an integer in [2, 20000], got ${s.iters}`);
  if (!(s.expl > 0 && s.expl <= 1)) throw new RangeError(`expl must be in (0, 1], got ${s.expl}`);
  for (const key of ['centripetal', 'probBigShake', 'gaussianShake'] as const) {
    if (!(s[key] >= 0 && Number.isFinite(s[key]))) throw new RangeError(`${key} must be a finite number >= 0, got ${s[key]}`);
  }
  if (!Number.isFinite(s.initAngle)) throw new RangeError(`initAngle must be finite, got ${s.initAngle}`);
  if (typeof s.seed !== 'string' || s.seed.length === 0) throw new RangeError('seed must be a non-empty string');
}

/** The path: x0, y0, x1, y1, ... (N points, starting at the origin). */
export function motionTrajectory(s: TrajectorySettings): Float64Array {
  validate(s);
  const rng = createRng(s.seed);
  const n = s.iters;
  const step = REFERENCE_LENGTH / (n - 1);
  const scale = s.length / REFERENCE_LENGTH;
  const pts = new Float64Array(2 * n);
  const a0 = (s.initAngle * Math.PI) / 180;
  // DeblurGAN starts from v0 * expl when expl > 0 (it always is here); the first normalization fixes the length.
  let vx = Math.cos(a0) * s.expl;
  let vy = Math.sin(a0) * s.expl;
  let x = 0;
  let y = 0;
  for (let t = 0; t < n - 1; t++) {
    let nx = 0;
    let ny = 0;
    if (rng.uniform() < s.probBigShake * s.expl) {
      // next_direction = 2 v exp(i (pi + (u - 0.5))): a reversal, up to half a radian off
      const phi = Math.PI + (rng.uniform() - 0.5);
      const c = Math.cos(phi);
      const sn = Math.sin(phi);
      nx = 2 * (vx * c - vy * sn);
      ny = 2 * (vx * sn + vy * c);
    }
    const gx = rng.normal();
    const gy = rng.normal();
    vx += nx + s.expl * (s.gaussianShake * gx - s.centripetal * x) * step;
    vy += ny + s.expl * (s.gaussianShake * gy - s.centripetal * y) * step;
    const norm = Math.hypot(vx, vy);
    if (norm > 0) {
      vx = (vx / norm) * step;
      vy = (vy / norm) * step;
    } else {
      vx = step;
      vy = 0;
    }
    x += vx;
    y += vy;
    pts[2 * t + 2] = x * scale;
    pts[2 * t + 3] = y * scale;
  }
  return pts;
}

/**
 * Rasterize a path into a normalized kernel: every point adds equal mass, split over its four
 * nearest cells with triangle weights (DeblurGAN's PSF.fit, full exposure). The path is first
 * shifted so its mean sits on the kernel centre: bilinear splatting keeps the first moment, so the
 * blurred image is not displaced relative to the sharp one.
 */
export function trajectoryKernel(points: Float64Array): Kernel {
  const n = points.length >> 1;
  if (n < 1 || points.length % 2 !== 0) throw new RangeError(`points must hold x, y pairs, got ${points.length} values`);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += points[2 * i];
    my += points[2 * i + 1];
  }
  mx /= n;
  my /= n;
  let extent = 0;
  for (let i = 0; i < n; i++) extent = Math.max(extent, Math.abs(points[2 * i] - mx), Math.abs(points[2 * i + 1] - my));
  if (!Number.isFinite(extent)) throw new RangeError('points must be finite');
  const r = Math.ceil(extent) + 1;
  const size = 2 * r + 1;
  const w = new Float64Array(size * size);
  for (let i = 0; i < n; i++) {
    const px = points[2 * i] - mx + r;
    const py = points[2 * i + 1] - my + r;
    const x0 = Math.floor(px);
    const y0 = Math.floor(py);
    const fx = px - x0;
    const fy = py - y0;
    w[y0 * size + x0] += (1 - fx) * (1 - fy);
    w[y0 * size + x0 + 1] += fx * (1 - fy);
    w[(y0 + 1) * size + x0] += (1 - fx) * fy;
    w[(y0 + 1) * size + x0 + 1] += fx * fy;
  }
  return createKernel(size, Float32Array.from(w, (v) => v / n));
}

export function motionKernel(s: TrajectorySettings): Kernel {
  return trajectoryKernel(motionTrajectory(s));
}
