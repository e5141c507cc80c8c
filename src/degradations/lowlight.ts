/**
 * LL: low light. Illumination scaling and gamma as in Lv et al.'s synthetic low-light data
 * (MBLLEN, BMVC 2018; "Attention Guided Low-Light Image Enhancement", IJCV 2021), used for LOL-style
 * synthetic pairs: I_low = beta * (alpha * I)^gamma with alpha ~ U(0.9, 1), beta ~ U(0.5, 1),
 * gamma in [1.5, 5], on the display-referred [0, 1] values as in their code. Then the sensor noise a
 * dark capture carries, from the unprocessing camera model of camera.ts (Brooks et al. 2019: shot +
 * read noise in the raw domain), with the shot level rising with the darkness as a camera raises
 * its ISO gain in dim light; and 8-bit quantization, since real low-light photos are 8-bit.
 *
 * Levels are ordered by darkness: the gamma is fixed per level (1.5 .. 5) and the shot-noise band
 * climbs with it; alpha and beta are drawn from the paper's ranges.
 *
 * Variant `exposure` (levels -1 .. -4.5 EV): a real short exposure instead of a display-space curve, as the
 * LOL pairs were taken (the low image is the same scene at a shorter exposure): the photo is unprocessed
 * to linear camera RGB, scaled by 2^EV, given the shot + read noise of a camera raising its ISO, and
 * processed back. Lv et al.'s curve stops above LOL's darkness (gamma 5 leaves the bundled photos at
 * ~8.9 dB, LOL-v1's inputs are at 7.77 dB; docs/calibration.md); -4.5 EV goes below it. Still one noise pass.
 */
import { dataAddon, NATIVE_MIN_LENGTH } from '../core/addon.js';
import { CHANNELS, quantizeInPlace, type Image } from '../core/image.js';
import { createRng } from '../core/random.js';
import { captureRaw, captureWithNoise, readNoiseFor, sampleCamera, unprocess, type CameraParams } from './camera.js';
import { defineDegradation, levelAt, levelsOf, type LevelDef } from './types.js';

export type DarkenParams = { alpha: number; beta: number; gamma: number };

const LUT_N = 4096;

/** I_low = beta * (alpha * I)^gamma per value (I clipped to [0, 1]); new image. */
export function darken(image: Image, p: DarkenParams): Image {
  if (!image || !(image.data instanceof Float32Array) || image.data.length !== image.width * image.height * CHANNELS) {
    throw new RangeError('image must be an RGB Float32 image of width*height*3 values');
  }
  const { alpha, beta, gamma } = p;
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
  if (!(beta > 0 && beta <= 1)) throw new RangeError(`beta must be in (0, 1], got ${beta}`);
  if (!(gamma >= 1 && gamma <= 10)) throw new RangeError(`gamma must be in [1, 10], got ${gamma}`);
  // One Math.pow per table entry instead of per value; gamma >= 1 keeps the curve smooth at 0.
  const lut = new Float64Array(LUT_N + 2);
  for (let i = 0; i <= LUT_N; i++) lut[i] = beta * (alpha * (i / LUT_N)) ** gamma;
  lut[LUT_N + 1] = lut[LUT_N];
  const src = image.data;
  const out = new Float32Array(src.length);
  if (dataAddon && src.length >= NATIVE_MIN_LENGTH) dataAddon.curveFromLut(src, out, lut, LUT_N);
  else curveFromLutJs(src, out, lut, LUT_N);
  return { width: image.width, height: image.height, data: out };
}

/**
 * out = the piecewise-linear curve through lut[0..n] (n + 2 entries, the last repeated) at src
 * clipped to [0, 1]. The reference for the data addon's curveFromLut (native/png/pixels.cc).
 */
export function curveFromLutJs(src: Float32Array, out: Float32Array, lut: Float64Array, n: number): void {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    const x = (v < 0 ? 0 : v > 1 ? 1 : v) * n;
    const j = Math.floor(x);
    out[i] = lut[j] + (x - j) * (lut[j + 1] - lut[j]);
  }
}

const GAMMAS = [1.5, 1.8, 2.1, 2.5, 2.9, 3.3, 3.7, 4.1, 4.5, 5] as const;
/** Shot-noise band of level i: log-uniform within a factor 1.25 of a centre that rises log-linearly. */
const SHOT_FIRST = 0.0002;
const SHOT_LAST = 0.003;
const SHOT_SPREAD = 1.25;

