import { convolve2d } from '../core/conv.js';
import { clampInPlace, cloneImage, quantizeInPlace, type Image } from '../core/image.js';
import { createRng, type Rng } from '../core/random.js';
import { resize, type ResizeMode } from '../core/resize.js';
import { jpegRoundTrip } from './jpeg.js';
import {
  REAL_ESRGAN_FIRST_ORDER,
  REAL_ESRGAN_SECOND_ORDER,
  pickWeighted,
  realEsrganKernel,
  sampleFinalSinc,
  sampleRealEsrganKernel,
  type RealEsrganKernelParams,
} from './kernels/realesrgan.js';
import { addGaussianNoise, addPoissonNoise } from './noise.js';
import { defineDegradation, levelAt, type ImageInfo, type LevelDef, type Params } from './types.js';

/**
 * DNBJ: Real-ESRGAN's high-order degradation (Wang et al. 2021), as realesrgan/models/realesrnet_model.py
 * feed_data runs it with options/train_realesrnet_x4plus.yml (x2plus uses the same options) and the kernels of
 * realesrgan/data/realesrgan_dataset.py:
 *   1st: blur (kernel1), resize up/down/keep by resize_prob [0.2, 0.7, 0.1] with a factor in resize_range
 *        [0.15, 1.5] and a mode from area/bilinear/bicubic, noise (Gaussian sigma U[1, 30] or Poisson scale
 *        U[0.05, 3], even odds, grey with p 0.4), JPEG quality U[30, 95];
 *   2nd: blur (kernel2) with p 0.8, resize to input/scale times a factor (resize_prob2 [0.3, 0.4, 0.3],
 *        resize_range2 [0.3, 1.2]), noise (sigma U[1, 25] or Poisson U[0.05, 2.5]), then in either order with
 *        even odds [resize to input/scale + final sinc (p 0.8)] and JPEG U[30, 95]; clamp and round to 8 bits.
 * The level is Real-ESRGAN's `scale` (the overall downscale factor; its published models use 2 and 4). What
 * uirgen adds: the result is resized back to the input size with bicubic (every type keeps the input's size).
 * Departures, both recorded in the params: JPEG is a real libjpeg round trip at the integer quality nearest the
 * draw (Real-ESRGAN uses DiffJPEG with a real-valued quality), and the Poisson quantization is fixed at 256
 * levels (BasicSR counts the image's distinct values, 256 for 8-bit photos).
 *
 * Every random choice is drawn in the same order whatever the level, so one seed makes the same choices at
 * every scale and only the sizes change.
 */

/** options/train_realesrnet_x4plus.yml: the first and second degradation's resize, noise and JPEG options. */
export interface RealEsrganOrderOptions {
  /** probabilities of up, down, keep */
  resizeProb: readonly [number, number, number];
  resizeRange: readonly [number, number];
  gaussianNoiseProb: number;
  noiseRange: readonly [number, number];
  poissonScaleRange: readonly [number, number];
  grayNoiseProb: number;
  jpegRange: readonly [number, number];
}

export const REAL_ESRGAN_DEGRADATION = {
  first: {
    resizeProb: [0.2, 0.7, 0.1],
    resizeRange: [0.15, 1.5],
    gaussianNoiseProb: 0.5,
    noiseRange: [1, 30],
    poissonScaleRange: [0.05, 3],
    grayNoiseProb: 0.4,
    jpegRange: [30, 95],
  } satisfies RealEsrganOrderOptions,
  second: {
    resizeProb: [0.3, 0.4, 0.3],
    resizeRange: [0.3, 1.2],
    gaussianNoiseProb: 0.5,
    noiseRange: [1, 25],
    poissonScaleRange: [0.05, 2.5],
    grayNoiseProb: 0.4,
    jpegRange: [30, 95],
  } satisfies RealEsrganOrderOptions,
  secondBlurProb: 0.8,
  finalSincProb: 0.8,
} as const;

/** Interpolation modes Real-ESRGAN draws from (F.interpolate, align_corners False, no antialias). */
export const DNBJ_MODES: readonly ResizeMode[] = ['area', 'bilinear', 'bicubic'];
const UPDOWN = ['up', 'down', 'keep'] as const;
type UpDown = (typeof UPDOWN)[number];

/** Overall downscale factors (Real-ESRGAN's `scale`), the levels. */
const SCALES = [1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4] as const;

