import { mat3Inverse, mat3Multiply, mat3Project } from '../core/mat3.js';
import { CHANNELS, clampInPlace, createImage, type Image } from '../core/image.js';
import { createRng } from '../core/random.js';
import { convolveSeparable, gaussianTaps } from '../core/conv.js';
import { jpegRoundTrip } from './jpeg.js';
import { BAYER_PATTERNS, cfaChannels, demosaic, type BayerPattern } from './kernels/bayer.js';
import { defineDegradation, levelAt, levelsOf, type LevelDef } from './types.js';

/**
 * MR: moire, the screen-recapture pipeline of Liu, Shu & Wu 2018 ("Demoireing of camera-captured
 * screen images using deep convolutional neural network", arXiv:1804.03809, section 3), all ten steps:
 *  1. the image is shown on an LCD: every pixel is three vertical R, G, B stripes (each a third of
 *     the pixel wide) with a dark gap between pixel rows (the black matrix);
 *  2. a random projective transform places the screen in front of the camera (rotation, scale =
 *     sensor pixels per screen pixel, keystone, sub-pixel shift), all recorded;
 *  3. radial lens distortion (one-term radial model about a drawn centre): the local scale and
 *     angle of the screen grid on the sensor change across the frame, which bends the bands;
 *  4. the lens plus the sensor pixel's aperture blur the screen (the anti-aliasing filter: a Gaussian
 *     PSF whose width is given in sensor pixels, convolved with a one-pixel box);
 *  5. a Bayer sensor samples it: each sensor pixel sees only its own colour's stripes, so the
 *     stripe grid (period = `ratio` sensor pixels) aliases against the CFA's 2-pixel period;
 *  6. Gaussian sensor noise is added to the raw plane;
 *  7. it is demosaiced (Malvar 2004);
 *  8. the camera's denoising filter (a small Gaussian);
 *  9. JPEG compression at a phone camera's quality;
 * 10. the decoded photo is the output; here it is resampled back onto the input's pixel grid through
 *     the same lens and transform (each output pixel = the mean of 2x2 points of its screen
 *     footprint), so lq and gt align.
 * The stripes average out in step 10; what survives is the aliased part: moire bands, curved by the
 * lens and the keystone, coloured by the CFA, and of a scale that follows the local ratio (so one
 * frame holds several). Liu et al. give no parameter ranges; the ones here are chosen so that the
 * bands span fine gratings to bands a quarter of the frame wide (see MOIRE_RATIO).
 *
 * The screen is never rendered at subpixel resolution: each sensor pixel reads the content
 * (bilinear) times the blurred stripe and row masks (box (x) Gaussian = difference of erfs,
 * tabulated over one period) at its own screen point.
 */

/**
 * Levels: the width (std, sensor px) of the lens/anti-aliasing PSF, falling. The PSF is what
 * stands between the stripe grid and the CFA: the narrower it is, the more of the stripes'
 * energy aliases into moire bands (their contrast rises; frequency and shape come from the
 * random ratio, rotation and keystone). Liu et al.'s "flat-top Gaussian" anti-aliasing filter.
 */
export const MOIRE_PSF = [0.8, 0.7, 0.62, 0.55, 0.48, 0.42, 0.36, 0.3, 0.25] as const;

/**
 * Sensor pixels per screen pixel, drawn log-uniformly: from 1.2 (a monitor filling the frame; the
 * black matrix and the green sites alias into coarse bands) through 2 (the stripe period meets the
 * 2-pixel period of the CFA's red and blue sites: the widest colour bands) to 2.6 (close-up; fine
 * coloured fringes as the stripes begin to resolve). Version 1 drew [1.6, 2.1] only: one straight,
 * fine grating per sample. The sensor's pixel count, and with it the cost, grows as ratio^2.
 */
