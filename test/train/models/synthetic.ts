import { createRng, deriveSeed } from '../../../src/core/random.js';
import type { TrainBatch } from '../../../src/train/maskdcpt.js';
import type { BatchSource } from '../../../src/train/pretrain.js';
import type { NetConfig } from '../../../src/train/models/maskdcpt-net.js';

/**
 * An in-memory BatchSource of two "degradations" for learning tests: smooth random images (a few low
 * sinusoids per channel) either blurred (3x3 box) or noised (Gaussian, sigma 0.2 by default), half of each per batch. Batch i depends only on
 * (seed, i), so position() = { index } resumes exactly.
 */
export const SYNTHETIC_CLASSES = ['blur', 'noise'];

function smoothImage(rng: ReturnType<typeof createRng>, size: number, out: Float32Array, offset: number): void {
  const waves = Array.from({ length: 3 }, () =>
    Array.from({ length: 3 }, () => ({ fx: rng.range(-0.6, 0.6), fy: rng.range(-0.6, 0.6), ph: rng.range(0, 6.3), a: rng.range(0.05, 0.2) })),
  );
  const base = [rng.range(0.25, 0.75), rng.range(0.25, 0.75), rng.range(0.25, 0.75)];
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let v = base[c];
        for (const w of waves[c]) v += w.a * Math.sin(w.fx * x + w.fy * y + w.ph);
        out[offset + (y * size + x) * 3 + c] = Math.min(1, Math.max(0, v));
      }
}

export function syntheticBatch(seed: string, index: number, size: number, patch: number, sigma = 0.2): TrainBatch {
  const rng = createRng(deriveSeed(seed, 'batch', index));
  const px = patch * patch * 3;
  const gt = new Float32Array(size * px);
  const lq = new Float32Array(size * px);
  const labels = new Int32Array(size);
  for (let b = 0; b < size; b++) {
    smoothImage(rng, patch, gt, b * px);
    labels[b] = (b + index) % 2; // balanced batches: no label-frequency noise in a tiny test
    for (let y = 0; y < patch; y++)
      for (let x = 0; x < patch; x++)
        for (let c = 0; c < 3; c++) {
          const i = b * px + (y * patch + x) * 3 + c;
          if (labels[b] === 1) {
            lq[i] = Math.min(1, Math.max(0, gt[i] + sigma * rng.normal()));
          } else {
            let s = 0;
            for (let dy = -1; dy <= 1; dy++)
              for (let dx = -1; dx <= 1; dx++) {
                const yy = Math.min(patch - 1, Math.max(0, y + dy));
                const xx = Math.min(patch - 1, Math.max(0, x + dx));
                s += gt[b * px + (yy * patch + xx) * 3 + c];
              }
            lq[i] = s / 9;
          }
        }
  }
  return { lq, gt, labels, size, patch };
}

export function syntheticSource(seed: string, size: number, patch: number, start = 0, sigma = 0.2): BatchSource & { index: number } {
  const src = {
    classes: SYNTHETIC_CLASSES,
    index: start,
    async next() {
      return syntheticBatch(seed, src.index++, size, patch, sigma);
    },
    position() {
      return { index: src.index };
    },
  };
  return src;
}

/** The smallest network the model tests build: width 4, two encoder stages (downsampling by 4), 4 px mask patches. */
export function tinyNetConfig(over: Partial<NetConfig> = {}): NetConfig {
  return {
    method: 'maskdcpt',
    width: 4,
    encBlocks: [1, 1],
    middleBlocks: 1,
    decBlocks: [1, 1],
    maskWindow: 4,
    clsBlocks: 1,
    clsExpand: 1,
    classes: ['a', 'b'],
    initSeed: 'init',
    ...over,
  };
}