export type DnbjNoise =
  | { kind: 'gaussian'; sigma: number; gray: boolean; seed: string }
  | { kind: 'poisson'; scale: number; gray: boolean; seed: string };

export type DnbjStage =
  | { op: 'blur'; kernel: RealEsrganKernelParams }
  /** `factor` is the drawn resize factor (1 for keep); width and height the size it gives. */
  | { op: 'resize'; updown: UpDown | 'final'; factor: number; width: number; height: number; mode: ResizeMode }
  | ({ op: 'noise' } & DnbjNoise)
  /** `draw` is Real-ESRGAN's real-valued quality, `quality` the integer libjpeg encodes at. */
  | { op: 'jpeg'; draw: number; quality: number }
  /** The final sinc filter, or null for Real-ESRGAN's pulse (no filtering). */
  | { op: 'sinc'; kernel: RealEsrganKernelParams | null };

export interface DnbjParams extends Params {
  level: string;
  scale: number;
  /** 'resize-sinc-jpeg' or 'jpeg-resize-sinc': the order of the final step. */
  order: string;
  stages: DnbjStage[];
}

const levels: LevelDef[] = SCALES.map((scale, severity) => ({
  id: `scale:${scale}`,
  variant: 'scale',
  severity,
  settings: { scale, options: 'train_realesrnet_x4plus.yml' },
}));

/** random.choices(['up', 'down', 'keep'], resize_prob), then the factor as feed_data draws it. */
function drawResize(rng: Rng, o: RealEsrganOrderOptions): { updown: UpDown; factor: number; mode: ResizeMode } {
  const updown = pickWeighted(rng, UPDOWN, o.resizeProb);
  const factor = updown === 'up' ? rng.range(1, o.resizeRange[1]) : updown === 'down' ? rng.range(o.resizeRange[0], 1) : 1;
  return { updown, factor, mode: rng.pick(DNBJ_MODES) };
}

/** random_add_gaussian_noise_pt / random_add_poisson_noise_pt's draws. */
function drawNoise(rng: Rng, o: RealEsrganOrderOptions): DnbjNoise {
  const gaussian = rng.uniform() < o.gaussianNoiseProb;
  const value = gaussian ? rng.range(o.noiseRange[0], o.noiseRange[1]) : rng.range(o.poissonScaleRange[0], o.poissonScaleRange[1]);
  const gray = rng.uniform() < o.grayNoiseProb;
  const seed = rng.childSeed();
  return gaussian ? { kind: 'gaussian', sigma: value, gray, seed } : { kind: 'poisson', scale: value, gray, seed };
}

function drawJpeg(rng: Rng, o: RealEsrganOrderOptions): DnbjStage {
  const draw = rng.range(o.jpegRange[0], o.jpegRange[1]);
  return { op: 'jpeg', draw, quality: Math.round(draw) };
}

/** torch's output size: floor(size * factor) for a scale factor, at least one pixel. */
function scaled(n: number, factor: number): number {
  return Math.max(1, Math.floor(n * factor));
}

function sampleDnbj(level: number, rng: Rng, info: ImageInfo): DnbjParams {
  const def = levelAt(levels, level, 'DNBJ');
  const scale = def.settings.scale as number;
  const { first, second } = REAL_ESRGAN_DEGRADATION;
  const { width: W, height: H } = info;
  // The dataset draws the three kernels first, then feed_data the rest, in this order.
  const kernel1 = sampleRealEsrganKernel(rng, REAL_ESRGAN_FIRST_ORDER);
  const kernel2 = sampleRealEsrganKernel(rng, REAL_ESRGAN_SECOND_ORDER);
  const sinc = sampleFinalSinc(rng, REAL_ESRGAN_DEGRADATION.finalSincProb);
  const stages: DnbjStage[] = [{ op: 'blur', kernel: kernel1 }];
  const r1 = drawResize(rng, first);
  stages.push({ op: 'resize', ...r1, width: scaled(W, r1.factor), height: scaled(H, r1.factor) });
  stages.push({ op: 'noise', ...drawNoise(rng, first) });
  stages.push(drawJpeg(rng, first));
  if (rng.uniform() < REAL_ESRGAN_DEGRADATION.secondBlurProb) stages.push({ op: 'blur', kernel: kernel2 });
  const r2 = drawResize(rng, second);
  // size=(int(ori_h / scale * factor), ...)
  stages.push({ op: 'resize', ...r2, width: Math.max(1, Math.trunc((W / scale) * r2.factor)), height: Math.max(1, Math.trunc((H / scale) * r2.factor)) });
  stages.push({ op: 'noise', ...drawNoise(rng, second) });
  const sincFirst = rng.uniform() < 0.5;
  const jpeg2 = drawJpeg(rng, second);
  const back: DnbjStage = { op: 'resize', updown: 'final', factor: 1 / scale, width: scaled(W, 1 / scale), height: scaled(H, 1 / scale), mode: rng.pick(DNBJ_MODES) };
  if (sincFirst) stages.push(back, { op: 'sinc', kernel: sinc }, jpeg2);
  else stages.push(jpeg2, back, { op: 'sinc', kernel: sinc });
  return { level: def.id, scale, order: sincFirst ? 'resize-sinc-jpeg' : 'jpeg-resize-sinc', stages };
}