export const MOIRE_RATIO: readonly [number, number] = [1.2, 2.6];
/** Rotation of the screen on the sensor, degrees (small angles give the longest bands). */
export const MOIRE_ANGLE = 20;
/** Keystone (projective) terms, per half-width and half-height: a screen tilted up to ~15%. */
export const MOIRE_KEYSTONE = 0.15;
/** Radial distortion k1 (> 0 barrel, < 0 pincushion) over the screen's extent from the lens centre. */
export const MOIRE_DISTORTION = 0.12;

const LEVELS: LevelDef[] = levelsOf('psf', MOIRE_PSF, (blur) => ({
  blur, ratio: [...MOIRE_RATIO], angle: MOIRE_ANGLE, keystone: MOIRE_KEYSTONE, distortion: MOIRE_DISTORTION, jpeg: [75, 95],
}));

export interface MoireParams {
  [key: string]: string | number | number[];
  level: string;
  /** Sensor pixels per screen pixel. */
  ratio: number;
  /** Rotation of the screen on the sensor, degrees. */
  angle: number;
  /** Keystone: projective terms per half-width and half-height of the image. */
  keystone: number[];
  /** Sub-pixel shift of the screen on the sensor, sensor px. */
  shift: number[];
  /** Radial distortion k1 at the edge of the screen's extent from the lens centre (> 0 barrel). */
  distortion: number;
  /** Lens centre, as fractions of the half-extent of the screen's image from its middle. */
  lensCentre: number[];
  /** Lens PSF std, sensor px (the pixel aperture is added on top). */
  blur: number;
  /** Fraction of a pixel's height that its stripes light (the rest is black matrix). */
  fill: number;
  /** Raw-plane noise std, 8-bit units. */
  noise: number;
  /** The camera's denoising filter: Gaussian std in sensor px (0 = none). */
  denoise: number;
  /** The camera's JPEG quality. */
  quality: number;
  pattern: BayerPattern;
  seed: string;
}

export const moire = defineDegradation<MoireParams>({
  version: 2,
  id: 'MR',
  name: 'moire',
  description:
    'A photographed LCD: RGB subpixel stripes, projective warp, radial lens distortion, lens blur, Bayer capture, noise, demosaic, denoise, JPEG, resampled back to the input grid: curved, coloured bands of several scales.',
  method:
    'Liu, Shu & Wu 2018 (arXiv:1804.03809) screen-recapture synthesis, all ten steps: RGB-stripe subpixel screen with black matrix, random projective ' +
    'transform, radial lens distortion, Gaussian lens PSF + pixel aperture, Bayer CFA sampling, Gaussian raw noise, Malvar 2004 demosaic, Gaussian denoise, ' +
    'JPEG (libjpeg), then inverse lens + warp area resampling. Levels psf:<std>: lens PSF std in sensor px, 0.8 -> 0.25 (narrower = stronger aliasing); ' +
    'per sample: ratio log-U[1.2, 2.6] sensor px per screen px, rotation U[-20, 20] deg, keystone U[-0.15, 0.15], distortion k1 U[-0.12, 0.12] about a ' +
    'centre U[-0.5, 0.5] of the half-extent, black-matrix fill U[0.75, 0.95], noise U[0.5, 2]/255, denoise std U[0.2, 0.6] px, JPEG quality 75..95, CFA phase.',
  levels: LEVELS,
  sample(level, rng) {
    const def = levelAt(LEVELS, level, 'MR');
    return {
      level: def.id,
      ratio: Math.exp(rng.range(Math.log(MOIRE_RATIO[0]), Math.log(MOIRE_RATIO[1]))),
      angle: rng.range(-MOIRE_ANGLE, MOIRE_ANGLE),
      keystone: [rng.range(-MOIRE_KEYSTONE, MOIRE_KEYSTONE), rng.range(-MOIRE_KEYSTONE, MOIRE_KEYSTONE)],
      shift: [rng.range(0, 2), rng.range(0, 2)],
      distortion: rng.range(-MOIRE_DISTORTION, MOIRE_DISTORTION),
      lensCentre: [rng.range(-0.5, 0.5), rng.range(-0.5, 0.5)],
      blur: def.settings.blur as number,
      fill: rng.range(0.75, 0.95),
      noise: rng.range(0.5, 2),
      denoise: rng.range(0.2, 0.6),
      quality: rng.int(75, 95),
      pattern: rng.pick(BAYER_PATTERNS),
      seed: rng.childSeed(),
    };
  },
  async apply(image, params) {
    return photographScreen(image, params);
  },
});

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

