/**
 * BLN: blur + low light + noise, a hand-held night shot, as one camera takes it (the LOL-Blur setting of
 * Zhou, Li & Loy 2022, "LEDNet: Joint Low-light Enhancement and Deblurring in the Dark", ECCV: blur, darkness
 * and noise of one capture, with the saturated light streaks of night photos).
 *
 * One camera (camera.ts, Brooks et al. 2019) from start to end:
 *  1. unprocess the photo to linear camera RGB (the scene's radiance, as far as the photo holds it);
 *  2. restore the light sources: where the photo is near white it was clipped, and at night those pixels
 *     are lamps far brighter than the sensor's full well. Their radiance is raised so that, after the dark
 *     exposure of step 4, they peak at `boost` times full well (LOL-Blur's "clipping reverse" idea);
 *  3. blur in linear light with a camera-shake trajectory (MB's kernels), so a lamp smears into a streak of
 *     its own brightness, as light integrates on the sensor (blurring display values would dim it instead);
 *  4. darken: the exposure scales the radiance, and the sensor clips at full well, so the streaks stay
 *     saturated while the rest of the scene sinks into the dark;
 *  5. one pass of shot + read noise on the Bayer mosaic at the camera's ISO (Brooks et al.'s range), and
 *     process (white balance, demosaic, colour matrix, gamma, tone curve) back to sRGB; 8-bit output.
 * Nothing else adds noise: version 1 chained MB, LL (which has its own camera noise) and RN (a second
 * camera's noise) and blurred display values, so it had two noise passes and no light streaks.
 *
 * Levels rise jointly: trajectory length (MB's 4..65 px), darker exposure, higher shot noise.
 */
import { convolve2d } from '../core/conv.js';
import { CHANNELS, quantizeInPlace, type Image } from '../core/image.js';
import { createRng, type Rng } from '../core/random.js';
import { motionBlur, type MotionBlurParams } from './blur.js';
import { captureRaw, readNoiseFor, sampleCamera, unprocess, type CameraParams } from './camera.js';
import { motionKernel } from './kernels/motion.js';
import { defineDegradation, levelAt, type LevelDef, type Params } from './types.js';

const LEVELS_N = 10;
/** Linear exposure (fraction of the photo's), log-spaced from the mildest level's centre to the harshest's. */
const EXPOSURE: readonly [number, number] = [0.5, 0.06];
/** Brooks et al.'s shot noise, log-spaced likewise (inside their [1e-4, 0.012]). */
const SHOT: readonly [number, number] = [0.0004, 0.008];
/** Each level draws its exposure and shot noise log-uniformly within this factor of its centre. */
const SPREAD = 1.2;
/** Light sources peak at U-log[4, 32] times full well after the exposure (a streak stays saturated along ~boost x the lamp's width). */
const BOOST: readonly [number, number] = [4, 32];
/** Display value (max over channels) from which a pixel counts as a clipped light, ramping to 1 at white. */
export const HIGHLIGHT_FROM = 0.95;

function logLerp([a, b]: readonly [number, number], t: number): number {
  return Math.exp(Math.log(a) + t * (Math.log(b) - Math.log(a)));
}

const levels: LevelDef[] = Array.from({ length: LEVELS_N }, (_, severity) => {
  const t = severity / (LEVELS_N - 1);
  const motion = Math.round(t * (motionBlur.levels.length - 1));
  return {
    id: `night:${severity + 1}`,
    variant: 'night',
    severity,
    settings: {
      motion: motionBlur.levels[motion].id,
      exposure: [logLerp(EXPOSURE, t) / SPREAD, logLerp(EXPOSURE, t) * SPREAD],
      shot: [logLerp(SHOT, t) / SPREAD, logLerp(SHOT, t) * SPREAD],
      boost: [...BOOST],
      read: 'exp(2.18 ln(shot) + 1.2 + N(0, 0.26))',
    },
  };
});

export interface NightBlurParams extends Params {
  level: string;
  camera: CameraParams;
  /** MB's params of the trajectory (rebuilt by kernels/motion.ts). */
  motion: MotionBlurParams;
  /** Peak of the light sources after the exposure, in units of the sensor's full well. */
  boost: number;
  /** Linear exposure relative to the photo's. */
  exposure: number;
  shot: number;
  read: number;
  seed: string;
}

