import { gaussianBlur } from '../core/conv.js';
import { CHANNELS, cloneImage, createImage, clampInPlace, type Image } from '../core/image.js';
import { createRng, type Rng } from '../core/random.js';
import { bilinearInto, reflectCoord } from '../core/sample.js';
import { frameScale, perFrame } from './frame-scale.js';
import { checkDepthRef, depthRefFor, estimateDepth, sceneDepth, transmission, type DepthRef } from './depth.js';
import type { SparseTaps } from './kernels/line.js';
import { streakTaps } from './kernels/streak.js';
import { defineDegradation, levelAt, levelsOf, type ApplyContext, type ImageInfo, type LevelDef } from './types.js';

/**
 * RS, RD and RSD: rain streaks, raindrops on the lens, and both.
 *
 * Streaks follow the Rain100L / Rain100H / Rain13k (Yang et al. CVPR 2017; Fu et al. 2017)
 * photoshop-style recipe: a sparse random noise layer, motion-blurred by a kernel that sums to one
 * (soft cross profile, fading ends), lifted by a levels gain and screen-blended onto the photo; heavy
 * rain stacks depth layers (far: thin and faint; near: wide and defocused) and the accumulation veil of
 * Yang et al.'s rain model. Convolving a sparse noise layer with a kernel is the sum of the kernel
 * stamped at each noise pixel, so a layer is built by splatting kernels at the seed points: the cost
 * is (streaks x taps), not (pixels x taps).
 *
 * Drops follow the look of Qian et al. CVPR 2018 ("Attentive GAN", real drops on a glass plate) and
 * Porav et al. ICRA 2019 (rendered lens drops): each drop is a soft, out-of-focus blob whose inside
 * shows an inverted, fish-eye view of a wider patch of the scene around it, blurred; the scene just
 * around a drop is blurred too (the drop's defocused halo).
 */

