import { createImage, type Image } from '../core/image.js';
import { createRng, type Rng } from '../core/random.js';
import { checkDepthRef, depthRefFor, estimateDepth, sceneDepth, type DepthRef } from './depth.js';
import { applyHaze } from './haze.js';
import { frameScale } from './frame-scale.js';
import { lineKernel, sparseTaps } from './kernels/line.js';
import { defineDegradation, levelAt, levelsOf, type ApplyContext, type ImageInfo, type LevelDef } from './types.js';

/**
 * S: falling snow, as Snow100K (Liu et al., DesnowNet, TIP 2018) and CSD (Chen et al., ICCV 2021)
 * compose it: snow masks of several particle sizes (small sharp flakes, medium flakes, large
 * out-of-focus flakes near the camera), each motion-blurred along the wind direction, over a
 * veiling effect (CSD: a haze-like brightening, here the scattering model of `haze.ts` with a
 * small beta and a bright airlight). Flakes are alpha-composited in a near-white colour.
 *
 * Each layer's flakes are stamped from a few precomputed sprites (a soft disc convolved with the
 * layer's line kernel and, for near flakes, a Gaussian), so the cost is (flakes x sprite area).
 */

export type FlakeLayer = {
  /** Seed of the layer's flake positions, sizes and opacities. */
  seed: string;
  /** Flakes per pixel. */
  density: number;
  /** Flake radii in pixels, drawn uniformly in [radiusMin, radiusMax] (three sprite sizes). */
  radiusMin: number;
  radiusMax: number;
  /** Motion-blur length in pixels along `angle`. */
  streak: number;
  /** Fall direction in degrees (90 = straight down, see lineKernel). */
  angle: number;
  /** Gaussian defocus sigma in pixels (0 = in focus). */
  blur: number;
  /** Opacity range of the flakes. */
  opacityMin: number;
  opacityMax: number;
};

export type SnowSettings = {
  layers: FlakeLayer[];
  /** Veiling: scattering coefficient of the haze-like brightening (0 = none). */
  veil: number;
  /** Veil airlight and flake colour (near white). */
  colour: number;
};

export type SnowParams = SnowSettings & {
  level: string;
  /** The depth the veil was rendered with: the estimate, or the real depth map (its sha256) of the image. */
  depth: DepthRef;
};

/** Small flakes per 10,000 pixels of a 256x256 crop (per frame: see sampleSnow); the level ids. Medium and large layers scale with it. */
export const SNOW_DENSITIES = [12, 20, 30, 42, 56, 72, 90, 110, 135, 160] as const;
const MEDIUM_FRACTION = 0.22;
const LARGE_FRACTION = 0.02;
const SNOW_VEIL = [0.05, 0.08, 0.11, 0.14, 0.18, 0.22, 0.26, 0.3, 0.35, 0.4] as const;
/** Wind: the fall direction is within this many degrees of vertical. */
const MAX_WIND = 35;
/** Sprite sizes per layer. */
const SPRITES = 3;

const LEVELS: LevelDef[] = levelsOf('density', SNOW_DENSITIES, (d, i) => ({
  smallPer10k: d,
  mediumPer10k: Math.round(d * MEDIUM_FRACTION * 10) / 10,
  largePer10k: Math.round(d * LARGE_FRACTION * 100) / 100,
  veilBeta: SNOW_VEIL[i],
}));

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/**
 * Draw a snow configuration: one wind direction per sample (each layer a few degrees off it),
 * streak lengths growing from far (small) to near (large) flakes, as parallax makes them.
 * The same values are drawn at every level, so one rng seed gives the same wind at all levels.
 */
export function sampleSnow(level: number, rng: Rng, info: ImageInfo): SnowParams {
  const def = levelAt(LEVELS, level, 'S');
  const s = frameScale(info);
  const wind = 90 + rng.range(-MAX_WIND, MAX_WIND);
  const colour = rng.range(0.9, 1);
  const speed = rng.range(0.6, 1.4);
  const seeds = [rng.childSeed(), rng.childSeed(), rng.childSeed()];
  const tilts = [rng.range(-5, 5), rng.range(-5, 5), rng.range(-5, 5)];
  // Flakes, their motion streaks and defocus are relative to the frame (frame-scale.ts: Snow100K and CSD make one
  // mask per frame), so a flake's area grows by s^2 and the flakes per pixel thin out by as much: the count per
  // frame, and the share of it the snow covers, stay the level's. With a density per pixel a 512 px frame got
  // 4x the snow (density:110: 19.7 dB Y at 256 px, 14.9 at 512).
  const small = SNOW_DENSITIES[level] / 10000 / (s * s);
  const layer = (k: number, density: number, r0: number, r1: number, streak: number, blur: number, o0: number, o1: number): FlakeLayer => {
    // Below half a pixel a flake is no longer a disc; small frames keep that floor.
    const radiusMin = round3(Math.max(0.5, r0 * s));
    const radiusMax = round3(Math.max(0.5, r1 * s));
    const faint = subPixelFade(r0, r1, radiusMin, radiusMax, s);
    return {
      seed: seeds[k],
      density: Number(density.toPrecision(4)),
      radiusMin,
      radiusMax,
      streak: round3(Math.max(1, streak * speed * s)),
      angle: round3(wind + tilts[k]),
      blur: round3(blur * s),
      opacityMin: round3(o0 * faint),
      opacityMax: round3(o1 * faint),
    };
  };
  return {
    level: def.id,
    layers: [
      layer(0, small, 0.6, 1.3, 3, 0, 0.55, 0.95),
      layer(1, small * MEDIUM_FRACTION, 1.4, 2.6, 6, 0.6, 0.6, 0.95),
      layer(2, small * LARGE_FRACTION, 3.5, 7, 10, 2, 0.35, 0.7),
    ],
    veil: SNOW_VEIL[level],
    colour: round3(colour),
    depth: depthRefFor(info),
  };
}