function drawLogUniform(rng: Rng, [lo, hi]: readonly number[]): number {
  return Math.exp(rng.range(Math.log(lo), Math.log(hi)));
}

function sampleNightBlur(level: number, rng: Rng): NightBlurParams {
  const def = levelAt(levels, level, 'BLN');
  const s = def.settings;
  const motionLevel = motionBlur.levels.findIndex((l) => l.id === s.motion);
  const camera = sampleCamera(rng);
  const exposure = drawLogUniform(rng, s.exposure as number[]);
  const shot = drawLogUniform(rng, s.shot as number[]);
  const read = readNoiseFor(shot, rng);
  const boost = drawLogUniform(rng, BOOST);
  const motion = motionBlur.sample(motionLevel, rng.fork('motion'), { width: 1, height: 1 }) as MotionBlurParams;
  return { level: def.id, camera, motion, boost, exposure, shot, read, seed: rng.childSeed() };
}

function checkParams(p: NightBlurParams): void {
  if (!(p.exposure > 0 && p.exposure <= 1)) throw new RangeError(`exposure must be in (0, 1], got ${p.exposure}`);
  if (!(p.boost >= 1 && p.boost <= 100)) throw new RangeError(`boost must be in [1, 100], got ${p.boost}`);
  if (typeof p.motion !== 'object' || p.motion === null) throw new RangeError('motion must be MB params (a trajectory)');
}

/**
 * Steps 1-4: the exposed, clipped linear camera image. Light-source radiance is raised to boost / exposure
 * times the photo's white, so after the exposure it peaks at `boost`; the mask ramps in from HIGHLIGHT_FROM.
 */
export function darkBlurredRaw(image: Image, p: NightBlurParams): Image {
  checkParams(p);
  const raw = unprocess(image, p.camera);
  // A lamp's raw colour is the one white balance maps back to its own colour (the gains inverted with no
  // saturation protection); scaled up, it blurs into streaks that stay that colour, not magenta fringes.
  const lamp = unprocess(image, p.camera, false).data;
  const src = image.data;
  const r = raw.data;
  const gain = p.boost / p.exposure;
  // Blurring is linear: the scene is blurred in units of its brightest light (values <= 1), then scaled.
  const unit = Math.max(gain, 1);
  for (let i = 0; i < r.length; i += CHANNELS) {
    const peak = Math.max(src[i], src[i + 1], src[i + 2]);
    const t = (peak - HIGHLIGHT_FROM) / (1 - HIGHLIGHT_FROM);
    if (t <= 0) {
      r[i] /= unit;
      r[i + 1] /= unit;
      r[i + 2] /= unit;
      continue;
    }
    const m = t >= 1 ? 1 : t * t * (3 - 2 * t);
    for (let c = 0; c < CHANNELS; c++) r[i + c] = ((1 - m) * r[i + c] + m * gain * lamp[i + c]) / unit;
  }
  const blurred = convolve2d(raw, motionKernel(p.motion));
  const d = blurred.data;
  const scale = unit * p.exposure;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] * scale;
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return blurred;
}

export const blurLowLightNoise = defineDegradation<NightBlurParams>({
  version: 2,
  id: 'BLN',
  name: 'blur + low light + noise',
  description:
    'A hand-held night shot by one camera: light sources restored above white, camera-shake blur in linear light (saturated light streaks), a dark exposure clipped at full well, one pass of shot + read noise, processed to 8-bit sRGB.',
  method:
    'LOL-Blur setting (Zhou et al. 2022, LEDNet): Brooks et al. 2019 unprocess, highlights (display max > 0.95) raised to U-log[4, 32] x full well after exposure, MB trajectory kernel (Boracchi & Foi) ' +
    'applied in linear light, linear exposure 0.5 -> 0.06 and clip, one shot + read noise pass (shot 4e-4 -> 8e-3, in Brooks et al.\'s range) on the Bayer mosaic, process; levels raise blur, darkness and noise together.',
  levels,
  sample: sampleNightBlur,
  async apply(image, params) {
    const raw = darkBlurredRaw(image, params);
    return quantizeInPlace(captureRaw(raw, params.camera, { shot: params.shot, read: params.read }, createRng(params.seed)));
  },
});