function shotCentre(severity: number): number {
  const t = severity / (GAMMAS.length - 1);
  return Math.exp(Math.log(SHOT_FIRST) + t * (Math.log(SHOT_LAST) - Math.log(SHOT_FIRST)));
}

/** Stops under the photo's exposure, and the shot-noise band (log-uniform, within Brooks et al.'s range) per stop. */
const STOPS = [-1, -1.5, -2, -2.5, -3.5, -4.5] as const;
const EXPOSURE_SHOT: readonly [number, number] = [0.0004, 0.006];

function exposureShot(severity: number): number {
  const t = severity / (STOPS.length - 1);
  return Math.exp(Math.log(EXPOSURE_SHOT[0]) + t * (Math.log(EXPOSURE_SHOT[1]) - Math.log(EXPOSURE_SHOT[0])));
}

const LL_LEVELS: readonly LevelDef[] = [
  ...levelsOf('gamma', GAMMAS, (gamma, severity) => {
    const c = shotCentre(severity);
    return { gamma, alpha: [0.9, 1], beta: [0.5, 1], shot: [c / SHOT_SPREAD, c * SHOT_SPREAD], quantize: 8 };
  }),
  ...levelsOf('exposure', STOPS, (ev, severity) => {
    const c = exposureShot(severity);
    return { ev, exposure: 2 ** ev, shot: [c / SHOT_SPREAD, c * SHOT_SPREAD], quantize: 8 };
  }),
];

export type LowLightParams =
  | { level: string; alpha: number; beta: number; gamma: number; camera: CameraParams; shot: number; read: number; seed: string }
  | { level: string; exposure: number; camera: CameraParams; shot: number; read: number; seed: string };

/** A shorter exposure of the same scene through one camera: unprocess, scale by `exposure`, one noise pass, process. */
export function underexpose(image: Image, exposure: number, camera: CameraParams, noise: { shot: number; read: number }, seed: string): Image {
  if (!(exposure > 0 && exposure <= 1)) throw new RangeError(`exposure must be in (0, 1], got ${exposure}`);
  const raw = unprocess(image, camera);
  const r = raw.data;
  for (let i = 0; i < r.length; i++) r[i] *= exposure;
  return captureRaw(raw, camera, noise, createRng(seed));
}

export const lowLight = defineDegradation<LowLightParams>({
  version: 2,
  id: 'LL',
  name: 'low light',
  description:
    'Underexposure: brightness scaled down and contrast crushed by a gamma curve (Lv et al.), or a real shorter exposure in linear camera RGB (1 to 4.5 stops), with the shot and read noise of a dim capture (stronger as it darkens) and 8-bit quantization.',
  method:
    'Lv et al. (MBLLEN, BMVC 2018; IJCV 2021) synthetic low light I = beta * (alpha * I)^gamma, alpha ~ U(0.9, 1), beta ~ U(0.5, 1), gamma 1.5..5; ' +
    'sensor noise by Brooks et al. 2019 unprocessing (camera.ts), shot level rising with darkness; exposure:-1..-4.5: 2^EV exposure of the unprocessed raw, one shot/read pass (shot 4e-4 -> 6e-3), process; 8-bit output',
  levels: LL_LEVELS,
  sample(level, rng) {
    const def = levelAt(LL_LEVELS, level, 'LL');
    if (def.variant === 'exposure') {
      const c = exposureShot(def.severity);
      const shot = Math.exp(rng.range(Math.log(c / SHOT_SPREAD), Math.log(c * SHOT_SPREAD)));
      const read = readNoiseFor(shot, rng);
      const camera = sampleCamera(rng);
      return { level: def.id, exposure: def.settings.exposure as number, camera, shot, read, seed: rng.childSeed() };
    }
    const gamma = def.settings.gamma as number;
    const alpha = rng.range(0.9, 1);
    const beta = rng.range(0.5, 1);
    const c = shotCentre(def.severity);
    const shot = Math.exp(rng.range(Math.log(c / SHOT_SPREAD), Math.log(c * SHOT_SPREAD)));
    const read = readNoiseFor(shot, rng);
    const camera = sampleCamera(rng);
    return { level: def.id, alpha, beta, gamma, camera, shot, read, seed: rng.childSeed() };
  },
  async apply(image, params) {
    const noise = { shot: params.shot, read: params.read };
    if ('exposure' in params) return quantizeInPlace(underexpose(image, params.exposure, params.camera, noise, params.seed));
    const dark = darken(image, params);
    const noisy = captureWithNoise(dark, params.camera, noise, createRng(params.seed));
    return quantizeInPlace(noisy);
  },
});
