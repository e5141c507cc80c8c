import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { toUint8 } from '../../src/core/image.js';
import { huffmanLengths } from '../../src/core/deflate.js';
import { crc32Reference, encodePngRgb8, encodePngRgb8Js, filterAverage, pngEncoder } from '../../src/core/png.js';
import { createRng } from '../../src/core/random.js';
import { tempDir } from '../support/files.js';
import { runSystemPython } from '../support/python.js';
import { sampleCrops } from '../support/samples.js';

const dir = tempDir();

function randomPixels(width: number, height: number, seed: string): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => rng.int(0, 255));
}

async function decodeWithSharp(png: Buffer): Promise<{ width: number; height: number; data: Buffer; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data, channels: info.channels };
}

/** The chunk types of a PNG, in order, each checked against its CRC. */
function chunks(png: Buffer): string[] {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  const types: string[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    expect(png.readUInt32BE(at + 8 + len)).toBe(zlib.crc32 ? zlib.crc32(png.subarray(at + 4, at + 8 + len)) : crc32Reference(png.subarray(at + 4, at + 8 + len)));
    types.push(type);
    at += 12 + len;
  }
  return types;
}

describe('encodePngRgb8', () => {
  it('round-trips pixels exactly through libvips at every level, odd sizes included', async () => {
    const photos = (await sampleCrops(96)).map((im) => toUint8(im));
    const cases: [string, Uint8Array, number, number][] = [
      ['1x1', randomPixels(1, 1, 'a'), 1, 1],
      ['3x2', randomPixels(3, 2, 'b'), 3, 2],
      ['257x5 noise', randomPixels(257, 5, 'c'), 257, 5],
      ['flat 40x300', new Uint8Array(40 * 300 * 3).fill(200), 40, 300],
      ...photos.map((p, i): [string, Uint8Array, number, number] => [`photo ${i}`, p, 96, 96]),
    ];
    for (const [name, px, w, h] of cases) {
      for (const level of [0, 1, 6, 9]) {
        const png = encodePngRgb8(px, w, h, level);
        expect(chunks(png), name).toEqual(['IHDR', 'IDAT', 'IEND']);
        const back = await decodeWithSharp(png);
        expect([back.width, back.height, back.channels], name).toEqual([w, h, 3]);
        expect(back.data.equals(Buffer.from(px)), `${name} level ${level}`).toBe(true);
      }
    }
  });

  it('decodes with libpng too (OpenCV and Pillow), where Python has them', () => {
    const px = randomPixels(61, 37, 'py');
    const path = join(dir, 'py.png');
    writeFileSync(path, encodePngRgb8(px, 61, 37, 1));
    const script = [
      'import sys, hashlib',
      'import cv2, numpy as np',
      'from PIL import Image',
      'a = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)[:, :, ::-1]',
      'b = np.asarray(Image.open(sys.argv[1]).convert("RGB"))',
      'assert a.shape == (37, 61, 3) and (a == b).all()',
      'print(hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())',
    ].join('\n');
    const out = runSystemPython(script, [path], 'cv2 and PIL');
    if (out === null) return;
    expect(out.trim()).toBe(createHash('sha256').update(px).digest('hex'));
  });

  it('gives the same bytes for the same pixels, and these bytes on every machine', async () => {
    const photos = (await sampleCrops(128)).map((im) => toUint8(im));
    const a = encodePngRgb8(photos[0], 128, 128, 1);
    expect(encodePngRgb8(photos[0].slice(), 128, 128, 1).equals(a)).toBe(true);
    const h = createHash('sha256');
    for (const p of photos) h.update(encodePngRgb8(p, 128, 128, 1));
    // Pinned: every shard's PNGs change if this does.
    expect(h.digest('hex').slice(0, 16)).toMatchInlineSnapshot(`"6910e14693a28fab"`);
  });

  it('compresses photographs to well under the raw size at level 1', async () => {
    const photos = (await sampleCrops(128)).map((im) => toUint8(im));
    for (const p of photos) expect(encodePngRgb8(p, 128, 128, 1).length).toBeLessThan(p.length * 0.8);
  });

  it('refuses pixels that do not fit the size', () => {
    expect(() => encodePngRgb8(new Uint8Array(10), 2, 2)).toThrow(/do not hold a 2x2 RGB image/);
    expect(() => encodePngRgb8(new Uint8Array(12), 0, 2)).toThrow(/positive integers/);
  });
});