/** filter2D: the kernel as sampled; zero padding to 21 taps changes nothing, so it is dropped. */
function blur(image: Image, kernel: RealEsrganKernelParams): Image {
  return convolve2d(image, realEsrganKernel({ ...kernel, padTo: 0 }));
}

async function applyStage(image: Image, stage: DnbjStage): Promise<Image> {
  switch (stage.op) {
    case 'blur':
      return blur(image, stage.kernel);
    case 'sinc':
      return stage.kernel ? blur(image, stage.kernel) : image;
    case 'resize':
      if (!(DNBJ_MODES as readonly string[]).includes(stage.mode)) throw new RangeError(`DNBJ resize mode must be one of ${DNBJ_MODES.join(', ')}, got ${stage.mode}`);
      return resize(image, stage.width, stage.height, stage.mode);
    case 'noise': {
      const rng = createRng(stage.seed);
      return stage.kind === 'gaussian' ? addGaussianNoise(image, stage.sigma, stage.gray, rng) : addPoissonNoise(image, stage.scale, stage.gray, rng);
    }
    case 'jpeg':
      // feed_data clamps before the JPEGer; the 8-bit encode clamps too
      return jpegRoundTrip(image, stage.quality);
    default:
      throw new RangeError(`DNBJ stage op must be blur, resize, noise, jpeg or sinc, got ${JSON.stringify((stage as { op: unknown }).op)}`);
  }
}

async function applyDnbj(image: Image, params: DnbjParams): Promise<Image> {
  if (!Array.isArray(params.stages)) throw new RangeError('DNBJ params.stages must be an array of stages');
  let out = image;
  for (const stage of params.stages) out = await applyStage(out, stage);
  if (out === image) out = cloneImage(image);
  // self.lq = clamp(round(out * 255), 0, 255) / 255
  quantizeInPlace(out);
  return clampInPlace(resize(out, image.width, image.height, 'bicubic'));
}

export const downsampleNoiseBlurJpeg = defineDegradation<DnbjParams>({
  version: 2,
  id: 'DNBJ',
  name: 'downsample + noise + blur + JPEG',
  description: 'The Real-ESRGAN high-order degradation (blur, resize, noise, JPEG, twice, and a final sinc), resized back to the input size.',
  method:
    'Real-ESRGAN (Wang et al. 2021) feed_data with train_realesrnet_x4plus.yml: kernels of realesrgan_dataset.py (7..21 taps; iso/aniso/generalized/plateau 0.45/0.25/0.12/0.03/0.12/0.03, ' +
    'sinc p 0.1; sigma [0.2, 3] then [0.2, 1.5]); resize up/down/keep [0.2, 0.7, 0.1] over [0.15, 1.5] then [0.3, 0.4, 0.3] over [0.3, 1.2], area/bilinear/bicubic; ' +
    'Gaussian sigma [1, 30] then [1, 25] or Poisson [0.05, 3] then [0.05, 2.5] (even odds, grey p 0.4); JPEG [30, 95]; second blur p 0.8; final [resize + sinc p 0.8] and JPEG in random order; ' +
    'levels = the overall scale 1.25..4, then bicubic back to the input size. JPEG by libjpeg at the rounded quality.',
  levels,
  severity: {
    measure: 'detail-retention',
    why:
      "Real-ESRGAN adds its noise at the low resolution, so the bicubic trip back to the input size smooths it: a larger scale loses more " +
      'detail but leaves less noise energy, and PSNR, dominated by the noise and JPEG draws, barely moves with the scale (median 23.0 dB from 1.25 to 4 ' +
      'on the bundled photos). The scale sets the resolution lost, which detail retention measures.',
  },
  sample: sampleDnbj,
  apply: applyDnbj,
});
