/**
 * GN: Gaussian, Poisson and salt & pepper noise.
 *
 * - gaussian: BasicSR `add_gaussian_noise` (sigma on the 0-255 scale, noise = N(0, 1) * sigma / 255,
 *   clipped); the sigmas include the 15 / 25 / 50 of AirNet and PromptIR.
 * - poisson: BasicSR `generate_poisson_noise` / `add_poisson_noise`: the image is rounded to 8 bits,
 *   noise = Poisson(img * vals) / vals - img with vals = 2^ceil(log2(#unique values)) = 256 for
 *   8-bit content, scaled by `scale` and added to the unrounded image.
 * - saltpepper: skimage `random_noise(mode='s&p')`: each value independently replaced with
 *   probability `amount`, by 1 (salt) or 0 (pepper) with probability `salt_vs_pepper` = 0.5.
 * Grey versus colour noise (BasicSR `gray_noise`) is a recorded random choice with Real-ESRGAN's
 * `gray_noise_prob` 0.4; the pixel noise comes from a seed recorded in the params.
 */
import { CHANNELS, type Image } from '../core/image.js';
import { createRng, type Rng } from '../core/random.js';
import { defineDegradation, levelAt, levelsOf, type LevelDef } from './types.js';

// ---------------------------------------------------------------------------------------------
// Fast standard normals: a 128-layer ziggurat (Marsaglia & Tsang 2000) fed by the Rng's 32-bit
// uniforms. It needs one uniform per draw ~98.8% of the time, against Box-Muller's log, sqrt and
// sin/cos per pair: about 4x faster on a 256x256x3 noise field. The layer index (low 7 bits) and
// the value (high 25 bits) use disjoint bits, avoiding the original RNOR's known correlation.

const ZIG_LAYERS = 128;
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
const ZIG_SCALE = 16777216; // 2^24: the signed 25-bit value spans [-2^24, 2^24)
const zigK = new Float64Array(ZIG_LAYERS);
const zigW = new Float64Array(ZIG_LAYERS);
const zigF = new Float64Array(ZIG_LAYERS);
(function buildZiggurat(): void {
  let dn = ZIG_R;
  let tn = dn;
  const q = ZIG_V / Math.exp(-0.5 * dn * dn);
  zigK[0] = Math.floor((dn / q) * ZIG_SCALE);
  zigK[1] = 0;
  zigW[0] = q / ZIG_SCALE;
  zigW[ZIG_LAYERS - 1] = dn / ZIG_SCALE;
  zigF[0] = 1;
  zigF[ZIG_LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = ZIG_LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(ZIG_V / dn + Math.exp(-0.5 * dn * dn)));
    zigK[i + 1] = Math.floor((dn / tn) * ZIG_SCALE);
    tn = dn;
    zigF[i] = Math.exp(-0.5 * dn * dn);
    zigW[i] = dn / ZIG_SCALE;
  }
})();

/** One N(0, 1) draw by the ziggurat (exact in distribution). */
export function standardNormal(rng: Rng): number {
  for (;;) {
    const j = (rng.uniform() * 4294967296) | 0;
    const layer = j & (ZIG_LAYERS - 1);
    const hz = j >> 7;
    const x = hz * zigW[layer];
    if (Math.abs(hz) < zigK[layer]) return x;
    if (layer === 0) {
      // Base strip: sample the tail beyond R (Marsaglia 1964).
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(1 - rng.uniform()) / ZIG_R;
        ty = -Math.log(1 - rng.uniform());
      } while (ty + ty < tx * tx);
      return hz > 0 ? ZIG_R + tx : -ZIG_R - tx;
    }
    if (zigF[layer] + rng.uniform() * (zigF[layer - 1] - zigF[layer]) < Math.exp(-0.5 * x * x)) return x;
  }
}

/** Fill `out` with independent N(0, sigma^2) draws from `rng`. */
export function fillStandardNormal(rng: Rng, out: Float32Array, sigma = 1): Float32Array {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`sigma must be a finite number >= 0, got ${sigma}`);
  for (let i = 0; i < out.length; i++) out[i] = standardNormal(rng) * sigma;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Poisson draws for the 256 intensities of 8-bit content, by table inversion: one uniform and a
// short walk from a guide table (Chen & Asau 1974) per draw. Exact up to the uniform's 2^-32
// resolution, and ~5x faster than a general sampler at the lambdas (0..256) this needs.

const POISSON_VALS = 256;
const GUIDE = 256;
interface PoissonTables {
  cdf: Float64Array;
  start: Int32Array; // cdf offset of intensity k
  guide: Int32Array; // GUIDE entries per k: first outcome whose cdf exceeds g / GUIDE
}
let poissonTables: PoissonTables | undefined;

