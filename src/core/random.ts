import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';

/**
 * Seeds and random streams.
 *
 * A stream is named by a string seed; independent streams come from hashing (seed, key, stream
 * name), never from another stream's state, so a sample's randomness does not depend on which
 * samples were drawn before it (worker count, completion order, partitioning).
 */
export function deriveSeed(...parts: ReadonlyArray<string | number>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(String(p));
    h.update('\u0000');
  }
  return h.digest('hex').slice(0, 24);
}

export interface Rng {
  /** The seed this stream was created from. */
  readonly seed: string;
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number;
  /** Uniform integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  poisson(lambda: number): number;
  pick<T>(items: readonly T[]): T;
  /** A fresh seed drawn from this stream, for a child stream recorded in params. */
  childSeed(): string;
  /** An independent stream derived from this stream's seed and a name (not from its state). */
  fork(name: string): Rng;
}

class AleaRng implements Rng {
  private readonly next: () => number;
  private spare = 0;
  private hasSpare = false;

  constructor(readonly seed: string) {
    // Alea: fast, 32-bit-state-safe, identical output on every JS engine.
    this.next = seedrandom.alea(seed);
  }

  uniform(): number {
    return this.next();
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // Box-Muller; u1 in (0, 1] so log never sees 0.
    const u1 = 1 - this.next();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const t = 2 * Math.PI * u2;
    this.spare = r * Math.sin(t);
    this.hasSpare = true;
    return r * Math.cos(t);
  }

  poisson(lambda: number): number {
    return samplePoisson(this, lambda);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  childSeed(): string {
    const a = Math.floor(this.next() * 0x100000000);
    const b = Math.floor(this.next() * 0x100000000);
    return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
  }

  fork(name: string): Rng {
    return new AleaRng(deriveSeed(this.seed, name));
  }
}

export function createRng(seed: string | number): Rng {
  return new AleaRng(String(seed));
}

/** Fill `out` with N(0, sigma^2) draws. */
export function fillNormal(rng: Rng, out: Float32Array, sigma = 1): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * sigma;
  return out;
}

const logFactorialTable: number[] = [0];
function logFactorial(k: number): number {
  if (k < 256) {
    for (let i = logFactorialTable.length; i <= k; i++) logFactorialTable[i] = logFactorialTable[i - 1] + Math.log(i);
    return logFactorialTable[k];
  }
  // Stirling series, accurate to double precision for k >= 256.
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x);
}

/**
 * Poisson sampler: Knuth's product method for small lambda, Hormann's PTRS (transformed
 * rejection with squeeze, 1993) above it; exact in distribution, O(1) expected time.
 */
export function samplePoisson(rng: Rng, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda < 10) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rng.uniform();
    while (p > limit) {
      k++;
      p *= rng.uniform();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.uniform() - 0.5;
    const v = rng.uniform();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k)) {
      return k;
    }
  }
}
