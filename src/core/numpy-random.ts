import type { Image } from './image.js';

/**
 * NumPy's legacy global generator (`np.random.seed(s)`, `np.random.normal`, `np.random.randn`): MT19937
 * seeded by Knuth's initializer, doubles from two 32-bit draws (27 + 26 bits) and Gaussians from the
 * Marsaglia polar method, the second value of each pair kept for the next call (numpy/random/src/legacy,
 * `legacy_gauss`, and mt19937.c).
 *
 * Why: the all-in-one denoising benchmarks (CBSD68, Kodak at sigma 15/25/50) ship clean images only; the
 * noise is added at test time with a seeded NumPy stream (MaskDCPT / BasicSR's PairedImageDenoiseDataset:
 * `np.random.seed(0)` then `np.random.normal(0, sigma / 255, img.shape)` for every image). Drawing the same
 * numbers gives the same noisy inputs the papers measured. test/core/numpy-random.test.ts compares with
 * values NumPy printed (scripts/numpy-random-reference.py).
 */
export class NumpyLegacyRandom {
  private readonly mt = new Uint32Array(624);
  private index = 624;
  private hasGauss = false;
  private gaussSpare = 0;

  /** `np.random.seed(seed)` for an integer seed in 0..2^32-1. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in 0..4294967295 (as NumPy's), got ${String(seed)}`);
    }
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next raw 32-bit output (genrand_int32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `np.random.random_sample()`: a double in [0, 1) with 53 random bits. */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `np.random.randn()` / `standard_normal()` of the legacy generator. */
  gauss(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      return this.gaussSpare;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gaussSpare = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** `np.random.normal(loc, scale)`: loc + scale * gauss(). */
  normal(loc: number, scale: number): number {
    return loc + scale * this.gauss();
  }
}

/**
 * The denoising benchmarks' noisy input: `np.random.seed(seed)`, then every value of the float32 RGB image
 * (HWC order, [0, 1]) plus `np.random.normal(0, sigma / 255)`, clipped to [0, 1] (BasicSR's
 * PairedImageDenoiseDataset at test time, as MaskDCPT's 5D configs use it with seed 0). The result stays
 * float, unquantized, as the network sees it there.
 */
export function seededGaussianNoise(image: Image, sigma: number, seed = 0): Image {
  if (!(Number.isFinite(sigma) && sigma >= 0)) throw new RangeError(`sigma must be a number >= 0 (of 255), got ${String(sigma)}`);
  const rng = new NumpyLegacyRandom(seed);
  const scale = sigma / 255;
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i] + rng.normal(0, scale);
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { width: image.width, height: image.height, data: out };
}