/** The radii of a layer's SPRITES sprite sizes, evenly inside [radiusMin, radiusMax]. */
function spriteRadii(radiusMin: number, radiusMax: number): number[] {
  return Array.from({ length: SPRITES }, (_, k) => radiusMin + ((radiusMax - radiusMin) * (k + 0.5)) / SPRITES);
}

/** Coverage of pixel (x, y) by a disc of `radius` centred on pixel (0, 0): a one-pixel linear ramp across the rim. */
function discCover(x: number, y: number, radius: number): number {
  const cover = radius + 0.5 - Math.sqrt(x * x + y * y);
  return cover <= 0 ? 0 : cover > 1 ? 1 : cover;
}

/** A flake's alpha mass before its opacity: the sum of its disc's coverage (motion blur and defocus keep it). */
function discMass(radius: number): number {
  const rr = Math.ceil(radius + 1);
  let sum = 0;
  for (let y = -rr; y <= rr; y++) for (let x = -rr; x <= rr; x++) sum += discCover(x, y, radius);
  return sum;
}

/**
 * Opacity factor for flakes drawn larger than they are: on a frame smaller than a 256 px crop a small flake
 * shrinks below the half-pixel floor, and the floored disc carries more alpha than the crop's flake, scaled to the
 * frame, would (2.3x for the smallest flakes at 128 px, the level then 1.5 dB harsher than at 256). Fading the
 * flake by the ratio of the masses gives the faint speck that downscaling the 256 px rendering would. Never
 * above 1: larger frames keep their opacities.
 */
function subPixelFade(r0: number, r1: number, radiusMin: number, radiusMax: number, s: number): number {
  const mass = (a: number, b: number) => spriteRadii(a, b).reduce((sum, r) => sum + discMass(r), 0);
  return Math.min(1, (s * s * mass(r0, r1)) / mass(radiusMin, radiusMax));
}

