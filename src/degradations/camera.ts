/**
 * RN: real-camera noise by unprocessing (Brooks, Mildenhall, Xue, Chen, Sharlet, Barron 2019,
 * "Unprocessing Images for Learned Raw Denoising", CVPR; google-research unprocessing/unprocess.py
 * and process.py).
 *
 * sRGB -> inverse smoothstep tone curve -> gamma expansion (2.2) -> RGB->camera CCM (a random
 * convex combination of their four XYZ->camera matrices) -> inverse white balance and brightening
 * with saturated-pixel protection -> clip -> Bayer mosaic; then heteroscedastic Gaussian noise with
 * variance shot * x + read (the paper's shot/read model, log_read = 2.18 log_shot + 1.2 + N(0, 0.26));
 * then process: white balance -> clip -> bilinear demosaic -> camera->RGB CCM -> clip -> gamma.
 *
 * Two deliberate differences from process.py, both so that the pair differs by camera noise alone:
 * process re-applies the brightening gain and the smoothstep tone curve, so that without noise
 * process(unprocess(x)) returns x (up to clipping of saturated colours); and in `captureWithNoise`
 * only the noise goes through the bilinear demosaic, the signal keeping full resolution, so the
 * noise is spatially correlated as a camera's is without demosaicking artifacts (MS's type).
 * process.py needs neither: its targets are processed by the same function.
 *
 * The pieces are exported as plain functions: LL and BLN chain them.
 */
import { dataAddon, NATIVE_MIN_LENGTH } from '../core/addon.js';
import { mat3Inverse, mat3Multiply } from '../core/mat3.js';
import { CHANNELS, createImage, type Image } from '../core/image.js';
import { createRng, type Rng } from '../core/random.js';
import { BAYER_PATTERNS, demosaic, mosaic, type BayerPattern } from './kernels/bayer.js';
import { standardNormal } from './noise.js';
import { defineDegradation, levelAt, levelsOf, type LevelDef } from './types.js';

/** Brooks et al.'s XYZ -> camera matrices (four cameras), row-major. */
const XYZ2CAMS: readonly (readonly number[])[] = [
  [1.0234, -0.2969, -0.2266, -0.5625, 1.6328, -0.0469, -0.0703, 0.2188, 0.6406],
  [0.4913, -0.0541, -0.0202, -0.613, 1.3513, 0.2906, -0.1564, 0.2151, 0.7183],
  [0.838, -0.263, -0.0639, -0.2887, 1.0725, 0.2496, -0.0627, 0.1427, 0.5438],
  [0.6596, -0.2079, -0.0562, -0.4782, 1.3016, 0.1933, -0.097, 0.1581, 0.5181],
];
/** Linear sRGB (D65) -> XYZ. */
const RGB2XYZ = [0.4124564, 0.3575761, 0.1804375, 0.2126729, 0.7151522, 0.072175, 0.0193339, 0.119192, 0.9503041];

/** The paper's shot-noise range for training (unprocess.py random_noise_levels). */
export const PAPER_LOG_SHOT_RANGE: readonly [number, number] = [Math.log(0.0001), Math.log(0.012)];

/** A random camera, as plain JSON: everything `unprocess` and `process` need. */
export type CameraParams = {
  /** Convex weights (sum 1) of the four XYZ->camera matrices. */
  ccmWeights: number[];
  /** Brightening gain, 1 / N(0.8, 0.1). */
  rgbGain: number;
  /** White-balance gains, U(1.9, 2.4) and U(1.5, 1.9). */
  redGain: number;
  blueGain: number;
  /** Colour filter array layout. */
  pattern: BayerPattern;
};

export type NoiseLevels = { shot: number; read: number };

/** unprocess.py random_ccm and random_gains; the CFA layout is drawn too (cameras differ). */
export function sampleCamera(rng: Rng): CameraParams {
  // unprocess.py draws U(1e-8, 1e8) and normalizes: the same as U(0, 1) up to scale.
  const raw = [0, 0, 0, 0].map(() => rng.range(1e-8, 1));
  const sum = raw.reduce((a, b) => a + b, 0);
  const ccmWeights = raw.map((w) => w / sum);
  // 1 / N(0.8, 0.1); the floor only guards the 6-sigma tail against a negative or huge gain.
  const rgbGain = 1 / Math.max(0.8 + 0.1 * rng.normal(), 0.2);
  const redGain = rng.range(1.9, 2.4);
  const blueGain = rng.range(1.5, 1.9);
  const pattern = rng.pick(BAYER_PATTERNS);
  return { ccmWeights, rgbGain, redGain, blueGain, pattern };
}

