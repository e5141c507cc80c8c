import { convolve2d } from '../core/conv.js';
import { clampInPlace, createImage, type Image } from '../core/image.js';
import type { Rng } from '../core/random.js';
import { diskKernel } from './kernels/defocus.js';
import { checkDepthRef, DEPTH_NEAR, depthRefFor, sceneDepth, type DepthRef } from './depth.js';
import { motionKernel, type TrajectorySettings } from './kernels/motion.js';
import { kernelParams, realEsrganKernel, type RealEsrganKernelParams } from './kernels/realesrgan.js';
import { defineDegradation, levelAt, levelsOf, type ApplyContext, type ImageInfo, type LevelDef, type Params } from './types.js';

/**
 * The blur family: MB (camera-shake motion), DB (defocus disk, uniform or depth-varying), GB
 * (Real-ESRGAN Gaussian / sinc). Each records only the numbers that rebuild its kernel; apply
 * rebuilds it and convolves with reflect-101 borders (cv2.filter2D / BasicSR filter2D), then clamps
 * to [0, 1]. `convolve2d` picks the fast path per kernel: sparse taps for trajectories, row prefix
 * sums for disks, separable low-rank terms for smooth kernels.
 */

function check(image: Image): void {
  if (image.data.length !== image.width * image.height * 3) throw new RangeError(`image data has ${image.data.length} values, expected ${image.width * image.height * 3}`);
}

// ---------------------------------------------------------------------------------------------
// MB

/** Path lengths in pixels (DeblurGAN's max_len), 12 levels. */
const MOTION_LENGTHS = [4, 6, 9, 12, 16, 20, 25, 31, 38, 46, 55, 65] as const;
/** DeblurGAN's trajectory step count. */
const MOTION_ITERS = 2000;
const motionLevels: LevelDef[] = levelsOf('trajectory', MOTION_LENGTHS, (length) => ({ length, iters: MOTION_ITERS, expl: [0.003, 0.01] }));

/** Every setting that regenerates the trajectory, and the level it was drawn for. */
export interface MotionBlurParams extends Params, TrajectorySettings {
  level: string;
}

function trajectoryOf(p: MotionBlurParams): TrajectorySettings {
  return {
    length: p.length, iters: p.iters, expl: p.expl, centripetal: p.centripetal, probBigShake: p.probBigShake,
    gaussianShake: p.gaussianShake, initAngle: p.initAngle, seed: p.seed,
  };
}

/**
 * MB: random camera-shake trajectories (Boracchi & Foi 2012) rasterized into PSFs, as DeblurGAN's
 * motion_blur/ (Kupyn et al. 2018). The level fixes the path length; the trajectory's shape
 * (inertia, shake, impulse probability, initial angle, expl in [0.003, 0.01] around DeblurGAN's
 * 0.005) and the seed of its per-step noise are drawn and recorded.
 */
export const motionBlur = defineDegradation<MotionBlurParams>({
  version: 1,
  id: 'MB',
  name: 'motion blur',
  description: 'Camera-shake blur: a random hand-held trajectory of fixed length, rasterized into a sparse kernel.',
  method:
    'Boracchi & Foi 2012 trajectories as in DeblurGAN motion_blur/generate_trajectory.py + generate_PSF.py (2000 steps, ' +
    'Gaussian + inertial + impulsive perturbations, bilinear sub-pixel PSF, full exposure), kernel centred on its centroid; ' +
    'path traced at max_len 60 and scaled to the level length (4..65 px), so a seed keeps its shape across levels.',
  levels: motionLevels,
  sample(level: number, rng: Rng): MotionBlurParams {
    const def = levelAt(motionLevels, level, 'MB');
    return {
      level: def.id,
      length: MOTION_LENGTHS[def.severity],
      iters: MOTION_ITERS,
      expl: rng.range(0.003, 0.01),
      centripetal: 0.7 * rng.uniform(),
      probBigShake: 0.2 * rng.uniform(),
      gaussianShake: 10 * rng.uniform(),
      initAngle: 360 * rng.uniform(),
      seed: rng.childSeed(),
    };
  },
  async apply(image: Image, p: MotionBlurParams): Promise<Image> {
    check(image);
    return clampInPlace(convolve2d(image, motionKernel(trajectoryOf(p))));
  },
});