function buildPoissonTables(): PoissonTables {
  const parts: number[][] = [];
  let total = 0;
  for (let k = 0; k < 256; k++) {
    const lambda = (k / 255) * POISSON_VALS;
    const cdf: number[] = [];
    let p = Math.exp(-lambda);
    let c = 0;
    const limit = lambda + 40 * Math.sqrt(lambda) + 40;
    for (let i = 0; ; i++) {
      c += p;
      // The tail beyond 1 - 1e-15 is below the uniform's resolution; close the table there.
      if (c >= 1 - 1e-15 || i >= limit) {
        cdf.push(1);
        break;
      }
      cdf.push(c);
      p *= lambda / (i + 1);
    }
    parts.push(cdf);
    total += cdf.length;
  }
  const cdf = new Float64Array(total);
  const start = new Int32Array(256);
  const guide = new Int32Array(256 * GUIDE);
  let off = 0;
  for (let k = 0; k < 256; k++) {
    const part = parts[k];
    start[k] = off;
    cdf.set(part, off);
    let i = 0;
    for (let g = 0; g < GUIDE; g++) {
      while (part[i] <= g / GUIDE) i++;
      guide[k * GUIDE + g] = i;
    }
    off += part.length;
  }
  return { cdf, start, guide };
}

/** A Poisson(k / 255 * 256) draw for an 8-bit intensity k in 0..255. */
function poisson8(t: PoissonTables, rng: Rng, k: number): number {
  const u = rng.uniform();
  const base = t.start[k];
  let i = t.guide[k * GUIDE + Math.floor(u * GUIDE)];
  while (t.cdf[base + i] <= u) i++;
  return i;
}

// ---------------------------------------------------------------------------------------------
// The noise operators as plain functions (DNBJ's Real-ESRGAN pipeline reuses them).

