import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { CheckpointError, saveCheckpoint } from '../../src/train/checkpoint.js';
import { loadCheckpointRestorer } from '../../src/train/checkpoint-restorer.js';
import { createTrainer, DEFAULT_HYPER, type Trainer } from '../../src/train/maskdcpt.js';
import { identityRestorer } from '../../src/train/restorer.js';
import { tempDir } from '../support/files.js';
import { syntheticBatch, tinyNetConfig } from './models/synthetic.js';

const dir = tempDir('uirgen-restorer-');
const hyper = { ...DEFAULT_HYPER, schedule: { lr: 1e-2, minLr: 0, warmup: 1, total: 10 }, seed: 'run' };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function image(w: number, h: number): Image {
  const im = createImage(w, h);
  for (let i = 0; i < im.data.length; i++) im.data[i] = ((i * 2654435761) % 997) / 997;
  return im;
}

async function trained(method: 'maskdcpt' | 'dcpt', name: string): Promise<{ trainer: Trainer; path: string }> {
  const trainer = createTrainer(tinyNetConfig({ method, initSeed: name }), hyper);
  // Two steps move the zero-initialised block scales away from the identity.
  for (let i = 0; i < 2; i++) await trainer.trainStep(syntheticBatch('r', i, 2, 8));
  const path = join(dir, name);
  await saveCheckpoint(path, trainer, null, null);
  return { trainer, path };
}

/** The network's restoration path on the explicit zero-padded input, cropped back. */
function reference(trainer: Trainer, im: Image, padW: number, padH: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.pad(tf.tensor4d(im.data, [1, im.height, im.width, 3]), [[0, 0], [0, padH], [0, padW], [0, 0]]);
    const out = trainer.net.forward(x as tf.Tensor4D, null).restored!;
    return tf.slice(out, [0, 0, 0, 0], [1, im.height, im.width, 3]).dataSync() as Float32Array;
  });
}

describe('checkpoint restorer', () => {
  it("runs the checkpoint's unmasked restoration path; sizes off the downsampling grid are zero-padded and cropped", async () => {
    const { trainer, path } = await trained('maskdcpt', 'rest');
    const restorer = await loadCheckpointRestorer(path);
    try {
      expect(restorer.description).toContain('step 2');
      const fits = image(16, 8);
      const out = await restorer.restore(fits);
      expect([out.width, out.height]).toEqual([16, 8]);
      expect(out.data).toEqual(reference(trainer, fits, 0, 0));
      expect(out.data).not.toEqual(fits.data);
      const odd = image(13, 10); // factor 4: padded to 16 x 12
      const oddOut = await restorer.restore(odd);
      expect([oddOut.width, oddOut.height]).toEqual([13, 10]);
      expect(oddOut.data).toEqual(reference(trainer, odd, 3, 2));
    } finally {
      restorer.dispose();
      trainer.dispose();
    }
  });

  it('refuses a DCPT checkpoint (no reconstruction decoder) and a missing one', async () => {
    const { trainer, path } = await trained('dcpt', 'dcpt');
    trainer.dispose();
    await expect(loadCheckpointRestorer(path)).rejects.toThrow(/no reconstruction decoder/);
    await expect(loadCheckpointRestorer(join(dir, 'absent'))).rejects.toThrow(CheckpointError);
  });

  it('the identity restorer returns a copy of its input', async () => {
    const im = image(5, 4);
    const out = await identityRestorer().restore(im);
    expect(out.data).toEqual(im.data);
    expect(out.data).not.toBe(im.data);
  });
});
