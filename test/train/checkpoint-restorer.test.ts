import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { CheckpointError, loadRestorationNet, saveCheckpoint } from '../../src/train/checkpoint.js';
import { loadCheckpointRestorer } from '../../src/train/checkpoint-restorer.js';
import { createTrainer, DEFAULT_HYPER } from '../../src/train/maskdcpt.js';
import { restoreImage } from '../../src/train/restore.js';
import { identityRestorer } from '../../src/train/restorer.js';
import { tempDir } from '../support/files.js';
import { syntheticBatch, tinyNetConfig } from './models/synthetic.js';

const dir = tempDir('uirgen-restorer-');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function image(w: number, h: number): Image {
  const im = createImage(w, h);
  for (let i = 0; i < im.data.length; i++) im.data[i] = ((i * 2654435761) % 997) / 997;
  return im;
}

let trained: Promise<string> | null = null;
/** A pre-training checkpoint two steps in (block scales away from the identity), EMA on. */
function checkpoint(): Promise<string> {
  trained ??= (async () => {
    const trainer = createTrainer(tinyNetConfig({ initSeed: 'rest' }), {
      ...DEFAULT_HYPER,
      emaDecay: 0.5,
      schedule: { lr: 1e-2, minLr: 0, warmup: 1, total: 10 },
      seed: 'run',
    });
    for (let i = 0; i < 2; i++) await trainer.trainStep(syntheticBatch('r', i, 2, 8));
    const path = join(dir, 'ckpt');
    await saveCheckpoint(path, trainer, null, null);
    trainer.dispose();
    return path;
  })();
  return trained;
}

/** Reflect padding to the next multiple of q, as restoreImage pads a single tile. */
function reflectPadded(im: Image, q: number): tf.Tensor4D {
  const W = Math.ceil(im.width / q) * q;
  const H = Math.ceil(im.height / q) * q;
  const r = (i: number, n: number): number => (i < n ? i : 2 * (n - 1) - i);
  const out = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) out.set(im.data.subarray((r(y, im.height) * im.width + r(x, im.width)) * 3, (r(y, im.height) * im.width + r(x, im.width)) * 3 + 3), (y * W + x) * 3);
  return tf.tensor4d(out, [1, H, W, 3]);
}

describe('checkpoint restorer', () => {
  it("restores with the checkpoint's EMA weights through the tiled restore; an image that fits one tile gets one whole-image pass", async () => {
    const path = await checkpoint();
    const restorer = await loadCheckpointRestorer(path, { tile: 64, overlap: 16 });
    const { net } = await loadRestorationNet(path, 'ema');
    try {
      expect(restorer.description).toBe(`${path} (ema weights, step 2)`);
      const fits = image(13, 10); // one tile, reflect-padded to 16 x 12
      const out = await restorer.restore(fits);
      expect([out.width, out.height]).toEqual([13, 10]);
      const whole = tf.tidy(() => tf.slice(net.restore(reflectPadded(fits, 4)), [0, 0, 0, 0], [1, 10, 13, 3]).dataSync() as Float32Array);
      expect(out.data).toEqual(whole);
      const big = image(150, 90); // several tiles
      expect((await restorer.restore(big)).data).toEqual((await restoreImage(net, big, { tile: 64, overlap: 16 })).data);
    } finally {
      restorer.dispose();
      net.dispose();
    }
  });

  it('--weights live picks the live weights, which differ from the EMA', async () => {
    const path = await checkpoint();
    const [ema, live] = [await loadCheckpointRestorer(path), await loadCheckpointRestorer(path, { weights: 'live' })];
    try {
      expect(live.description).toContain('live weights');
      const im = image(16, 8);
      expect((await live.restore(im)).data).not.toEqual((await ema.restore(im)).data);
    } finally {
      ema.dispose();
      live.dispose();
    }
  });

  it('refuses a missing checkpoint and tiles the network cannot use', async () => {
    await expect(loadCheckpointRestorer(join(dir, 'absent'))).rejects.toThrow(CheckpointError);
    await expect(loadCheckpointRestorer(await checkpoint(), { tile: 30 })).rejects.toThrow(RangeError);
  });

  it('the identity restorer returns a copy of its input', async () => {
    const im = image(5, 4);
    const out = await identityRestorer().restore(im);
    expect(out.data).toEqual(im.data);
    expect(out.data).not.toBe(im.data);
  });
});