/** Read noise from shot noise by the paper's log-log line: log_read = 2.18 log_shot + 1.2 + N(0, 0.26). */
export function readNoiseFor(shot: number, rng: Rng): number {
  if (!(shot > 0) || !Number.isFinite(shot)) throw new RangeError(`shot must be a finite number > 0, got ${shot}`);
  return Math.exp(2.18 * Math.log(shot) + 1.2 + 0.26 * rng.normal());
}

/** unprocess.py random_noise_levels, over a log-shot range (default the paper's). */
export function sampleNoiseLevels(rng: Rng, logShotRange: readonly [number, number] = PAPER_LOG_SHOT_RANGE): NoiseLevels {
  const [lo, hi] = logShotRange;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new RangeError(`logShotRange must be finite [lo, hi] with lo <= hi, got [${lo}, ${hi}]`);
  }
  const shot = Math.exp(rng.range(lo, hi));
  return { shot, read: readNoiseFor(shot, rng) };
}

function checkCamera(cam: CameraParams): void {
  const w = cam?.ccmWeights;
  if (!Array.isArray(w) || w.length !== XYZ2CAMS.length || !w.every((v) => Number.isFinite(v) && v >= 0) || !(w.reduce((a, b) => a + b, 0) > 0)) {
    throw new RangeError(`camera.ccmWeights must be ${XYZ2CAMS.length} finite weights >= 0 with a positive sum`);
  }
  for (const key of ['rgbGain', 'redGain', 'blueGain'] as const) {
    const v = cam[key];
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`camera.${key} must be a finite number > 0, got ${v}`);
  }
  if (!(BAYER_PATTERNS as readonly string[]).includes(cam.pattern)) {
    throw new RangeError(`camera.pattern must be one of ${BAYER_PATTERNS.join(', ')}, got ${JSON.stringify(cam.pattern)}`);
  }
}

/** RGB -> camera matrix, rows normalized to sum 1 (unprocess.py random_ccm), and its inverse. */
export function cameraMatrices(cam: CameraParams): { rgb2cam: number[]; cam2rgb: number[] } {
  checkCamera(cam);
  const sum = cam.ccmWeights.reduce((a, b) => a + b, 0);
  const xyz2cam = new Array<number>(9).fill(0);
  cam.ccmWeights.forEach((w, m) => XYZ2CAMS[m].forEach((v, j) => (xyz2cam[j] += (v * w) / sum)));
  const rgb2cam = mat3Multiply(xyz2cam, RGB2XYZ);
  for (let r = 0; r < 3; r++) {
    const s = rgb2cam[r * 3] + rgb2cam[r * 3 + 1] + rgb2cam[r * 3 + 2];
    for (let c = 0; c < 3; c++) rgb2cam[r * 3 + c] /= s;
  }
  return { rgb2cam, cam2rgb: mat3Inverse(rgb2cam, 'colour matrix') };
}

// Tone and gamma curves as lookup tables with linear interpolation: Math.pow/asin/sin per value
// cost more than the rest of the pipeline together.
const LIN_N = 16384;
/** sRGB value v in [0, 1] -> linear: gamma_expansion(inverse_smoothstep(v)). */
const toLinearLut = new Float64Array(LIN_N + 2);
for (let i = 0; i <= LIN_N; i++) {
  const v = i / LIN_N;
  toLinearLut[i] = Math.max(0.5 - Math.sin(Math.asin(1 - 2 * v) / 3), 1e-8) ** 2.2;
}
toLinearLut[LIN_N + 1] = toLinearLut[LIN_N];
const DISP_N = 8192;
/** Indexed by t = sqrt(y) for linear y in [0, 1] (the 1/2.2 power is steep near 0; sqrt tames it): smoothstep(y^(1/2.2)). */
const toDisplayLut = new Float64Array(DISP_N + 2);
for (let i = 0; i <= DISP_N; i++) {
  const t = i / DISP_N;
  const g = Math.max(t * t, 1e-8) ** (1 / 2.2);
  toDisplayLut[i] = 3 * g * g - 2 * g * g * g;
}
toDisplayLut[DISP_N + 1] = toDisplayLut[DISP_N];
/**
 * The two curve tables and their step counts, for the data addon's twins and their tests. Exported
 * under other names: V8 reads an exported binding through a module cell on every access, and
 * toLinear / toDisplay read these per value (the unprocess loop ran a quarter slower so).
 */