function check(name: string, value: number, lo: number, hi: number): void {
  if (!Number.isFinite(value) || value < lo || value > hi) throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${value}`);
}

function validate(settings: SnowSettings): void {
  if (!Array.isArray(settings.layers) || settings.layers.length > 8) {
    throw new RangeError(`snow layers must be a list of at most 8 layers, got ${String(settings.layers)}`);
  }
  settings.layers.forEach((l, i) => {
    if (typeof l.seed !== 'string' || l.seed.length === 0) throw new RangeError(`snow layer ${i} seed must be a non-empty string`);
    check(`snow layer ${i} density`, l.density, 0, 0.5);
    check(`snow layer ${i} radiusMin`, l.radiusMin, 0.2, 512);
    check(`snow layer ${i} radiusMax`, l.radiusMax, l.radiusMin, 512);
    check(`snow layer ${i} streak`, l.streak, 1, 1024);
    check(`snow layer ${i} angle`, l.angle, -360, 360);
    check(`snow layer ${i} blur`, l.blur, 0, 256);
    check(`snow layer ${i} opacityMin`, l.opacityMin, 0, 1);
    check(`snow layer ${i} opacityMax`, l.opacityMax, l.opacityMin, 1);
  });
  check('snow veil', settings.veil, 0, 3);
  check('snow colour', settings.colour, 0, 1);
}

/** A flake stamp: row-major `size` x `size`, peak normalized to 1 before motion blur. */
interface Sprite {
  size: number;
  data: Float32Array;
}

/**
 * Soft disc of radius r, motion-blurred by the line kernel (sum 1, so a fast flake is fainter, as
 * in a real exposure) and defocused by a separable Gaussian, rendered directly at sprite size.
 */
function makeSprite(radius: number, streak: number, angle: number, blur: number): Sprite {
  const line = sparseTaps(lineKernel(streak, angle));
  const gr = blur > 0 ? Math.ceil(3 * blur) : 0;
  const half = Math.ceil(radius + 1) + line.radius + gr;
  const size = 2 * half + 1;
  let data = new Float32Array(size * size);
  for (let t = 0; t < line.w.length; t++) {
    const ox = half + line.dx[t];
    const oy = half + line.dy[t];
    const rr = Math.ceil(radius + 1);
    for (let y = -rr; y <= rr; y++) {
      for (let x = -rr; x <= rr; x++) {
        const cover = discCover(x, y, radius);
        if (cover > 0) data[(oy + y) * size + ox + x] += line.w[t] * cover;
      }
    }
  }
  if (gr > 0) {
    const taps = new Float32Array(2 * gr + 1);
    let s = 0;
    for (let i = -gr; i <= gr; i++) s += taps[i + gr] = Math.exp(-(i * i) / (2 * blur * blur));
    for (let i = 0; i < taps.length; i++) taps[i] /= s;
    // The sprite has a zero border of gr pixels, so the separable passes need no edge handling.
    const tmp = new Float32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = gr; x < size - gr; x++) {
        let a = 0;
        for (let i = -gr; i <= gr; i++) a += taps[i + gr] * data[y * size + x + i];
        tmp[y * size + x] = a;
      }
    }
    const out = new Float32Array(size * size);
    for (let y = gr; y < size - gr; y++) {
      for (let x = 0; x < size; x++) {
        let a = 0;
        for (let i = -gr; i <= gr; i++) a += taps[i + gr] * tmp[(y + i) * size + x];
        out[y * size + x] = a;
      }
    }
    data = out;
  }
  return { size, data };
}

/** Composite one layer's flakes into the coverage plane `alpha` with the over operator. */
function stampLayer(alpha: Float32Array, width: number, height: number, layer: FlakeLayer): void {
  const sprites: Sprite[] = [];
  for (const r of spriteRadii(layer.radiusMin, layer.radiusMax)) sprites.push(makeSprite(r, layer.streak, layer.angle, layer.blur));
  const margin = (sprites[SPRITES - 1].size - 1) >> 1;
  const ew = width + 2 * margin;
  const eh = height + 2 * margin;
  const count = Math.round(layer.density * ew * eh);
  const rng = createRng(layer.seed);
  for (let n = 0; n < count; n++) {
    const cx = Math.floor(rng.uniform() * ew) - margin;
    const cy = Math.floor(rng.uniform() * eh) - margin;
    const op = layer.opacityMin + (layer.opacityMax - layer.opacityMin) * rng.uniform();
    const sp = sprites[Math.floor(rng.uniform() * SPRITES)];
    const h = (sp.size - 1) >> 1;
    const x0 = Math.max(0, cx - h);
    const x1 = Math.min(width - 1, cx + h);
    const y0 = Math.max(0, cy - h);
    const y1 = Math.min(height - 1, cy + h);
    for (let y = y0; y <= y1; y++) {
      const srow = (y - cy + h) * sp.size - cx + h;
      const arow = y * width;
      for (let x = x0; x <= x1; x++) {
        const v = sp.data[srow + x];
        if (v === 0) continue;
        const a = op * (v > 1 ? 1 : v);
        const q = arow + x;
        alpha[q] += a * (1 - alpha[q]);
      }
    }
  }
}

/**
 * Snow over an image: veil first (the haze-like brightening of falling snow, over `depth`, by default the
 * image's estimate), then the flake layers far to near, composited in `colour`. Clamped to [0, 1].
 */
export function applySnow(image: Image, settings: SnowSettings, depth?: Float32Array): Image {
  validate(settings);
  const { width, height } = image;
  const veiled = settings.veil > 0 ? applyHaze(image, { beta: settings.veil, airlight: settings.colour }, depth ?? estimateDepth(image).data) : image;
  const alpha = new Float32Array(width * height);
  for (const layer of settings.layers) stampLayer(alpha, width, height, layer);
  const out = createImage(width, height);
  const o = out.data;
  const v = veiled.data;
  const c = settings.colour;
  for (let i = 0, p = 0; i < alpha.length; i++, p += 3) {
    const a = alpha[i];
    for (let k = 0; k < 3; k++) {
      const x = v[p + k] + (c - v[p + k]) * a;
      o[p + k] = x < 0 ? 0 : x > 1 ? 1 : x;
    }
  }
  return out;
}

export const snow = defineDegradation<SnowParams>({
  version: 3,
  id: 'S',
  name: 'snow',
  description: 'Small, medium and large (defocused) snowflake layers, motion-blurred along the wind, over a veiling brightening',
  method:
    'Snow100K (Liu et al., DesnowNet, TIP 2018) particle masks of three sizes and CSD (Chen et al., ICCV 2021) veiling: ' +
    'flakes = soft discs * line kernel (wind) * Gaussian (near flakes), alpha-composited; veil = scattering model with small beta ' +
    'over the scene depth (a given map or the guided-filter estimate); flakes sized to the frame and counted per frame, so a level covers the same share of it at any image size',
  levels: LEVELS,
  sample: (level: number, rng: Rng, info: ImageInfo) => sampleSnow(level, rng, info),
  apply: async (image: Image, params: SnowParams, context?: ApplyContext) =>
    applySnow(image, params, params.veil > 0 ? sceneDepth(image, checkDepthRef(params.depth, 'S'), context, 'S') : undefined),
});
