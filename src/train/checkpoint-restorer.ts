import * as tf from '@tensorflow/tfjs-core';
import { createImage, type Image } from '../core/image.js';
import { CheckpointError, readCheckpoint } from './checkpoint.js';
import { buildNet, downFactor, validateConfig, type MaskDcptNet } from './models/maskdcpt-net.js';
import type { Restorer } from './restorer.js';

/**
 * The Restorer of a uirgen checkpoint (CKPT/model.json from pretrain): the MaskDCPT network's restoration
 * path, unmasked (mask ratio 0), on the whole image at once. The image is zero-padded at the bottom and
 * right to a multiple of the encoder's downsampling and the output cropped back, as NAFNet's
 * check_image_size does.
 *
 * This is the one place evaluation touches the network; the tiled `restore` of the published-architecture
 * work replaces it here without changing evaluate.ts. Needs a started TensorFlow.js backend.
 */
export async function loadCheckpointRestorer(dir: string): Promise<Restorer> {
  const { info, tensors } = await readCheckpoint(dir);
  let net: MaskDcptNet | null = null;
  try {
    const config = validateConfig(info.config);
    if (config.method !== 'maskdcpt') {
      throw new CheckpointError(`${dir}: a ${config.method} checkpoint has no reconstruction decoder, so it cannot restore images`);
    }
    net = buildNet(config);
    net.params.assign(tensors);
  } catch (err) {
    net?.dispose();
    throw err instanceof CheckpointError ? err : new CheckpointError(`${dir}: ${(err as Error).message}`);
  } finally {
    tf.dispose([...tensors.values()]);
  }
  const model = net;
  const factor = downFactor(info.config);
  return {
    description: `${dir} (step ${info.step})`,
    async restore(image) {
      return runPadded(model, factor, image);
    },
    dispose() {
      model.dispose();
    },
  };
}

async function runPadded(net: MaskDcptNet, factor: number, image: Image): Promise<Image> {
  const { width: w, height: h } = image;
  const out = tf.tidy(() => {
    const x = tf.tensor4d(image.data, [1, h, w, 3]);
    const padH = (factor - (h % factor)) % factor;
    const padW = (factor - (w % factor)) % factor;
    const padded = padH || padW ? tf.pad(x, [[0, 0], [0, padH], [0, padW], [0, 0]]) : x;
    const { restored } = net.forward(padded, null);
    if (!restored) throw new Error('the network returned no restored image');
    return padH || padW ? tf.slice(restored, [0, 0, 0, 0], [1, h, w, 3]) : restored;
  });
  try {
    return createImage(w, h, (await out.data()) as Float32Array);
  } finally {
    out.dispose();
  }
}
