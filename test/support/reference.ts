import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { randomBatch } from '../../src/train/bench.js';
import { createReferenceNet } from '../../src/train/nets/reference.js';

export interface LossAndGrads {
  loss: number;
  grads: Array<Float32Array | Int32Array | Uint8Array>;
}

/** The reference net's loss and variable gradients on a tfjs backend (the native backend runs as 'wasm'). */
export async function referenceLossAndGrads(backend: string, batch: number): Promise<LossAndGrads> {
  await tf.setBackend(backend);
  const net = createReferenceNet({ seed: 3 });
  const data = randomBatch(batch, 16, 19, 5);
  const { value, grads } = tf.variableGrads(() => net.loss(data.x, data.labels), net.variables);
  // asynchronous reads: webgpu under Node has no synchronous one
  const out = { loss: (await value.data())[0], grads: await Promise.all(net.variables.map((v) => grads[v.name].data())) };
  tf.dispose([value, ...Object.values(grads), data.x, data.labels]);
  net.dispose();
  return out;
}

/**
 * Loss to 4 decimals, each gradient to `relTol` (default 1e-4) of its largest value (at least 1e-3).
 * A GPU backend's reductions add in another order (and its exp/log differ), hence a looser relTol there.
 */
export function expectSameLossAndGrads(want: LossAndGrads, got: LossAndGrads, relTol = 1e-4): void {
  expect(got.loss).toBeCloseTo(want.loss, 4);
  want.grads.forEach((g, i) => {
    const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
    const diff = Math.max(...Array.from(g, (v, j) => Math.abs(v - got.grads[i][j])));
    expect(diff / scale, `variable ${i}`).toBeLessThan(relTol);
  });
}
