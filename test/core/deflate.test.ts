import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32, canonicalCodes, huffmanLengths, zlibCompress } from '../../src/core/deflate.js';
import { createRng } from '../../src/core/random.js';

/** Inputs that reach every path: empty, one byte, long runs, matches far back, noise, > 64 KiB blocks. */
function corpus(): [string, Uint8Array][] {
  const rng = createRng('deflate-corpus');
  const noise = Uint8Array.from({ length: 70_000 }, () => rng.int(0, 255));
  const skewed = Uint8Array.from({ length: 150_000 }, () => Math.floor(rng.uniform() ** 6 * 256));
  const runs = new Uint8Array(200_000);
  for (let i = 0; i < runs.length; i++) runs[i] = Math.floor(i / 777) % 3 === 0 ? 0 : Math.floor(i / 300) & 0xff;
  const text = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(3000) + 'pack my box with five dozen liquor jugs. '.repeat(2000));
  // Noise repeated 31 000 bytes later (inside the 32 KiB window), then 49 000 later (outside it).
  const far = new Uint8Array(120_000);
  far.set(noise.subarray(0, 30_000), 0);
  far.set(noise.subarray(0, 30_000), 31_000);
  far.set(noise.subarray(0, 30_000), 80_000);
  return [
    ['empty', new Uint8Array(0)],
    ['one byte', Uint8Array.of(7)],
    ['zeros', new Uint8Array(100_000)],
    ['exactly 258 + 3', new Uint8Array(261).fill(9)],
    ['noise', noise],
    ['skewed', skewed],
    ['runs', runs],
    ['text', new Uint8Array(text)],
    ['far repeats', far],
  ];
}

describe('zlibCompress', () => {
  it('round-trips through zlib inflate (which also checks the Adler-32) at every level', () => {
    for (const [name, data] of corpus()) {
      for (let level = 0; level <= 9; level++) {
        const z = zlibCompress(data, level);
        expect(Buffer.from(inflateSync(z)).equals(Buffer.from(data)), `${name} at level ${level}`).toBe(true);
        expect(((z[0] << 8) | z[1]) % 31, 'zlib header check bits').toBe(0);
      }
    }
  });

  it('compresses: runs and text shrink, the higher levels find repeats that runs miss, noise stays within the stored size', () => {
    const data = new Map(corpus());
    const size = (name: string, level: number): number => zlibCompress(data.get(name) as Uint8Array, level).length;
    expect(size('zeros', 1)).toBeLessThan(1000);
    expect(size('runs', 1)).toBeLessThan(20_000);
    expect(size('text', 6)).toBeLessThan(size('text', 1) / 10);
    expect(size('far repeats', 6)).toBeLessThan(size('far repeats', 1) * 0.75);
    // Incompressible data falls back to stored blocks: never more than the stored framing.
    expect(size('noise', 1)).toBeLessThanOrEqual(size('noise', 0));
    expect(size('noise', 0)).toBe(70_000 + 2 * 5 + 2 + 4);
  });

  it('gives the same bytes for the same input, and these bytes on every machine', () => {
    const [, , , , noise, skewed, runs, text] = corpus().map(([, d]) => d);
    const digest = (level: number): string => {
      const h = createHash('sha256');
      for (const d of [noise, skewed, runs, text]) h.update(zlibCompress(d, level));
      return h.digest('hex').slice(0, 16);
    };
    expect(digest(1)).toBe(digest(1));
    // Pinned: a change here changes every shard's bytes, so it must come with a recipe-visible reason.
    expect({ 0: digest(0), 1: digest(1), 6: digest(6), 9: digest(9) }).toMatchInlineSnapshot(`
      {
        "0": "3d793b89b1e14829",
        "1": "aad63dd24c9db035",
        "6": "42078ec817019c42",
        "9": "4e9d0f83fa311a92",
      }
    `);
  });

  it('refuses levels outside 0..9', () => {
    expect(() => zlibCompress(new Uint8Array(4), 10)).toThrow(/0\.\.9/);
    expect(() => zlibCompress(new Uint8Array(4), 1.5)).toThrow(/0\.\.9/);
  });
});

describe('huffmanLengths', () => {
  const kraft = (lengths: Uint8Array): number => lengths.reduce((s, l) => (l ? s + 2 ** -l : s), 0);

  it('limits code lengths and keeps the code complete when the optimal tree is deeper', () => {
    // Fibonacci weights give a tree as deep as there are symbols.
    const fib = [1, 1];
    while (fib.length < 30) fib.push(fib[fib.length - 1] + fib[fib.length - 2]);
    const lengths = huffmanLengths(fib, 30, 15);
    expect(Math.max(...lengths)).toBe(15);
    expect(kraft(lengths)).toBe(1);
    // Rarer symbols never get shorter codes than more frequent ones.
    for (let s = 1; s < 30; s++) expect(lengths[s]).toBeLessThanOrEqual(lengths[s - 1]);
  });

  it('gives every used symbol a code, at least two symbols, and equal weights equal lengths', () => {
    expect(Array.from(huffmanLengths([0, 0, 5, 0], 4, 15))).toEqual([1, 0, 1, 0]);
    expect(Array.from(huffmanLengths([0, 0, 0, 0], 4, 15))).toEqual([1, 1, 0, 0]);
    expect(Array.from(huffmanLengths([3, 3, 3, 3], 4, 15))).toEqual([2, 2, 2, 2]);
    expect(Array.from(huffmanLengths([8, 4, 2, 1, 1], 5, 15))).toEqual([1, 2, 3, 4, 4]);
  });

  it('canonical codes are prefix-free (RFC 1951 3.2.2), written least significant bit first', () => {
    const lengths = Uint8Array.from([2, 1, 3, 3]);
    const codes = canonicalCodes(lengths);
    // RFC example shape: B=0, A=10, C=110, D=111, bit-reversed.
    expect(Array.from(codes)).toEqual([0b01, 0b0, 0b011, 0b111]);
  });
});

describe('adler32', () => {
  it('matches RFC 1950 on known inputs, including sums past the 5552-byte fold', () => {
    expect(adler32(new Uint8Array(0))).toBe(1);
    expect(adler32(new Uint8Array(Buffer.from('Wikipedia')))).toBe(0x11e60398);
    // node:zlib's stream ends with its own Adler-32 of the input.
    const big = new Uint8Array(100_000).fill(255);
    const z = deflateSync(big);
    expect(adler32(big)).toBe(z.readUInt32BE(z.length - 4));
  });
});