describe('crc32Reference', () => {
  it('is the standard CRC-32 (the check value of "123456789")', () => {
    expect(crc32Reference(new Uint8Array(Buffer.from('123456789')))).toBe(0xcbf43926);
  });
});

/**
 * One row whose Average-filter residuals have Fibonacci frequencies (1, 1, 2, ... 28657 over 22
 * values, shuffled): its optimal Huffman code is 21 bits deep, so the 15-bit limit and the Kraft
 * repair must run. A row's residual is x - (left >> 1), so pixels are built from the residuals.
 */
function fibonacciRow(): Uint8Array {
  const fib = [1, 1];
  while (fib.length < 22) fib.push(fib[fib.length - 1] + fib[fib.length - 2]);
  const residuals: number[] = [];
  fib.forEach((count, value) => {
    for (let c = 0; c < count; c++) residuals.push(value * 11);
  });
  residuals.push(21 * 11); // 46368 = 15456 * 3 values; one more of the commonest keeps the chain
  const rng = createRng('fib');
  for (let i = residuals.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [residuals[i], residuals[j]] = [residuals[j], residuals[i]];
  }
  const px = new Uint8Array(15456 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (residuals[i] + (i >= 3 ? px[i - 3] >> 1 : 0)) & 0xff;
  return px;
}

/** Images of every character the pipeline makes, plus the corner cases of the block and code logic. */
function twinCases(): [string, Uint8Array, number, number][] {
  const rng = createRng('twin');
  const cases: [string, Uint8Array, number, number][] = [
    ['1x1', randomPixels(1, 1, 't1'), 1, 1],
    ['1x7', randomPixels(1, 7, 't2'), 1, 7],
    ['5x1', randomPixels(5, 1, 't3'), 5, 1],
    ['noise 300x200', randomPixels(300, 200, 't4'), 300, 200],
    // One flat image: runs of 258 across every 65535-byte block boundary.
    ['flat 400x300', new Uint8Array(400 * 300 * 3).fill(17), 400, 300],
  ];
  cases.push(['Fibonacci residuals 15456x1', fibonacciRow(), 15456, 1]);
  for (let k = 0; k < 40; k++) {
    const w = rng.int(1, 300);
    const h = rng.int(1, 120);
    const px = new Uint8Array(w * h * 3);
    // A mixture: smooth ramps, flat patches (runs), dark skewed values (very unequal frequencies,
    // so codes hit the 15-bit limit), and noise.
    const style = k % 4;
    for (let i = 0; i < px.length; i++) {
      const x = (i / 3) % w;
      px[i] =
        style === 0 ? (x * 3 + Math.floor(i / (w * 3))) & 0xff
        : style === 1 ? (Math.floor(x / 37) % 2 ? 250 : rng.uniform() < 0.02 ? rng.int(0, 255) : 3)
        : style === 2 ? Math.floor(rng.uniform() ** 12 * 40)
        : rng.int(0, 255);
    }
    cases.push([`mixture ${k} (${w}x${h}, style ${style})`, px, w, h]);
  }
  return cases;
}

describe('native twin (native/png/png.cc)', () => {
  const required = process.env.UIRGEN_NATIVE === 'required';
  it('is built where CI requires the native addons', () => {
    if (!required && pngEncoder() !== 'native') {
      console.warn('skipped: build/native/uirgen_png.node not built (npm run build with a C++ compiler)');
      return;
    }
    expect(pngEncoder()).toBe('native');
  });

  it('writes exactly the bytes of the TypeScript encoder at levels 0 and 1', async () => {
    if (pngEncoder() !== 'native') {
      console.warn('skipped: the native PNG encoder is not built');
      return;
    }
    // The Fibonacci row really needs the length limit.
    const row = filterAverage(fibonacciRow(), 15456, 1);
    const freq = new Array<number>(256).fill(0);
    for (const v of row.subarray(1)) freq[v]++;
    expect(Math.max(...huffmanLengths(freq, 256, 32))).toBeGreaterThan(15);
    const photos = (await sampleCrops(256)).map((im): [string, Uint8Array, number, number] => ['photo', toUint8(im), 256, 256]);
    for (const [name, px, w, h] of [...photos, ...twinCases()]) {
      for (const level of [0, 1]) {
        const js = encodePngRgb8Js(px, w, h, level);
        const native = encodePngRgb8(px, w, h, level);
        expect(native.equals(js), `${name} level ${level}`).toBe(true);
      }
    }
  });
});