export const LINEAR_TABLE = { lut: toLinearLut, steps: LIN_N } as const;
export const DISPLAY_TABLE = { lut: toDisplayLut, steps: DISP_N } as const;

/** Inverse tone curve and gamma: display value (clipped to [0, 1]) -> linear. */
export function toLinear(v: number): number {
  // Inverse smoothstep has a square-root corner at 1: interpolation would be off there by ~0.6/255.
  if (v > 0.995 && v < 1) return (0.5 - Math.sin(Math.asin(1 - 2 * v) / 3)) ** 2.2;
  const x = (v < 0 ? 0 : v > 1 ? 1 : v) * LIN_N;
  const i = x | 0;
  const f = x - i;
  return toLinearLut[i] + f * (toLinearLut[i + 1] - toLinearLut[i]);
}

/** Gamma and tone curve: linear value (clipped to [0, 1]) -> display. */
export function toDisplay(y: number): number {
  const x = Math.sqrt(y < 0 ? 0 : y > 1 ? 1 : y) * DISP_N;
  const i = x | 0;
  const f = x - i;
  return toDisplayLut[i] + f * (toDisplayLut[i + 1] - toDisplayLut[i]);
}

function checkImage(image: Image): void {
  if (!image || !(image.data instanceof Float32Array) || image.data.length !== image.width * image.height * CHANNELS) {
    throw new RangeError('image must be an RGB Float32 image of width*height*3 values');
  }
}

/**
 * sRGB image -> linear camera RGB in [0, 1] before the colour filter array (unprocess.py up to,
 * not including, `mosaic`): tone and gamma inverted, RGB->camera CCM, white balance and
 * brightening inverted with saturated pixels protected (safe_invert_gains), clipped.
 * With `protect` false the gains are inverted everywhere (no clip at 1 either): the raw colour of a light
 * that white balance maps back to its own colour, for radiance above the photo's white (BLN's lamps).
 */
export function unprocess(image: Image, cam: CameraParams, protect = true): Image {
  checkImage(image);
  const { rgb2cam: m } = cameraMatrices(cam);
  const g0 = 1 / cam.redGain / cam.rgbGain;
  const g1 = 1 / cam.rgbGain;
  const g2 = 1 / cam.blueGain / cam.rgbGain;
  const src = image.data;
  const out = createImage(image.width, image.height);
  const o = out.data;
  if (dataAddon && src.length >= NATIVE_MIN_LENGTH) {
    // The addon leaves to this file the pixels with a value in toLinear's exact corner, (0.995, 1).
    const corner = new Int32Array(src.length / 3);
    const count = dataAddon.unprocessRgb(src, o, Float64Array.from(m), Float64Array.of(g0, g1, g2), protect, toLinearLut, LIN_N, corner);
    unprocessPixels(src, o, m, [g0, g1, g2], protect, corner.subarray(0, count));
  } else {
    unprocessPixels(src, o, m, [g0, g1, g2], protect, null);
  }
  return out;
}

/**
 * unprocess's loop over every pixel, or only over the value indices in `only`: the reference for the
 * data addon's unprocessRgb (native/png/pixels.cc). One loop for both, kept whole so V8 compiles it
 * as one (a function per pixel ran a third slower).
 */
export function unprocessPixels(src: Float32Array, o: Float32Array, m: readonly number[], gains: readonly number[], protect: boolean, only: Int32Array | null): void {
  const [g0, g1, g2] = gains;
  const hi = protect ? 1 : Infinity;
  const n = only ? only.length : src.length / 3;
  for (let k = 0; k < n; k++) {
    const i = only ? only[k] : 3 * k;
    const r = toLinear(src[i]);
    const g = toLinear(src[i + 1]);
    const b = toLinear(src[i + 2]);
    const cr = m[0] * r + m[1] * g + m[2] * b;
    const cg = m[3] * r + m[4] * g + m[5] * b;
    const cb = m[6] * r + m[7] * g + m[8] * b;
    // Gains fade to 1 as the mean rises from 0.9 to 1, so white stays white through process().
    const over = protect ? (cr + cg + cb) / 3 - 0.9 : 0;
    const mask = over > 0 ? (over / 0.1) * (over / 0.1) : 0;
    const s0 = Math.max(mask + (1 - mask) * g0, g0);
    const s1 = Math.max(mask + (1 - mask) * g1, g1);
    const s2 = Math.max(mask + (1 - mask) * g2, g2);
    const v0 = cr * s0;
    const v1 = cg * s1;
    const v2 = cb * s2;
    o[i] = v0 < 0 ? 0 : v0 > hi ? hi : v0;
    o[i + 1] = v1 < 0 ? 0 : v1 > hi ? hi : v1;
    o[i + 2] = v2 < 0 ? 0 : v2 > hi ? hi : v2;
  }
}