// ---------------------------------------------------------------------------------------------
// DB

/** Disk radii in pixels, 10 levels, roughly geometric. */
const DISK_RADII = [1, 1.5, 2, 2.5, 3, 4, 5, 6.5, 8, 10] as const;
/** Largest circle of confusion in the frame for the depth-varying variant. */
const DEPTH_RADII = [2, 3, 4, 6, 8, 10] as const;
const diskLevels: LevelDef[] = [
  ...levelsOf('disk', DISK_RADII, (radius) => ({ radius })),
  ...levelsOf('depth', DEPTH_RADII, (radius) => ({ maxRadius: radius, focus: [DEPTH_NEAR, 1], depth: 'map or estimate' })),
];

export interface DiskBlurParams extends Params {
  level: string;
  radius: number;
}

export interface DepthBlurParams extends Params {
  level: string;
  /** radius of the largest circle of confusion in the frame */
  radius: number;
  /** normalized depth in focus, in [0.2, 1] */
  focus: number;
  /** the depth rendered with: the estimate, or the real depth map (its sha256) that went with the image */
  depth: DepthRef;
}

export type DefocusBlurParams = DiskBlurParams | DepthBlurParams;

/** Widest radius step between two blur layers of the depth variant. */
const LAYER_STEP = 3.4;

/**
 * Depth-varying defocus: thin-lens circle of confusion c ~ |1/d - 1/focus| over the image's
 * scene depth d (depth.ts: a given map or the edge-aware estimate), scaled so the largest in the frame has the
 * level's radius. The image is blurred with disks at a few evenly spaced radii (layers no more than
 * LAYER_STEP px apart) and each pixel blends the two layers around its own radius, the layered
 * approximation of spatially varying blur (no occlusion handling).
 */
function depthDefocus(image: Image, p: DepthBlurParams, context: ApplyContext | undefined): Image {
  if (!(p.radius >= 0.5 && p.radius <= 64)) throw new RangeError(`radius must be in [0.5, 64], got ${p.radius}`);
  if (!(p.focus >= DEPTH_NEAR && p.focus <= 1)) throw new RangeError(`focus must be in [${DEPTH_NEAR}, 1], got ${p.focus}`);
  const { width, height } = image;
  const coc = sceneDepth(image, checkDepthRef(p.depth, 'DB'), context, 'DB');
  let max = 0;
  for (let i = 0; i < coc.length; i++) {
    const c = Math.abs(1 / coc[i] - 1 / p.focus);
    coc[i] = c;
    if (c > max) max = c;
  }
  const layers = 1 + Math.ceil(p.radius / LAYER_STEP);
  const step = p.radius / (layers - 1);
  // position of each pixel along the layer stack
  const scale = max > 0 ? p.radius / max / step : 0;
  const needed = new Uint8Array(layers);
  for (let i = 0; i < coc.length; i++) {
    const k = coc[i] * scale;
    const a = Math.min(layers - 1, Math.floor(k));
    coc[i] = k;
    needed[a] = 1;
    if (a + 1 < layers && k > a) needed[a + 1] = 1;
  }
  const blurred: (Image | null)[] = [];
  for (let k = 0; k < layers; k++) blurred.push(needed[k] ? (k * step < 0.5 ? image : convolve2d(image, diskKernel(k * step))) : null);
  const out = createImage(width, height);
  const o = out.data;
  for (let i = 0, q = 0; i < coc.length; i++, q += 3) {
    const k = coc[i];
    const a = Math.min(layers - 1, Math.floor(k));
    const f = a + 1 < layers ? k - a : 0;
    const la = (blurred[a] as Image).data;
    if (f > 0) {
      const lb = (blurred[a + 1] as Image).data;
      o[q] = la[q] + f * (lb[q] - la[q]);
      o[q + 1] = la[q + 1] + f * (lb[q + 1] - la[q + 1]);
      o[q + 2] = la[q + 2] + f * (lb[q + 2] - la[q + 2]);
    } else {
      o[q] = la[q];
      o[q + 1] = la[q + 1];
      o[q + 2] = la[q + 2];
    }
  }
  return out;
}