function checkImage(image: Image): void {
  if (!image || !(image.data instanceof Float32Array) || image.data.length !== image.width * image.height * CHANNELS) {
    throw new RangeError('image must be an RGB Float32 image of width*height*3 values');
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** BasicSR `add_gaussian_noise` (clip, no rounding): `sigma` on the 0-255 scale; new image. */
export function addGaussianNoise(image: Image, sigma: number, gray: boolean, rng: Rng): Image {
  checkImage(image);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`sigma must be a finite number >= 0 (0-255 scale), got ${sigma}`);
  const src = image.data;
  const out = new Float32Array(src.length);
  const s = sigma / 255;
  if (gray) {
    for (let i = 0; i < src.length; i += 3) {
      const n = standardNormal(rng) * s;
      out[i] = clamp01(src[i] + n);
      out[i + 1] = clamp01(src[i + 1] + n);
      out[i + 2] = clamp01(src[i + 2] + n);
    }
  } else {
    for (let i = 0; i < src.length; i++) out[i] = clamp01(src[i] + standardNormal(rng) * s);
  }
  return { width: image.width, height: image.height, data: out };
}

function round8(v: number): number {
  const k = Math.round(v * 255);
  return k < 0 ? 0 : k > 255 ? 255 : k;
}

/** BasicSR `add_poisson_noise` (clip, no rounding) with vals = 256; new image. */
export function addPoissonNoise(image: Image, scale: number, gray: boolean, rng: Rng): Image {
  checkImage(image);
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new RangeError(`scale must be a finite number >= 0, got ${scale}`);
  const t = (poissonTables ??= buildPoissonTables());
  const src = image.data;
  const out = new Float32Array(src.length);
  const inv = 1 / POISSON_VALS;
  if (gray) {
    for (let i = 0; i < src.length; i += 3) {
      // cv2.COLOR_BGR2GRAY weights, on the unrounded image as BasicSR does.
      const k = round8(0.299 * src[i] + 0.587 * src[i + 1] + 0.114 * src[i + 2]);
      const n = (poisson8(t, rng, k) * inv - k / 255) * scale;
      out[i] = clamp01(src[i] + n);
      out[i + 1] = clamp01(src[i + 1] + n);
      out[i + 2] = clamp01(src[i + 2] + n);
    }
  } else {
    for (let i = 0; i < src.length; i++) {
      const k = round8(src[i]);
      out[i] = clamp01(src[i] + (poisson8(t, rng, k) * inv - k / 255) * scale);
    }
  }
  return { width: image.width, height: image.height, data: out };
}

/** skimage `random_noise(mode='s&p')`: each value flipped with probability `amount`; new image. */
export function addSaltPepperNoise(image: Image, amount: number, saltVsPepper: number, rng: Rng): Image {
  checkImage(image);
  if (!(amount >= 0 && amount < 1)) throw new RangeError(`amount must be in [0, 1), got ${amount}`);
  if (!(saltVsPepper >= 0 && saltVsPepper <= 1)) throw new RangeError(`saltVsPepper must be in [0, 1], got ${saltVsPepper}`);
  const out = image.data.slice();
  if (amount === 0) return { width: image.width, height: image.height, data: out };
  // A Bernoulli(amount) process by geometric gaps: same distribution as one draw per value,
  // but only ~amount * n draws.
  const logq = Math.log1p(-amount);
  for (let i = -1; ; ) {
    i += 1 + Math.floor(Math.log(1 - rng.uniform()) / logq);
    if (i >= out.length) break;
    out[i] = rng.uniform() < saltVsPepper ? 1 : 0;
  }
  return { width: image.width, height: image.height, data: out };
}

// ---------------------------------------------------------------------------------------------
// The GN registry entry.

/** Real-ESRGAN `gray_noise_prob` (BasicSR option of `random_add_gaussian/poisson_noise`). */
export const GRAY_NOISE_PROB = 0.4;
const SALT_VS_PEPPER = 0.5;

const GAUSSIAN_SIGMAS = [5, 10, 15, 25, 35, 50, 75] as const;
const POISSON_SCALES = [0.25, 0.5, 1, 1.5, 2, 3] as const;
const SP_AMOUNTS = [0.01, 0.02, 0.05, 0.1, 0.2] as const;

const GN_LEVELS: readonly LevelDef[] = [
  ...levelsOf('gaussian', GAUSSIAN_SIGMAS, (sigma) => ({ sigma, grayProb: GRAY_NOISE_PROB })),
  ...levelsOf('poisson', POISSON_SCALES, (scale) => ({ scale, vals: POISSON_VALS, grayProb: GRAY_NOISE_PROB })),
  ...levelsOf('saltpepper', SP_AMOUNTS, (amount) => ({ amount, saltVsPepper: SALT_VS_PEPPER })),
];

export type GaussianNoiseParams =
  | { level: string; variant: 'gaussian'; sigma: number; gray: boolean; seed: string }
  | { level: string; variant: 'poisson'; scale: number; vals: number; gray: boolean; seed: string }
  | { level: string; variant: 'saltpepper'; amount: number; saltVsPepper: number; seed: string };

export const gaussianNoise = defineDegradation<GaussianNoiseParams>({
  version: 1,
  id: 'GN',
  name: 'Gaussian, Poisson, salt & pepper noise',
  description:
    'Additive Gaussian noise (sigma on the 0-255 scale), signal-dependent Poisson (shot) noise on 8-bit content, and impulse salt & pepper noise; grey or colour noise chosen at random.',
  method:
    'BasicSR basicsr/data/degradations.py add_gaussian_noise / generate_poisson_noise (vals = 256 for 8-bit content), gray_noise_prob 0.4 as in Real-ESRGAN; ' +
    "sigmas include AirNet/PromptIR's 15, 25, 50; skimage.util.random_noise mode='s&p' (salt_vs_pepper 0.5)",
  levels: GN_LEVELS,
  sample(level, rng) {
    const def = levelAt(GN_LEVELS, level, 'GN');
    const s = def.settings;
    if (def.variant === 'saltpepper') {
      return { level: def.id, variant: 'saltpepper', amount: s.amount as number, saltVsPepper: SALT_VS_PEPPER, seed: rng.childSeed() };
    }
    const gray = rng.uniform() < GRAY_NOISE_PROB;
    const seed = rng.childSeed();
    if (def.variant === 'gaussian') return { level: def.id, variant: 'gaussian', sigma: s.sigma as number, gray, seed };
    return { level: def.id, variant: 'poisson', scale: s.scale as number, vals: POISSON_VALS, gray, seed };
  },
  async apply(image, params) {
    const rng = createRng(params.seed);
    switch (params.variant) {
      case 'gaussian':
        return addGaussianNoise(image, params.sigma, params.gray, rng);
      case 'poisson':
        if (params.vals !== POISSON_VALS) throw new RangeError(`poisson vals must be ${POISSON_VALS} (8-bit content), got ${params.vals}`);
        return addPoissonNoise(image, params.scale, params.gray, rng);
      case 'saltpepper':
        return addSaltPepperNoise(image, params.amount, params.saltVsPepper, rng);
      default:
        throw new RangeError(`GN variant must be gaussian, poisson or saltpepper, got ${JSON.stringify((params as { variant: unknown }).variant)}`);
    }
  },
});