function checkNoise(noise: NoiseLevels): NoiseLevels {
  const { shot, read } = noise;
  if (!(shot >= 0) || !Number.isFinite(shot)) throw new RangeError(`shot must be a finite number >= 0, got ${shot}`);
  if (!(read >= 0) || !Number.isFinite(read)) throw new RangeError(`read must be a finite number >= 0, got ${read}`);
  return noise;
}

/**
 * Shot + read noise in place (unprocess.py add_noise): x += N(0, shot * x + read). A Gaussian
 * with the Poisson-Gaussian variance, as Brooks et al. use; works on a CFA plane or RGB data.
 */
export function addShotReadNoise(values: Float32Array, noise: NoiseLevels, rng: Rng): Float32Array {
  const { shot, read } = checkNoise(noise);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const variance = shot * x + read;
    values[i] = x + (variance > 0 ? Math.sqrt(variance) : 0) * standardNormal(rng);
  }
  return values;
}

/** Apply white balance and brightening to a CFA plane in place, then clip (process.py apply_gains). */
function gainPlane(plane: Float32Array, width: number, height: number, cam: CameraParams): void {
  const gains = [cam.redGain * cam.rgbGain, cam.rgbGain, cam.blueGain * cam.rgbGain];
  const cell = Array.from(cam.pattern, (ch) => gains['RGB'.indexOf(ch)]);
  for (let y = 0; y < height; y++) {
    const ga = cell[(y & 1) * 2];
    const gb = cell[(y & 1) * 2 + 1];
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const v = plane[i] * (x & 1 ? gb : ga);
      plane[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}

/** Camera -> RGB CCM, clip, gamma and tone curve, in place on demosaicked RGB. */
function finishRgb(data: Float32Array, cam2rgb: readonly number[]): void {
  if (dataAddon && data.length >= NATIVE_MIN_LENGTH) dataAddon.cameraToDisplay(data, Float64Array.from(cam2rgb), toDisplayLut, DISP_N);
  else finishRgbJs(data, cam2rgb);
}

/** finishRgb's loop: the reference for the data addon's cameraToDisplay (native/png/pixels.cc). */
export function finishRgbJs(data: Float32Array, cam2rgb: readonly number[]): void {
  const m = cam2rgb;
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i];
    const g = data[i + 1];
    const b = data[i + 2];
    data[i] = toDisplay(m[0] * r + m[1] * g + m[2] * b);
    data[i + 1] = toDisplay(m[3] * r + m[4] * g + m[5] * b);
    data[i + 2] = toDisplay(m[6] * r + m[7] * g + m[8] * b);
  }
}

/** A CFA plane (from `mosaic` of `unprocess`'s output, noise added) -> sRGB (process.py, bilinear demosaic). */
export function processMosaic(plane: Float32Array, width: number, height: number, cam: CameraParams): Image {
  const { cam2rgb } = cameraMatrices(cam);
  if (!(plane instanceof Float32Array) || plane.length !== width * height) {
    throw new RangeError(`plane must be a Float32Array of width*height = ${width * height} values`);
  }
  const gained = plane.slice();
  gainPlane(gained, width, height, cam);
  const rgb = demosaic(gained, width, height, cam.pattern, 'bilinear');
  finishRgb(rgb.data, cam2rgb);
  return rgb;
}