/**
 * DB: defocus. `disk`: uniform defocus, a pillbox of the level's radius with anti-aliased rim
 * (MATLAB fspecial('disk'), the kernel of defocus-deblurring synthesis); its interior is applied
 * by row prefix sums, so radius 10 costs little more than radius 3. `depth`: the same disks varying
 * over the frame with the scene depth, focus distance drawn and recorded.
 */
export const defocusBlur = defineDegradation<DefocusBlurParams>({
  version: 2,
  id: 'DB',
  name: 'defocus blur',
  description: 'Out-of-focus blur: a uniform disk (pillbox) point-spread function, or disks growing away from a drawn focus depth.',
  method:
    "Pillbox kernel as MATLAB fspecial('disk', r) (exact pixel-coverage rim weights), radius 1..10 px; depth variant: thin-lens " +
    'circle of confusion |1/d - 1/focus| over the scene depth (a given map or the guided-filter estimate), max radius 2..10 px, layered disk blurs blended per pixel.',
  levels: diskLevels,
  sample(level: number, rng: Rng, info: ImageInfo): DefocusBlurParams {
    const def = levelAt(diskLevels, level, 'DB');
    if (def.variant === 'disk') return { level: def.id, radius: DISK_RADII[def.severity] };
    return { level: def.id, radius: DEPTH_RADII[def.severity], focus: rng.range(DEPTH_NEAR, 1), depth: depthRefFor(info) };
  },
  async apply(image: Image, p: DefocusBlurParams, context?: ApplyContext): Promise<Image> {
    check(image);
    if (typeof p.focus === 'number') return clampInPlace(depthDefocus(image, p as DepthBlurParams, context));
    return clampInPlace(convolve2d(image, diskKernel(p.radius)));
  },
});

// ---------------------------------------------------------------------------------------------
// GB

const GAUSSIAN_SIGMAS = [0.5, 0.8, 1.1, 1.5, 2, 2.5, 3] as const;
const SHAPE_SIGMAS = [0.8, 1.2, 1.7, 2.3, 3] as const;
/** Sinc cutoffs (rad/px), descending: lower cutoff, stronger blur. Real-ESRGAN range [pi/3, pi]. */
const SINC_OMEGAS = [2.8, 2.4, 2, 1.6, 1.3, 1.05] as const;

const gbLevels: LevelDef[] = [
  ...levelsOf('gaussian', GAUSSIAN_SIGMAS, (sigma) => ({ sigma, size: gaussianSize(sigma), kinds: 'iso 0.64 / aniso 0.36' })),
  ...levelsOf('generalized', SHAPE_SIGMAS, (sigma) => ({ sigma, size: gaussianSize(sigma), betag: [0.5, 4] })),
  ...levelsOf('plateau', SHAPE_SIGMAS, (sigma) => ({ sigma, size: gaussianSize(sigma), betap: [1, 2] })),
  ...levelsOf('sinc', SINC_OMEGAS, (omega) => ({ omega, size: sincSize(omega) })),
];

/** 2 ceil(3 sigma) + 1 clipped to Real-ESRGAN's [7, 21]: mild levels stay cheap. */
function gaussianSize(sigma: number): number {
  return Math.min(21, Math.max(7, 2 * Math.ceil(3 * sigma) + 1));
}