const LUT_STEP = 256;

/**
 * A box of width `width` (unit area) blurred by a Gaussian of std `sigma`, tabulated at 1/256 px.
 * `taps` integer pixels, starting at the first inside the support (|d| < radius), cover it; the
 * table runs two pixels further with zeros, so a lookup at any of those taps needs no check.
 */
interface Profile {
  radius: number;
  taps: number;
  /** Table index of d = 0, plus 0.5 for rounding by truncation. */
  centre: number;
  table: Float32Array;
}

function boxGaussProfile(width: number, sigma: number): Profile {
  // 3 sigma: the tail beyond holds < 0.2% of the weight.
  const radius = width / 2 + 3 * sigma;
  const half = Math.ceil((radius + 2) * LUT_STEP);
  const table = new Float32Array(2 * half + 1);
  for (let i = 0; i <= 2 * half; i++) {
    const d = (i - half) / LUT_STEP;
    if (Math.abs(d) < radius) table[i] = (phi((d + width / 2) / sigma) - phi((d - width / 2) / sigma)) / width;
  }
  return { radius, taps: Math.ceil(2 * radius) + 1, centre: half + 0.5, table };
}

/** The three channels as separate planes, padded by `pad` on every side with the edge pixels repeated. */
function edgePaddedPlanes(data: Float32Array, W: number, H: number, pad: number): Float32Array[] {
  const pw = W + 2 * pad;
  const ph = H + 2 * pad;
  return [0, 1, 2].map((c) => {
    const plane = new Float32Array(pw * ph);
    for (let y = 0; y < ph; y++) {
      const sy = (y < pad ? 0 : y >= H + pad ? H - 1 : y - pad) * W;
      for (let x = 0; x < pw; x++) plane[y * pw + x] = data[(sy + (x < pad ? 0 : x >= W + pad ? W - 1 : x - pad)) * CHANNELS + c];
    }
    return plane;
  });
}