/** Linear camera RGB (no CFA) -> sRGB: white balance, clip, CCM, clip, gamma and tone curve. */
export function processRaw(raw: Image, cam: CameraParams): Image {
  checkImage(raw);
  const { cam2rgb } = cameraMatrices(cam);
  const gains = [cam.redGain * cam.rgbGain, cam.rgbGain, cam.blueGain * cam.rgbGain];
  const out = createImage(raw.width, raw.height);
  const o = out.data;
  const s = raw.data;
  for (let i = 0; i < s.length; i++) {
    const v = s[i] * gains[i % 3];
    o[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  finishRgb(o, cam2rgb);
  return out;
}

/**
 * The whole simulated capture: unprocess, Bayer mosaic, shot + read noise from `rng`, process
 * (`captureRaw` from the unprocessed image on).
 */
export function captureWithNoise(image: Image, cam: CameraParams, noise: NoiseLevels, rng: Rng): Image {
  return captureRaw(unprocess(image, cam), cam, noise, rng);
}

/**
 * Linear camera RGB in [0, 1] before the CFA (as `unprocess` gives, or a scene built in that space) through
 * the sensor and the pipeline: Bayer mosaic, one pass of shot + read noise from `rng`, process.
 *
 * Demosaicking is linear, so demosaic(signal + noise) = demosaic(signal) + demosaic(noise). The
 * signal is taken at full resolution (a perfect demosaic) and only the noise goes through the CFA
 * and the bilinear demosaic: the noise gets the camera's spatial and cross-channel correlation
 * while the pair differs by noise alone, not by demosaicking artifacts (those are MS's type).
 * The clip after white balance is kept: the noise is the clipped noisy value minus the clipped clean one.
 * Images under 2 pixels on a side have no full CFA cell: their noise is added per channel.
 */
export function captureRaw(raw: Image, cam: CameraParams, noise: NoiseLevels, rng: Rng): Image {
  checkImage(raw);
  const { width, height } = raw;
  if (width < 2 || height < 2) {
    const copy = createImage(width, height, raw.data.slice());
    addShotReadNoise(copy.data, noise, rng);
    return processRaw(copy, cam);
  }
  const { cam2rgb } = cameraMatrices(cam);
  const { shot, read } = checkNoise(noise);
  const gains = [cam.redGain * cam.rgbGain, cam.rgbGain, cam.blueGain * cam.rgbGain];
  const cell = Array.from(cam.pattern, (ch) => gains['RGB'.indexOf(ch)]);
  // One pass over the CFA plane: noise (as addShotReadNoise), white balance, clip, and the
  // difference from the clipped clean value.
  const noisy = mosaic(raw, cam.pattern);
  for (let y = 0; y < height; y++) {
    const ga = cell[(y & 1) * 2];
    const gb = cell[(y & 1) * 2 + 1];
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const g = x & 1 ? gb : ga;
      const v = noisy[i];
      const variance = shot * v + read;
      const n = g * (v + (variance > 0 ? Math.sqrt(variance) : 0) * standardNormal(rng));
      const c = g * v;
      noisy[i] = (n < 0 ? 0 : n > 1 ? 1 : n) - (c > 1 ? 1 : c);
    }
  }
  const out = demosaic(noisy, width, height, cam.pattern, 'bilinear');
  const o = out.data;
  const r = raw.data;
  for (let i = 0; i < o.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = r[i + c] * gains[c];
      o[i + c] += v > 1 ? 1 : v; // raw is already >= 0
    }
  }
  finishRgb(o, cam2rgb);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The RN registry entry: levels over shot noise, 8 log-spaced across the paper's training range
// [1e-4, 0.012] and none beyond: past it the per-pixel colour noise of an unprocessed raw image is what no
// processed camera image shows (a camera at that gain denoises and compresses), and 0.012 already brings
// the bundled photos to ~18 dB, below SIDD's noisy inputs (docs/calibration.md).

const SHOT_LEVELS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.012] as const;
const RN_LEVELS: readonly LevelDef[] = levelsOf('shot', SHOT_LEVELS, (shot) => ({
  shot,
  read: 'exp(2.18 ln(shot) + 1.2 + N(0, 0.26))',
}));

export type RealNoiseParams = {
  level: string;
  camera: CameraParams;
  shot: number;
  read: number;
  seed: string;
};

export const realNoise = defineDegradation<RealNoiseParams>({
  version: 2,
  id: 'RN',
  name: 'real-camera noise',
  description:
    'Sensor noise added in a simulated raw domain: the photo is unprocessed to linear camera RGB behind a Bayer mosaic, given shot + read noise, and processed back (white balance, bilinear demosaic, colour matrix, gamma, tone curve).',
  method:
    'Brooks et al. 2019, Unprocessing Images for Learned Raw Denoising (google-research unprocessing/unprocess.py, process.py): random CCM/gains, ' +
    'noise variance shot*x + read with log_read = 2.18 log_shot + 1.2 + N(0, 0.26); shot levels span the paper range [1e-4, 0.012] and stop there; process also restores brightening and tone so the pair differs by noise alone',
  levels: RN_LEVELS,
  sample(level, rng) {
    const def = levelAt(RN_LEVELS, level, 'RN');
    const camera = sampleCamera(rng);
    const shot = def.settings.shot as number;
    const read = readNoiseFor(shot, rng);
    return { level: def.id, camera, shot, read, seed: rng.childSeed() };
  },
  async apply(image, params) {
    return captureWithNoise(image, params.camera, { shot: params.shot, read: params.read }, createRng(params.seed));
  },
});