/** About three jinc main-lobe radii (first zero at 3.83 / omega), clipped to [7, 21]. */
function sincSize(omega: number): number {
  return Math.min(21, Math.max(7, 2 * Math.ceil(12 / omega) + 1));
}

export interface GaussianSincBlurParams extends Params {
  level: string;
  kernel: RealEsrganKernelParams;
}

/** The minor axis of an anisotropic kernel: a drawn fraction of the level's sigma, at least Real-ESRGAN's 0.2. */
function minorSigma(rng: Rng, sigma: number): number {
  return Math.max(0.2, sigma * rng.range(0.2, 1));
}

/** Real-ESRGAN's beta draw: uniform below or above 1 with equal chance. */
function drawBeta(rng: Rng, lo: number, hi: number): number {
  return rng.uniform() < 0.5 ? rng.range(lo, 1) : rng.range(1, hi);
}

/**
 * GB: Real-ESRGAN blur kernels (Wang et al. 2021, BasicSR degradations.py). Variants fix the
 * kernel family and the level its strength (sigma, or the sinc cutoff); the rest is drawn as
 * Real-ESRGAN draws it: iso vs aniso by its 0.45 : 0.25 (gaussian) and 0.12 : 0.03 (generalized,
 * plateau) odds, rotation in [-pi, pi], betag in [0.5, 4], betap in [1, 2].
 */
export const gaussianSincBlur = defineDegradation<GaussianSincBlurParams>({
  version: 1,
  id: 'GB',
  name: 'Gaussian & sinc blur',
  description: 'Real-ESRGAN blur kernels: isotropic/anisotropic Gaussian, generalized Gaussian, plateau, and the 2-D sinc (circular low-pass).',
  method:
    'Real-ESRGAN (Wang et al. 2021) kernels from BasicSR basicsr/data/degradations.py: bivariate_Gaussian, ' +
    'bivariate_generalized_Gaussian, bivariate_plateau, circular_lowpass_kernel (jinc via Bessel J1); sigma in [0.5, 3] ' +
    '(Real-ESRGAN [0.2, 3]), betag [0.5, 4], betap [1, 2], sinc omega [pi/3, 2.8]; kernel size 2 ceil(3 sigma) + 1 in [7, 21].',
  levels: gbLevels,
  sample(level: number, rng: Rng): GaussianSincBlurParams {
    const def = levelAt(gbLevels, level, 'GB');
    const value = Number(def.id.slice(def.variant.length + 1));
    let kernel: RealEsrganKernelParams;
    if (def.variant === 'sinc') {
      kernel = kernelParams({ kind: 'sinc', size: sincSize(value), omega: value });
    } else {
      const size = gaussianSize(value);
      const isoOdds = def.variant === 'gaussian' ? 0.45 / 0.7 : 0.12 / 0.15;
      const iso = rng.uniform() < isoOdds;
      const sigmaY = iso ? value : minorSigma(rng, value);
      const theta = iso ? 0 : rng.range(-Math.PI, Math.PI);
      if (def.variant === 'gaussian') {
        kernel = kernelParams({ kind: iso ? 'iso' : 'aniso', size, sigmaX: value, sigmaY, theta });
      } else if (def.variant === 'generalized') {
        kernel = kernelParams({ kind: iso ? 'generalized_iso' : 'generalized_aniso', size, sigmaX: value, sigmaY, theta, beta: drawBeta(rng, 0.5, 4) });
      } else {
        kernel = kernelParams({ kind: iso ? 'plateau_iso' : 'plateau_aniso', size, sigmaX: value, sigmaY, theta, beta: drawBeta(rng, 1, 2) });
      }
    }
    return { level: def.id, kernel };
  },
  async apply(image: Image, p: GaussianSincBlurParams): Promise<Image> {
    check(image);
    if (typeof p.kernel !== 'object' || p.kernel === null) throw new RangeError('params.kernel must be a Real-ESRGAN kernel params object');
    return clampInPlace(convolve2d(image, realEsrganKernel(p.kernel)));
  },
});
