import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { loadTrainer } from '../../../src/train/checkpoint.js';
import { makeMasks, sampleMaskCells } from '../../../src/train/models/maskdcpt-net.js';
import { defaultSettings, pretrain, readLog, type LogRecord } from '../../../src/train/pretrain.js';
import { syntheticBatch, syntheticSource } from './synthetic.js';

/**
 * MaskDCPT really learns: a short pre-training on two synthetic degradations (blur vs noise on smooth
 * random images) must classify held-out masked images well above chance and reduce the reconstruction
 * loss. Runs on the wasm backend (the CPU default): the same 300 steps take minutes on the pure-JS one.
 */

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'uirgen-learn-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('MaskDCPT learning', () => {
  it('classification accuracy rises well above chance and reconstruction loss falls', async () => {
    const out = join(dir, 'run');
    const settings = defaultSettings({
      steps: 300,
      batch: 8,
      patch: 8,
      seed: 'learn',
      lr: 1e-3,
      net: { width: 8, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], maskWindow: 4, clsBlocks: 1, clsExpand: 2 },
    });
    await pretrain({
      out,
      settings,
      openSource: async (s, position) => syntheticSource('train', s.batch, s.patch, (position as { index: number } | null)?.index ?? 0),
      progress: 'none',
      checkpointEvery: 1000,
    });
    const log: LogRecord[] = await readLog(join(out, 'log.jsonl'));
    expect(log).toHaveLength(300);
    const early = mean(log.slice(0, 10).map((r) => r.loss_rec));
    const late = mean(log.slice(-30).map((r) => r.loss_rec));
    expect(late).toBeLessThan(0.75 * early);

    // Held-out images (another data seed), masked as in training.
    const { trainer } = await loadTrainer(out);
    let right = 0;
    let total = 0;
    for (let i = 0; i < 8; i++) {
      const b = syntheticBatch('held-out', i, 8, 8);
      const masks = makeMasks(sampleMaskCells(8, 2, 2, 0.5, `eval${i}`), 8, 8, 8, 4, 2);
      const lq = tf.tensor4d(b.lq, [8, 8, 8, 3]);
      const { logits, restored } = trainer.net.forward(lq, masks);
      const pred = tf.argMax(logits, 1).dataSync();
      pred.forEach((p, k) => (right += p === b.labels[k] ? 1 : 0));
      total += 8;
      tf.dispose([lq, logits, ...(restored ? [restored] : []), ...masks]);
    }
    trainer.dispose();
    expect(right / total).toBeGreaterThanOrEqual(0.85);
  }, 600_000);
});