function checkParams(p: MoireParams): void {
  const num = (v: unknown, lo: number, hi: number, name: string) => {
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new RangeError(`${name} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  };
  num(p.ratio, 0.5, 4, 'ratio');
  num(p.angle, -45, 45, 'angle');
  num(p.blur, 0.05, 4, 'blur');
  num(p.fill, 0.3, 1, 'fill');
  num(p.noise, 0, 64, 'noise');
  if (!Array.isArray(p.keystone) || p.keystone.length !== 2) throw new RangeError('keystone must be [kx, ky]');
  p.keystone.forEach((v, i) => num(v, -0.3, 0.3, `keystone[${i}]`));
  if (!Array.isArray(p.shift) || p.shift.length !== 2) throw new RangeError('shift must be [dx, dy]');
  p.shift.forEach((v, i) => num(v, -4, 4, `shift[${i}]`));
  num(p.distortion, -0.2, 0.2, 'distortion');
  if (!Array.isArray(p.lensCentre) || p.lensCentre.length !== 2) throw new RangeError('lensCentre must be [cx, cy]');
  p.lensCentre.forEach((v, i) => num(v, -1, 1, `lensCentre[${i}]`));
  num(p.denoise, 0, 0.6, 'denoise');
  if (!Number.isInteger(p.quality) || p.quality < 1 || p.quality > 100) throw new RangeError(`quality must be an integer in [1, 100], got ${String(p.quality)}`);
}

/**
 * Where the screen lands on the sensor. Screen (image px, centres on integers) -> ideal (pinhole) sensor
 * position by the homography `forward`; the lens then moves each ideal point radially: the sensor point s
 * at normalized radius rho = |s - centre| / radius sees the ideal point centre + (s - centre)(1 + k1 rho^2).
 */
export interface ScreenWarp {
  /** Row-major 3x3, screen px -> ideal sensor px. */
  forward: number[];
  inverse: number[];
  lens: { k1: number; cx: number; cy: number; radius: number };
  /** Ideal radius^2 / radius^2 -> (sensor radius / ideal radius), LENS_LUT + 2 entries over [0, LENS_T]. */
  distortTable: Float64Array;
  sensorWidth: number;
  sensorHeight: number;
}

const LENS_LUT = 1024;
/** The table reaches a little past the screen's extent (rho <= 1 by construction). */
const LENS_T = 1.21;

/** rho_s / rho_u where rho_u = rho_s (1 + k1 rho_s^2), tabulated over t = rho_u^2 (Newton per entry). */
function distortTable(k1: number): Float64Array {
  const table = new Float64Array(LENS_LUT + 2);
  for (let i = 0; i <= LENS_LUT; i++) {
    const ru = Math.sqrt((i / LENS_LUT) * LENS_T);
    let r = ru;
    for (let it = 0; it < 12; it++) r -= (r * (1 + k1 * r * r) - ru) / (1 + 3 * k1 * r * r);
    table[i] = ru > 0 ? r / ru : 1;
  }
  table[LENS_LUT + 1] = table[LENS_LUT];
  return table;
}

/** Ideal sensor point -> the sensor point that sees it (the lens distortion). */
export function distortPoint(warp: ScreenWarp, ux: number, uy: number): [number, number] {
  const { cx, cy, radius } = warp.lens;
  const dx = ux - cx;
  const dy = uy - cy;
  const t = ((dx * dx + dy * dy) / (radius * radius)) * (LENS_LUT / LENS_T);
  const j = t < LENS_LUT ? t | 0 : LENS_LUT;
  const h = warp.distortTable[j] + (t - j) * (warp.distortTable[j + 1] - warp.distortTable[j]);
  return [cx + dx * h, cy + dy * h];
}

/** Sensor point -> screen point: undo the lens (closed form), then the homography. */
export function sensorToScreen(warp: ScreenWarp, p: number, q: number): [number, number] {
  const { k1, cx, cy, radius } = warp.lens;
  const dx = p - cx;
  const dy = q - cy;
  const f = 1 + (k1 * (dx * dx + dy * dy)) / (radius * radius);
  return mat3Project(warp.inverse, cx + dx * f, cy + dy * f);
}

/** Screen point -> sensor point: the homography, then the lens. */
export function screenToSensor(warp: ScreenWarp, x: number, y: number): [number, number] {
  const [u, v] = mat3Project(warp.forward, x, y);
  return distortPoint(warp, u, v);
}

/** Points along the border of a w x h rectangle whose pixel centres are on integers. */
function borderPoints(w: number, h: number, per = 32): [number, number][] {
  const pts: [number, number][] = [];
  for (let i = 0; i <= per; i++) {
    const t = i / per;
    pts.push([-0.5 + t * w, -0.5], [-0.5 + t * w, h - 0.5], [-0.5, -0.5 + t * h], [w - 0.5, -0.5 + t * h]);
  }
  return pts;
}

/**
 * Centre, keystone, rotate and scale; place the lens centre and its radius (the farthest screen corner,
 * so the whole screen is within rho <= 1, where the distortion is invertible for |k1| <= 0.2); then move
 * into a sensor that holds the whole distorted screen plus a margin.
 */
export function screenWarp(width: number, height: number, params: MoireParams): ScreenWarp {
  const cx0 = (width - 1) / 2;
  const cy0 = (height - 1) / 2;
  const t = (params.angle * Math.PI) / 180;
  const cs = Math.cos(t) * params.ratio;
  const sn = Math.sin(t) * params.ratio;
  const centre = [1, 0, -cx0, 0, 1, -cy0, 0, 0, 1];
  const keystone = [1, 0, 0, 0, 1, 0, params.keystone[0] / (width / 2), params.keystone[1] / (height / 2), 1];
  const rotScale = [cs, -sn, 0, sn, cs, 0, 0, 0, 1];
  const m = mat3Multiply(rotScale, mat3Multiply(keystone, centre));
  const corners = ([[-0.5, -0.5], [width - 0.5, -0.5], [-0.5, height - 0.5], [width - 0.5, height - 0.5]] as const).map(([x, y]) => mat3Project(m, x, y));
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const lx = (minX + maxX) / 2 + (params.lensCentre[0] * (maxX - minX)) / 2;
  const ly = (minY + maxY) / 2 + (params.lensCentre[1] * (maxY - minY)) / 2;
  const radius = Math.max(...corners.map(([x, y]) => Math.hypot(x - lx, y - ly)));
  const draft: ScreenWarp = {
    forward: m,
    inverse: mat3Inverse(m, 'the screen warp'),
    lens: { k1: params.distortion, cx: lx, cy: ly, radius },
    distortTable: distortTable(params.distortion),
    sensorWidth: 0,
    sensorHeight: 0,
  };
  let dMinX = Infinity;
  let dMinY = Infinity;
  let dMaxX = -Infinity;
  let dMaxY = -Infinity;
  for (const [x, y] of borderPoints(width, height)) {
    const [u, v] = screenToSensor(draft, x, y);
    dMinX = Math.min(dMinX, u);
    dMaxX = Math.max(dMaxX, u);
    dMinY = Math.min(dMinY, v);
    dMaxY = Math.max(dMaxY, v);
  }
  const margin = 4;
  const tx = margin - dMinX + params.shift[0] - 1;
  const ty = margin - dMinY + params.shift[1] - 1;
  const forward = mat3Multiply([1, 0, tx, 0, 1, ty, 0, 0, 1], m);
  return {
    forward,
    inverse: mat3Inverse(forward, 'the screen warp'),
    lens: { k1: params.distortion, cx: lx + tx, cy: ly + ty, radius },
    distortTable: draft.distortTable,
    sensorWidth: Math.ceil(dMaxX - dMinX) + 2 * margin,
    sensorHeight: Math.ceil(dMaxY - dMinY) + 2 * margin,
  };
}

/** How far outside the image (in screen px) any sensor pixel looks, from samples of the sensor's border. */
function screenOverreach(warp: ScreenWarp, W: number, H: number): number {
  let over = 0;
  for (const [p, q] of borderPoints(warp.sensorWidth, warp.sensorHeight)) {
    const [x, y] = sensorToScreen(warp, p, q);
    over = Math.max(over, -x, -y, x - (W - 1), y - (H - 1));
  }
  // the border samples miss the bulge between them by far less than a pixel
  return over + 1;
}

/**
 * Steps 1-4, reference form: the raw Bayer plane of a camera looking at `image` on an RGB-stripe
 * LCD. Each sensor pixel of colour c sums, over nearby screen pixels (j, i), I_c(j, i) times the
 * stripe's horizontal profile at its distance from stripe c's centre times the vertical profile
 * of the lit part of the pixel row (both box (x) PSF, unit area, so a flat screen keeps its
 * level). Exact for the screen model but ~2.5x slower than `captureScreen`, which the pipeline
 * uses; kept to check it (they agree to > 40 dB).
 */
export function captureScreenExact(image: Image, warp: ScreenWarp, params: MoireParams): Float32Array {
  const { width: W, height: H, data } = image;
  const { sensorWidth: sw, sensorHeight: sh, inverse: inv } = warp;
  // PSF in screen px: lens Gaussian and the sensor pixel's box (variance 1/12) in sensor px,
  // divided by the scale (the keystone changes it by a few percent locally: ignored).
  const sigma = Math.sqrt(params.blur * params.blur + 1 / 12) / params.ratio;
  const hp = boxGaussProfile(1 / 3, sigma);
  const vp = boxGaussProfile(params.fill, sigma);
  const { table: hTab, centre: hC, radius: hR } = hp;
  const { table: vTab, centre: vC, radius: vR } = vp;

  // One plane per channel, padded by repeating the edge pixels: beyond the image the screen
  // shows its edges (no dark bezel creeping into the borders), and the tap loops need no clamps.
  const pad = Math.ceil(screenOverreach(warp, W, H) + Math.max(hR, vR)) + 2;
  const pw = W + 2 * pad;
  const planes = edgePaddedPlanes(data, W, H, pad);

  const cells = cfaChannels(params.pattern);
  const raw = new Float32Array(sw * sh);
  const hw = new Float64Array(hp.taps);
  const [a0, a1, a2, b0, b1, b2, c0, c1, c2] = inv;
  const lcx = [warp.lens.cx, warp.lens.cy];
  const k1n = warp.lens.k1 / (warp.lens.radius * warp.lens.radius);
  // Each sensor row is walked once per CFA column phase, so the colour (and its plane and stripe
  // offset) is fixed inside the loop.
  for (let q = 0; q < sh; q++) {
    for (let phase = 0; phase < 2; phase++) {
      const c = cells[(q & 1) * 2 + phase];
      const plane = planes[c];
      const offset = (c - 1) / 3;
      const dy = q - lcx[1];
      for (let p = phase, k = q * sw + phase; p < sw; p += 2, k += 2) {
        const dx = p - lcx[0];
        const f = 1 + k1n * (dx * dx + dy * dy);
        const ux = lcx[0] + dx * f;
        const uy = lcx[1] + dy * f;
        const nx = a0 * ux + a1 * uy + a2;
        const rd = 1 / (c0 * ux + c1 * uy + c2);
        const y = (b0 * ux + b1 * uy + b2) * rd;
        // Stripe c of pixel j is centred at j + (c - 1) / 3; visit the pixels whose stripe
        // profile (horizontally) and row profile (vertically) reach this point.
        const xs = nx * rd - offset;
        const j0 = Math.floor(xs - hR) + 1;
        const i0 = Math.floor(y - vR) + 1;
        const nj = Math.floor(xs + hR) - j0 + 1;
        const ni = Math.floor(y + vR) - i0 + 1;
        const hBase = (xs - j0) * LUT_STEP + hC;
        for (let t = 0; t < nj; t++) hw[t] = hTab[(hBase - t * LUT_STEP) | 0];
        const vBase = (y - i0) * LUT_STEP + vC;
        let row = (i0 + pad) * pw + j0 + pad;
        let acc = 0;
        for (let t = 0; t < ni; t++, row += pw) {
          let sum = 0;
          for (let u = 0; u < nj; u++) sum += hw[u] * plane[row + u];
          acc += vTab[(vBase - t * LUT_STEP) | 0] * sum;
        }
        raw[k] = acc;
      }
    }
  }
  return raw;
}

/**
 * A unit-period comb of `profile`s, sum_j profile(t - j), tabulated over t in [0, 1) at 1/256:
 * the blurred stripe (or row) mask of a flat screen. Mean 1.
 */
function periodicMask(profile: Profile): Float32Array {
  const mask = new Float32Array(LUT_STEP + 1);
  const reach = Math.ceil(profile.radius) + 1;
  for (let i = 0; i <= LUT_STEP; i++) {
    let s = 0;
    for (let j = -reach; j <= reach; j++) {
      const d = i / LUT_STEP - j;
      if (Math.abs(d) < profile.radius) s += profile.table[Math.round(d * LUT_STEP + profile.centre - 0.5)];
    }
    mask[i] = s;
  }
  return mask;
}

/**
 * Steps 1-4: the raw Bayer plane, with the screen as content times a periodic subpixel mask. Sensor pixel of
 * colour c sees I_c bilinearly interpolated at its screen point (shifted to stripe c's centres)
 * times the blurred stripe mask and the blurred row mask there. Blurring the product is replaced
 * by the product of the blurred mask and the content, exact on smooth content, a tent instead
 * of box (x) PSF across sharp edges; the moire comes from the mask, which is exact.
 */
export function captureScreen(image: Image, warp: ScreenWarp, params: MoireParams): Float32Array {
  const { width: W, height: H, data } = image;
  const { sensorWidth: sw, sensorHeight: sh } = warp;
  const sigma = Math.sqrt(params.blur * params.blur + 1 / 12) / params.ratio;
  const hMask = periodicMask(boxGaussProfile(1 / 3, sigma));
  const vMask = periodicMask(boxGaussProfile(params.fill, sigma));

  const pad = Math.ceil(screenOverreach(warp, W, H)) + 2;
  const pw = W + 2 * pad;
  const planes = edgePaddedPlanes(data, W, H, pad);

  const cells = cfaChannels(params.pattern);
  const raw = new Float32Array(sw * sh);
  const rowX = new Float64Array(sw);
  const rowY = new Float64Array(sw);
  for (let q = 0; q < sh; q++) {
    rowOfPoints(sw, (p) => sensorToScreen(warp, p, q), rowX, rowY);
    for (let phase = 0; phase < 2; phase++) {
      const c = cells[(q & 1) * 2 + phase];
      const plane = planes[c];
      const offset = (c - 1) / 3 - pad;
      for (let p = phase, k = q * sw + phase; p < sw; p += 2, k += 2) {
        // Padded-plane coordinates, stripe c's centres on integers.
        const xs = rowX[p] - offset;
        const ys = rowY[p] + pad;
        const j = xs | 0;
        const i = ys | 0;
        const fx = xs - j;
        const fy = ys - i;
        const o = i * pw + j;
        const top = plane[o] + fx * (plane[o + 1] - plane[o]);
        const bottom = plane[o + pw] + fx * (plane[o + pw + 1] - plane[o + pw]);
        raw[k] = (top + fy * (bottom - top)) * hMask[(fx * LUT_STEP + 0.5) | 0] * vMask[(fy * LUT_STEP + 0.5) | 0];
      }
    }
  }
  return raw;
}

/** Knot spacing of rowOfPoints: the warp's curvature over 8 px moves a point by < 0.01 px. */
const ROW_KNOT = 8;

/**
 * A row of n mapped points, `map(i)` for i = 0..n-1: exact every ROW_KNOT points and at the end, linear in
 * between (the lens and keystone bend slowly, and the exact map costs a division and the lens per point).
 */
function rowOfPoints(n: number, map: (i: number) => [number, number], xs: Float64Array, ys: Float64Array): void {
  let [x0, y0] = map(0);
  for (let a = 0; a < n - 1; a += ROW_KNOT) {
    const b = Math.min(a + ROW_KNOT, n - 1);
    const [x1, y1] = map(b);
    const dx = (x1 - x0) / (b - a);
    const dy = (y1 - y0) / (b - a);
    for (let i = a; i < b; i++) {
      xs[i] = x0 + (i - a) * dx;
      ys[i] = y0 + (i - a) * dy;
    }
    x0 = x1;
    y0 = y1;
  }
  xs[n - 1] = x0;
  ys[n - 1] = y0;
}

/**
 * Step 10: back onto the input grid through the same warp and lens, each output pixel the mean of the
 * photo at 2x2 points of its screen footprint, +-1/4 px along the screen's axes: half a period
 * apart, they cancel the fundamental of the stripe and black-matrix grids (period 1 screen px)
 * as a downscaled view of the photo would, and keep the aliased bands, which are much coarser.
 * The lookups follow core/sample.ts bilinearInto (centres on integers, edges clamped), inlined: this is
 * a hot loop; the points of a sub-row come from rowOfPoints.
 */
export function resampleToScreen(photo: Image, warp: ScreenWarp, width: number, height: number): Image {
  const { sensorWidth: sw, sensorHeight: sh } = warp;
  const out = createImage(width, height);
  const o = out.data;
  const pd = photo.data;
  const stride = sw * CHANNELS;
  // The footprint points of one sub-row: x - 1/4 and x + 1/4 for every x, a regular grid of step 1/2.
  const n = 2 * width;
  const us = new Float64Array(n);
  const vs = new Float64Array(n);
  const acc = new Float64Array(width * CHANNELS);
  for (let y = 0; y < height; y++) {
    acc.fill(0);
    for (let dy = -0.25; dy < 0.5; dy += 0.5) {
      const yy = y + dy;
      rowOfPoints(n, (i) => screenToSensor(warp, i / 2 - 0.25, yy), us, vs);
      for (let i = 0; i < n; i++) {
        let u = us[i];
        let v = vs[i];
        u = u < 0 ? 0 : u > sw - 1.001 ? sw - 1.001 : u;
        v = v < 0 ? 0 : v > sh - 1.001 ? sh - 1.001 : v;
        const u0 = u | 0;
        const v0 = v | 0;
        const fu = u - u0;
        const fv = v - v0;
        const i00 = v0 * stride + u0 * CHANNELS;
        const i10 = i00 + stride;
        const w00 = (1 - fu) * (1 - fv);
        const w01 = fu * (1 - fv);
        const w10 = (1 - fu) * fv;
        const w11 = fu * fv;
        const k = (i >> 1) * CHANNELS;
        acc[k] += w00 * pd[i00] + w01 * pd[i00 + 3] + w10 * pd[i10] + w11 * pd[i10 + 3];
        acc[k + 1] += w00 * pd[i00 + 1] + w01 * pd[i00 + 4] + w10 * pd[i10 + 1] + w11 * pd[i10 + 4];
        acc[k + 2] += w00 * pd[i00 + 2] + w01 * pd[i00 + 5] + w10 * pd[i10 + 2] + w11 * pd[i10 + 5];
      }
    }
    const row = y * width * CHANNELS;
    for (let k = 0; k < acc.length; k++) o[row + k] = acc[k] / 4;
  }
  return out;
}

/** Inverse standard-normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function probit(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo || p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(p < lo ? p : 1 - p));
    const v = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < lo ? v : -v;
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** 4096 equiprobable normal quantiles: one uniform draw and a lookup per sample. */
const NORMAL_TABLE = Float32Array.from({ length: 4096 }, (_, k) => probit((k + 0.5) / 4096));

/**
 * Step 5a: Gaussian read noise on the raw plane, from the recorded seed. Drawn by inverse CDF
 * from a 4096-quantile table (tails cut at 3.5 sigma), two samples from the 24 high bits of each
 * uniform draw (Alea's draws have 32): the sensor has ~3 samples per output pixel, and
 * Box-Muller would cost more than the rest of the capture.
 */
export function addRawNoise(raw: Float32Array, sigma8bit: number, seed: string): void {
  if (sigma8bit <= 0) return;
  const rng = createRng(seed);
  const sd = sigma8bit / 255;
  const n = raw.length;
  for (let i = 0; i < n; i += 2) {
    const bits = (rng.uniform() * 16777216) | 0;
    raw[i] += NORMAL_TABLE[bits & 4095] * sd;
    if (i + 1 < n) raw[i + 1] += NORMAL_TABLE[bits >>> 12] * sd;
  }
}

/** Step 8: a 3-tap Gaussian (std <= 0.6 px puts < 0.5% of the weight beyond one pixel). */
function denoiseFilter(image: Image, sigma: number): Image {
  if (sigma <= 0) return image;
  const taps = gaussianTaps(sigma, 3);
  return convolveSeparable(image, taps, taps);
}

/** The MR pipeline on its own (see the module comment), for composites and tools. */
export async function photographScreen(image: Image, params: MoireParams): Promise<Image> {
  checkParams(params);
  const warp = screenWarp(image.width, image.height, params);
  const raw = captureScreen(image, warp, params);
  addRawNoise(raw, params.noise, params.seed);
  const demosaicked = demosaic(raw, warp.sensorWidth, warp.sensorHeight, params.pattern, 'malvar');
  const photo = await jpegRoundTrip(denoiseFilter(demosaicked, params.denoise), params.quality);
  return clampInPlace(resampleToScreen(photo, warp, image.width, image.height));
}
