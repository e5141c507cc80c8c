import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createImage, cropImage, toUint8 } from '../../src/core/image.js';
import { decodeImage } from '../../src/core/io.js';
import { piqe } from '../../src/core/piqe.js';
import { createRng } from '../../src/core/random.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/piqe/', import.meta.url));

interface Expected {
  name: string;
  file: string;
  width: number;
  height: number;
  rgb_sha256: string;
  piqe: number;
  active_blocks: number;
  artifact_blocks: number;
  noise_blocks: number;
}

const expected = (JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8')) as { images: Expected[] }).images;

describe('piqe against the NumPy reference (scripts/piqe-reference.py)', () => {
  for (const e of expected) {
    it(`${e.name}: score ${e.piqe.toFixed(4)}, block counts`, async () => {
      const image = await decodeImage(`${FIXTURES}${e.file}`);
      expect([image.width, image.height]).toEqual([e.width, e.height]);
      // The reference measured exactly these pixels.
      expect(createHash('sha256').update(toUint8(image)).digest('hex')).toBe(e.rgb_sha256);
      const r = piqe(image);
      expect(r.score).toBeCloseTo(e.piqe, 9);
      expect([r.activeBlocks, r.artifactBlocks, r.noiseBlocks]).toEqual([e.active_blocks, e.artifact_blocks, e.noise_blocks]);
      expect(r.blocks).toBe(Math.ceil(e.width / 16) * Math.ceil(e.height / 16));
    });
  }

  it('the fixtures span the scale: noise and JPEG score worse than the clean crop', () => {
    const by = new Map(expected.map((e) => [e.name, e.piqe]));
    expect(by.get('astronaut-noise')!).toBeGreaterThan(by.get('astronaut-clean')! + 10);
    expect(by.get('flat')).toBe(100);
  });
});

describe('piqe properties', () => {
  it('padding replicates the last row and column: a 24x20 image scores like its explicit replicate-padded 32x32 version', () => {
    const rng = createRng('piqe-pad');
    const small = createImage(24, 20);
    for (let i = 0; i < small.data.length; i++) small.data[i] = rng.uniform();
    const big = createImage(32, 32);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const s = (Math.min(y, 19) * 24 + Math.min(x, 23)) * 3;
        big.data.set(small.data.subarray(s, s + 3), (y * 32 + x) * 3);
      }
    }
    expect(piqe(small)).toEqual(piqe(big));
  });

  it('measures the 8-bit image: values inside one 8-bit bin give the same score', async () => {
    const image = cropImage(await decodeImage(`${FIXTURES}astronaut-clean.png`), 0, 0, 64, 64);
    const nudged = createImage(64, 64, image.data.map((v) => v + 0.4 / 255));
    expect(piqe(nudged)).toEqual(piqe(image));
  });
});