// ---------------------------------------------------------------------------------------------
// Shared helpers

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function check(name: string, value: number, lo: number, hi: number): void {
  if (!Number.isFinite(value) || value < lo || value > hi) throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${value}`);
}

function checkSeed(name: string, seed: unknown): void {
  if (typeof seed !== 'string' || seed.length === 0) throw new RangeError(`${name} must be a non-empty string seed, got ${String(seed)}`);
}

// ---------------------------------------------------------------------------------------------
// RS: rain streaks

/**
 * One depth layer of streaks: all share a fall direction, a width and a focus; each streak draws its own
 * length (log-normal around `length`) and drop brightness.
 */
export type StreakLayer = {
  /** Seed of the layer's noise (positions, lengths, brightness). */
  seed: string;
  /** Streaks per pixel (the density of the sparse noise). */
  density: number;
  /** Median streak length in pixels (the motion-blur length). */
  length: number;
  /** Log-normal sigma of the streak lengths around the median, in [0, 1]. */
  spread: number;
  /** Fall direction in degrees, 90 = vertical (see streakKernel). */
  angle: number;
  /** Full width at half maximum of a streak's cross profile, in pixels. */
  width: number;
  /** Defocus sigma in pixels (near layers are out of focus), 0 = sharp. */
  blur: number;
  /**
   * Peak value that an in-focus streak `reference` pixels long of the brightest drop reaches, in (0, 4] (the
   * levels gain of the recipe): streaks longer than the reference are fainter, shorter ones brighter.
   */
  brightness: number;
  /** Length in pixels at which a streak's peak equals `brightness` (a fixed exposure: length ~ fall speed). */
  reference: number;
};

export type RainStreakSettings = {
  /** Depth layers, far to near. */
  layers: StreakLayer[];
  /** Screen-blend colour of the streaks (grey level, near white). */
  colour: number;
  /** Rain accumulation: scattering coefficient of the veil over the scene depth (0 = none), in [0, 3]. */
  veil: number;
  /** Atmospheric light A of the accumulation veil, in [0, 1]. */
  airlight: number;
};

export type RainStreakParams = RainStreakSettings & {
  level: string;
  /** The depth the accumulation veil was rendered with: the estimate, or the real map (its sha256). */
  depth: DepthRef;
};

/** Streak lengths of a layer: five kernels at these log-normal quantiles, picked with these odds. */
const LENGTH_STEPS = [-1.5, -0.75, 0, 0.75, 1.5] as const;
const LENGTH_ODDS = [0.07, 0.24, 0.38, 0.24, 0.07] as const;

/**
 * Main-layer streak seeds per 10,000 pixels of a 256x256 crop; the level ids. The top two (Rain100H lies between
 * them by PSNR) add density and veil beyond density:52.
 */
export const STREAK_DENSITIES = [8, 11, 14, 18, 22, 27, 32, 38, 45, 52, 62, 72] as const;
/** Main-layer median streak length (px at 256x256) per level. */
const STREAK_LENGTHS = [14, 16, 18, 21, 24, 28, 32, 37, 42, 48, 56, 64] as const;
/** Main-layer streak width (FWHM, px at 256x256). */
const STREAK_WIDTHS = [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.1, 2.2] as const;
/** Main-layer brightness of a streak REFERENCE_LENGTH px long (px at 256x256) per level. */
const STREAK_BRIGHTNESS = [0.28, 0.34, 0.4, 0.48, 0.56, 0.64, 0.72, 0.8, 0.88, 0.96, 1, 1.04] as const;
const REFERENCE_LENGTH = 20;
/** Depth layers: a dense, thin, faint far layer from level 2; a sparse, wide, defocused near layer from level 5. */
const FAR_FROM = 2;
const NEAR_FROM = 5;
/** Rain accumulation (Yang et al.'s veil) in heavy rain: scattering coefficient over normalized depth. */
const STREAK_VEIL = [0, 0, 0, 0, 0, 0, 0.08, 0.15, 0.22, 0.3, 0.38, 0.46] as const;
/** Rain falls within this many degrees of vertical (the spread of Rain100L/Rain13k directions). */
const MAX_TILT = 20;
/** Layers fall in one direction in light rain and up to this many degrees apart in heavy rain (Rain100H's several directions). */
const MAX_LAYER_SPREAD = 12;
/** The level (density:52) from which the layers are MAX_LAYER_SPREAD apart. */
const SPREAD_FULL_AT = 9;

const STREAK_LEVELS: LevelDef[] = levelsOf('density', STREAK_DENSITIES, (d, i) => ({
  streaksPer10k: d,
  length: STREAK_LENGTHS[i],
  width: STREAK_WIDTHS[i],
  brightness: STREAK_BRIGHTNESS[i],
  layers: 1 + (i >= FAR_FROM ? 1 : 0) + (i >= NEAR_FROM ? 1 : 0),
  veil: STREAK_VEIL[i],
}));

/**
 * Draw a rain-streak configuration for a level: one fall direction for the sample, each layer tilted from
 * it (more in heavier rain), lengths and opacities jittered; every layer's noise seed recorded. The same
 * number of values is drawn at every level, so one rng seed gives the same rain direction at all levels.
 */
export function sampleRainStreaks(level: number, rng: Rng, info: ImageInfo): RainStreakParams {
  const def = levelAt(STREAK_LEVELS, level, 'RS');
  const s = frameScale(info);
  const base = 90 + rng.range(-MAX_TILT, MAX_TILT);
  const colour = rng.range(0.85, 1);
  const airlight = rng.range(0.75, 0.95);
  const draws = [0, 1, 2].map(() => ({
    seed: rng.childSeed(),
    tilt: rng.range(-1, 1),
    len: rng.range(0.9, 1.1),
    op: rng.range(0.9, 1.1),
  }));
  const spreadDeg = 2 + (MAX_LAYER_SPREAD - 2) * (Math.min(level, SPREAD_FULL_AT) / SPREAD_FULL_AT);
  // The level's density is per 10,000 pixels of a 256x256 crop. Streaks grow with the frame (length by s,
  // width by max(1, s)), so the seeds thin out by the same factor and the share of the frame the rain covers,
  // which sets the PSNR, stays the level's at every size (with a fixed density a 512 px frame got 4x the rain).
  const density = STREAK_DENSITIES[level] / 10000 / (s * Math.max(1, s));
  const length = STREAK_LENGTHS[level] * s;
  const width = STREAK_WIDTHS[level] * Math.max(1, s);
  const brightness = STREAK_BRIGHTNESS[level];
  const layer = (k: number, dens: number, len: number, wid: number, blur: number, op: number): StreakLayer => ({
    seed: draws[k].seed,
    density: round3(dens * 1e4) / 1e4,
    length: round3(Math.min(256, Math.max(2, len * draws[k].len))),
    spread: 0.3,
    angle: round3(base + (k === 1 ? 0 : spreadDeg * draws[k].tilt)),
    width: round3(Math.min(12, wid)),
    blur: round3(Math.min(8, blur)),
    brightness: round3(Math.min(4, op * draws[k].op)),
    // Capped like the lengths: past ~3300 px (frameScale 12.8) the streaks stop growing, and so does the streak
    // the gain is set on. (Frames that large were refused before the cap, so no recorded params change.)
    reference: round3(Math.min(256, REFERENCE_LENGTH * s)),
  });
  const layers: StreakLayer[] = [];
  // Far streaks are short and faint (0.5 x the length at a quarter of the brightness: half as bright per
  // pixel); near ones long and out of focus (1.8 x the length at 1.6 x the brightness, spread by the blur).
  if (level >= FAR_FROM) layers.push(layer(0, density * 1.6, length * 0.5, Math.max(0.8, 0.6 * width), 0, brightness * 0.25));
  layers.push(layer(1, density, length, width, 0, brightness));
  if (level >= NEAR_FROM) layers.push(layer(2, density * 0.06, length * 1.8, width * 2.2, (1 + 0.25 * (level - NEAR_FROM)) * s, brightness * 1.6));
  return { level: def.id, layers, colour: round3(colour), veil: STREAK_VEIL[level], airlight: round3(airlight), depth: depthRefFor(info) };
}

function validateStreaks(settings: RainStreakSettings): void {
  if (!Array.isArray(settings.layers) || settings.layers.length === 0 || settings.layers.length > 8) {
    throw new RangeError(`rain streak layers must be a list of 1..8 layers, got ${String(settings.layers)}`);
  }
  settings.layers.forEach((l, i) => {
    checkSeed(`rain streak layer ${i} seed`, l.seed);
    check(`rain streak layer ${i} density`, l.density, 0, 0.2);
    check(`rain streak layer ${i} length`, l.length, 1, 256);
    check(`rain streak layer ${i} spread`, l.spread, 0, 1);
    check(`rain streak layer ${i} angle`, l.angle, -360, 360);
    check(`rain streak layer ${i} width`, l.width, 0.5, 12);
    check(`rain streak layer ${i} blur`, l.blur, 0, 8);
    check(`rain streak layer ${i} brightness`, l.brightness, 0, 4);
    check(`rain streak layer ${i} reference`, l.reference, 1, 256);
  });
  check('rain streak colour', settings.colour, 0, 1);
  check('rain streak veil', settings.veil, 0, 3);
  check('rain streak airlight', settings.airlight, 0, 1);
}

/**
 * One layer's streaks as a single-channel plane: the sparse noise (a drop of random brightness at each seed
 * point) convolved with the layer's streak kernels, done by splatting each kernel at its seed point, so the
 * cost is (streaks x taps), not (pixels x taps). The kernels sum to 1, then one gain (the Photoshop recipe's
 * levels step) lifts an in-focus streak `reference` px long of the brightest drop to `brightness`: a longer
 * streak spreads the same light thinner, a defocused one wider.
 */
export function renderStreakLayer(width: number, height: number, layer: StreakLayer): Float32Array {
  const plane = new Float32Array(width * height);
  const bank: SparseTaps[] = LENGTH_STEPS.map((z) =>
    streakTaps(Math.max(1, layer.length * Math.exp(layer.spread * z)), layer.angle, { width: layer.width, blur: layer.blur }),
  );
  let peak = 0;
  for (const v of streakTaps(layer.reference, layer.angle, { width: layer.width }).w) if (v > peak) peak = v;
  const gain = layer.brightness / peak;
  const margin = Math.max(...bank.map((b) => b.radius));
  // Seeds cover the frame plus a margin, so streaks enter from outside it as real rain does.
  const ew = width + 2 * margin;
  const eh = height + 2 * margin;
  const count = Math.round(layer.density * ew * eh);
  const rng = createRng(layer.seed);
  for (let n = 0; n < count; n++) {
    const cx = Math.floor(rng.uniform() * ew) - margin;
    const cy = Math.floor(rng.uniform() * eh) - margin;
    // Drop brightness: the thresholded noise of the recipe leaves a spread of amplitudes below the brightest.
    const b = gain * (0.35 + 0.65 * rng.uniform());
    const u = rng.uniform();
    let k = 0;
    for (let acc = LENGTH_ODDS[0]; u > acc && k < LENGTH_ODDS.length - 1; acc += LENGTH_ODDS[++k]);
    const taps = bank[k];
    const { dx, dy, w } = taps;
    const inside = cx - taps.radius >= 0 && cy - taps.radius >= 0 && cx + taps.radius < width && cy + taps.radius < height;
    if (inside) {
      const c = cy * width + cx;
      for (let t = 0; t < w.length; t++) plane[c + dy[t] * width + dx[t]] += b * w[t];
    } else {
      for (let t = 0; t < w.length; t++) {
        const x = cx + dx[t];
        const y = cy + dy[t];
        if (x >= 0 && y >= 0 && x < width && y < height) plane[y * width + x] += b * w[t];
      }
    }
  }
  return plane;
}

/**
 * Rain streaks over an image, in Yang et al.'s heavy-rain model (JORDER, CVPR 2017):
 * O = alpha (B + sum S_k) + (1 - alpha) A, with the sum taken as a screen blend of the layers in `colour`
 * (the Rain100L/Rain13k recipe; it stays within [0, 1] where a sum would clip) and alpha = exp(-veil d) the
 * transmission of the rain's accumulation over the scene depth d. Clamped to [0, 1].
 */
export function applyRainStreaks(image: Image, settings: RainStreakSettings, depth?: Float32Array): Image {
  validateStreaks(settings);
  const { width, height, data } = image;
  const keep = new Float32Array(width * height).fill(1);
  const c = settings.colour;
  for (const layer of settings.layers) {
    const plane = renderStreakLayer(width, height, layer);
    for (let i = 0; i < plane.length; i++) {
      const a = plane[i];
      if (a > 0) keep[i] *= 1 - c * (a > 1 ? 1 : a);
    }
  }
  const out = createImage(width, height);
  const o = out.data;
  const trans = settings.veil > 0 ? transmission(depth ?? estimateDepth(image).data, settings.veil) : null;
  const A = settings.airlight;
  for (let i = 0, p = 0; i < keep.length; i++, p += 3) {
    const alpha = trans ? trans[i] : 1;
    const haze = (1 - alpha) * A;
    for (let k = 0; k < 3; k++) {
      const v = data[p + k] < 0 ? 0 : data[p + k] > 1 ? 1 : data[p + k];
      o[p + k] = alpha * (1 - (1 - v) * keep[i]) + haze;
    }
  }
  return out;
}

export const rainStreaks = defineDegradation<RainStreakParams>({
  version: 3,
  id: 'RS',
  name: 'rain streaks',
  description:
    'Soft, semi-transparent streaks in far, main and near (defocused) depth layers, fainter the longer they are, screen-blended; rain accumulation veil in heavy rain',
  method:
    'Rain100L/Rain100H (Yang et al., CVPR 2017) and Rain13k (Fu et al., CVPR 2017) style: sparse noise -> motion blur by a kernel that ' +
    'sums to 1 (Gaussian cross profile, faded ends; Garg & Nayar 2006: brightness falls with length) -> levels gain -> screen blend; ' +
    'log-normal lengths, random drop brightness, 1-3 depth layers (far thin and faint, near wide and defocused), directions within 20 deg ' +
    'of vertical and up to 12 deg apart in heavy rain; heavy levels add the accumulation of O = alpha (B + sum S) + (1 - alpha) A over the scene depth; ' +
    'levels from light rain (Rain100L-like) to past Rain100H, each covering the same share of the frame at any image size',
  levels: STREAK_LEVELS,
  sample: (level: number, rng: Rng, info: ImageInfo) => sampleRainStreaks(level, rng, info),
  apply: async (image: Image, params: RainStreakParams, context?: ApplyContext) => applyRainStreaks(image, params, veilDepth(image, params, context, 'RS')),
});

/** The scene depth under the accumulation veil, when the params have one. */
function veilDepth(image: Image, params: RainStreakParams, context: ApplyContext | undefined, typeId: string): Float32Array | undefined {
  return params.veil > 0 ? sceneDepth(image, checkDepthRef(params.depth, typeId), context, typeId) : undefined;
}

// ---------------------------------------------------------------------------------------------
// RD: raindrops on the lens

export type RaindropSettings = {
  /** Seed of the drop field (positions, sizes, shapes, refraction). */
  seed: string;
  /** Number of drops. */
  count: number;
  /** Drop radii in pixels, drawn log-uniformly in [radiusMin, radiusMax]. */
  radiusMin: number;
  radiusMax: number;
  /** Gaussian sigma (px) of the defocus blur of what a drop shows and of its halo. */
  blur: number;
  /** Edge softness as a fraction of the radius (the drop is out of focus). */
  softness: number;
  /** How much wider than the drop the patch of scene it refracts is (inverted, fish-eye). */
  zoom: number;
};

export type RaindropParams = RaindropSettings & { level: string };

/** Drops per frame, the level ids: radii are relative to the frame (a 256x256 crop's radii grown by frameScale). */
export const DROP_COUNTS = [10, 14, 18, 23, 29, 36, 44, 52] as const;
const DROP_RADIUS_MIN = [3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7] as const;
const DROP_RADIUS_MAX = [10, 12, 14, 16, 18, 20, 22, 24] as const;
const DROP_BLUR = [1.6, 1.8, 2, 2.2, 2.4, 2.6, 2.8, 3] as const;

const DROP_LEVELS: LevelDef[] = levelsOf('drops', DROP_COUNTS, (count, i) => ({
  dropsPerFrame: count,
  radius: [DROP_RADIUS_MIN[i], DROP_RADIUS_MAX[i]],
  blur: DROP_BLUR[i],
}));

export function sampleRaindrops(level: number, rng: Rng, info: ImageInfo): RaindropParams {
  const def = levelAt(DROP_LEVELS, level, 'RD');
  const s = frameScale(info);
  const seed = rng.childSeed();
  const softness = rng.range(0.15, 0.3);
  const zoom = rng.range(1.6, 2.6);
  return {
    level: def.id,
    seed,
    // Radii grow with the frame, so the count is per frame (frame-scale.ts): a count per 256x256 area of pixels
    // with radii grown by s covered s^2 times more of a larger frame (drops:52 was 23.5 dB Y at 256 px, 20.5 at 512).
    count: Math.max(1, Math.round(perFrame(DROP_COUNTS[level], info))),
    radiusMin: round3(DROP_RADIUS_MIN[level] * s),
    radiusMax: round3(DROP_RADIUS_MAX[level] * s),
    blur: round3(DROP_BLUR[level] * s),
    softness: round3(softness),
    zoom: round3(zoom),
  };
}

function validateDrops(settings: RaindropSettings): void {
  checkSeed('raindrop seed', settings.seed);
  check('raindrop count', settings.count, 0, 100000);
  if (!Number.isInteger(settings.count)) throw new RangeError(`raindrop count must be an integer, got ${settings.count}`);
  check('raindrop radiusMin', settings.radiusMin, 0.5, 4096);
  check('raindrop radiusMax', settings.radiusMax, settings.radiusMin, 4096);
  check('raindrop blur', settings.blur, 0, 256);
  check('raindrop softness', settings.softness, 0.02, 0.9);
  check('raindrop zoom', settings.zoom, 0.25, 8);
}

/** Half-resolution copy, Gaussian-blurred there: the defocused scene that drops show, at a quarter of the cost. */
function defocused(image: Image, sigma: number): Image {
  const { width, height, data } = image;
  const hw = Math.max(1, width >> 1);
  const hh = Math.max(1, height >> 1);
  const half = createImage(hw, hh);
  const h = half.data;
  for (let y = 0; y < hh; y++) {
    const y0 = Math.min(2 * y, height - 1);
    const y1 = Math.min(2 * y + 1, height - 1);
    for (let x = 0; x < hw; x++) {
      const x0 = Math.min(2 * x, width - 1);
      const x1 = Math.min(2 * x + 1, width - 1);
      const a = (y0 * width + x0) * 3;
      const b = (y0 * width + x1) * 3;
      const c = (y1 * width + x0) * 3;
      const d = (y1 * width + x1) * 3;
      const q = (y * hw + x) * 3;
      for (let k = 0; k < 3; k++) h[q + k] = 0.25 * (data[a + k] + data[b + k] + data[c + k] + data[d + k]);
    }
  }
  return gaussianBlur(half, sigma / 2);
}

/** Per-drop shape and optics, drawn from the drop field's seed. */
interface Drop {
  cx: number;
  cy: number;
  r: number;
  /** Horizontal/vertical axis ratio. */
  aspect: number;
  /** Downward sag: the lower half is this much longer (drops run and pool downward). */
  sag: number;
  /** Harmonic jitter of the outline: amplitude and phase of cos(2 theta) and cos(3 theta). */
  a2: number;
  c2: number;
  s2: number;
  a3: number;
  c3: number;
  s3: number;
  /** Where the refracted patch is centred, relative to the drop centre, in radii. */
  ox: number;
  oy: number;
  zoom: number;
}

function drawDrops(settings: RaindropSettings, width: number, height: number): Drop[] {
  const rng = createRng(settings.seed);
  const drops: Drop[] = [];
  const logMin = Math.log(settings.radiusMin);
  const logMax = Math.log(settings.radiusMax);
  for (let n = 0; n < settings.count; n++) {
    const r = Math.exp(logMin + (logMax - logMin) * rng.uniform());
    const p2 = rng.range(0, 2 * Math.PI);
    const p3 = rng.range(0, 2 * Math.PI);
    const a2 = rng.range(0, 0.08);
    const a3 = rng.range(0, 0.06);
    drops.push({
      cx: rng.range(-0.5 * r, width + 0.5 * r),
      cy: rng.range(-0.5 * r, height + 0.5 * r),
      r,
      aspect: rng.range(0.85, 1.15),
      sag: rng.range(0, 0.45),
      a2,
      c2: a2 * Math.cos(p2),
      s2: a2 * Math.sin(p2),
      a3,
      c3: a3 * Math.cos(p3),
      s3: a3 * Math.sin(p3),
      ox: rng.range(-0.3, 0.3),
      oy: rng.range(-0.6, 0.1),
      zoom: settings.zoom * rng.range(0.85, 1.15),
    });
  }
  return drops;
}

const HALO = 1.35;

/**
 * Raindrops on the lens: each drop composited, in drawing order, over the result so far:
 * inside, the defocused scene seen through a water lens (inverted about the drop centre,
 * a `zoom`-times wider patch, fish-eye toward the rim, darker at the rim, a faint highlight);
 * around it, out to 1.35 radii, the scene blurred. Edges are soft (the drop is out of focus).
 */
export function applyRaindrops(image: Image, settings: RaindropSettings): Image {
  validateDrops(settings);
  const { width, height } = image;
  const out = cloneImage(image);
  if (settings.count === 0) return out;
  const o = out.data;
  const blurred = defocused(image, settings.blur);
  const bw = blurred.width;
  const bh = blurred.height;
  const sx = bw / width;
  const sy = bh / height;
  const texel = new Float32Array(3);
  const halo = new Float32Array(3);
  const soft = settings.softness;
  for (const d of drawDrops(settings, width, height)) {
    const rx = d.r * d.aspect;
    const ry = d.r / d.aspect;
    const x0 = Math.max(0, Math.floor(d.cx - HALO * rx - 1));
    const x1 = Math.min(width - 1, Math.ceil(d.cx + HALO * rx + 1));
    const y0 = Math.max(0, Math.floor(d.cy - HALO * ry - 1));
    const y1 = Math.min(height - 1, Math.ceil(d.cy + HALO * ry * (1 + d.sag) + 1));
    for (let y = y0; y <= y1; y++) {
      const vy0 = (y - d.cy) / ry;
      const vy = vy0 > 0 ? vy0 / (1 + d.sag) : vy0;
      for (let x = x0; x <= x1; x++) {
        const vx = (x - d.cx) / rx;
        const rr = vx * vx + vy * vy;
        if (rr >= HALO * HALO * 1.3) continue;
        const rho0 = Math.sqrt(rr);
        // Outline radius 1 + a2 cos(2 theta + p2) + a3 cos(3 theta + p3), from cos/sin of theta without atan2.
        let outline = 1;
        if (rho0 > 1e-6) {
          const ct = vx / rho0;
          const st = vy / rho0;
          const cos2 = ct * ct - st * st;
          const sin2 = 2 * ct * st;
          const cos3 = ct * (4 * ct * ct - 3);
          const sin3 = st * (3 - 4 * st * st);
          outline += d.c2 * cos2 - d.s2 * sin2 + d.c3 * cos3 - d.s3 * sin3;
        }
        const rho = rho0 / outline;
        if (rho >= HALO) continue;
        const p = (y * width + x) * CHANNELS;
        // Defocus halo: the scene behind the rim of the drop is blurred too.
        const hw = rho <= 1 ? 1 : 1 - smooth01((rho - 1) / (HALO - 1));
        bilinearInto(blurred, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5, halo, 0);
        const hk = 0.8 * hw;
        let r0 = o[p] + (halo[0] - o[p]) * hk;
        let g0 = o[p + 1] + (halo[1] - o[p + 1]) * hk;
        let b0 = o[p + 2] + (halo[2] - o[p + 2]) * hk;
        // Drop coverage: 1 inside, a smooth fall-off across the soft edge.
        const a = rho <= 1 - soft ? 1 : rho >= 1 ? 0 : smooth01((1 - rho) / soft);
        if (a > 0) {
          // Inverted fish-eye: the far rim of the drop shows the scene far behind the opposite side.
          const k = -d.zoom * (1 + 0.5 * rho * rho);
          const srcX = d.cx + d.ox * rx + k * vx * rx;
          const srcY = d.cy + d.oy * ry + k * vy0 * ry;
          // A drop near the border refracts scene from past it: mirrored, where clamping smeared the edge row into stripes.
          bilinearInto(blurred, reflectCoord((srcX + 0.5) * sx - 0.5, bw), reflectCoord((srcY + 0.5) * sy - 0.5, bh), texel, 0);
          const rim = 1 - 0.35 * rho * rho * rho * rho;
          const hx = vx + 0.35;
          const hy = vy + 0.4;
          const spec = 0.22 * Math.exp(-(hx * hx + hy * hy) / 0.03);
          const tr = texel[0] * rim + spec;
          const tg = texel[1] * rim + spec;
          const tb = texel[2] * rim + spec;
          r0 += (tr - r0) * a;
          g0 += (tg - g0) * a;
          b0 += (tb - b0) * a;
        }
        o[p] = r0;
        o[p + 1] = g0;
        o[p + 2] = b0;
      }
    }
  }
  return clampInPlace(out);
}

/** Smoothstep on [0, 1]. */
function smooth01(t: number): number {
  const u = t < 0 ? 0 : t > 1 ? 1 : t;
  return u * u * (3 - 2 * u);
}

export const raindrops = defineDegradation<RaindropParams>({
  version: 2,
  id: 'RD',
  name: 'raindrops',
  description: 'Out-of-focus water drops on the lens, each showing an inverted, blurred view of the scene, with a blurred halo',
  method:
    'Raindrop images as in Qian et al., CVPR 2018 (Attentive GAN data) and Porav et al., ICRA 2019 (rendered lens drops): ' +
    'jittered, sagging elliptical drops; inside, a remap of the defocused scene inverted about the drop centre with fish-eye zoom; soft edges and a blurred halo; ' +
    'drops sized to the frame and counted per frame, so a level covers the same share of it at any image size',
  levels: DROP_LEVELS,
  sample: (level: number, rng: Rng, info: ImageInfo) => sampleRaindrops(level, rng, info),
  apply: async (image: Image, params: RaindropParams) => applyRaindrops(image, params),
});

// ---------------------------------------------------------------------------------------------
// RSD: streaks then drops

export type RainStreaksAndDropsParams = {
  level: string;
  streaks: RainStreakParams;
  drops: RaindropParams;
};

/** RSD level k pairs these RS and RD levels (both rising). */
const RSD_STREAK_LEVELS = [0, 1, 3, 4, 5, 6, 8, 9] as const;
const RSD_DROP_LEVELS = [0, 1, 2, 3, 4, 5, 6, 7] as const;

const RSD_LEVELS: LevelDef[] = levelsOf(
  'mix',
  RSD_STREAK_LEVELS.map((_, i) => i + 1),
  (_, i) => ({ streaks: STREAK_LEVELS[RSD_STREAK_LEVELS[i]].id, drops: DROP_LEVELS[RSD_DROP_LEVELS[i]].id }),
);

export function sampleRainStreaksAndDrops(level: number, rng: Rng, info: ImageInfo): RainStreaksAndDropsParams {
  const def = levelAt(RSD_LEVELS, level, 'RSD');
  return {
    level: def.id,
    streaks: sampleRainStreaks(RSD_STREAK_LEVELS[level], rng.fork('streaks'), info),
    drops: sampleRaindrops(RSD_DROP_LEVELS[level], rng.fork('drops'), info),
  };
}

export function applyRainStreaksAndDrops(image: Image, params: RainStreaksAndDropsParams, context?: ApplyContext): Image {
  if (!params.streaks || !params.drops) throw new RangeError('RSD params need both streaks and drops');
  return applyRaindrops(applyRainStreaks(image, params.streaks, veilDepth(image, params.streaks, context, 'RSD')), params.drops);
}

export const rainStreaksAndDrops = defineDegradation<RainStreaksAndDropsParams>({
  version: 4,
  id: 'RSD',
  name: 'rain streaks and raindrops',
  description: 'Rain streaks (RS) then raindrops on the lens (RD), severities rising together',
  method: 'RS (Rain100L/Rain13k streak recipe) followed by RD (Qian et al. 2018 / Porav et al. 2019 lens drops), as in the UIR-2.5M table',
  levels: RSD_LEVELS,
  sample: (level: number, rng: Rng, info: ImageInfo) => sampleRainStreaksAndDrops(level, rng, info),
  apply: async (image: Image, params: RainStreaksAndDropsParams, context?: ApplyContext) => applyRainStreaksAndDrops(image, params, context),
});
