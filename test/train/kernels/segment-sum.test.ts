import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';

async function onBoth(f: () => tf.Tensor): Promise<{ cpu: tf.TypedArray; wasm: tf.TypedArray; shape: number[]; wasmShape: number[] }> {
  await tf.setBackend('cpu');
  const a = f();
  const cpu = a.dataSync();
  const shape = a.shape;
  await tf.setBackend('wasm');
  const b = f();
  const out = { cpu, wasm: b.dataSync(), shape, wasmShape: b.shape };
  tf.dispose([a, b]);
  return out;
}

beforeAll(async () => {
  await initBackend('cpu');
  await initBackend('wasm');
});

describe('UnsortedSegmentSum on wasm', () => {
  it('matches cpu for float rows, repeated and out-of-range ids (dropped)', async () => {
    const r = await onBoth(() =>
      tf.unsortedSegmentSum(tf.tensor3d(Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)), [6, 3, 2]), tf.tensor1d([0, 2, -1, 2, 5, 1], 'int32'), 4),
    );
    expect(r.wasmShape).toEqual([4, 3, 2]);
    expect(Array.from(r.wasm)).toEqual(Array.from(r.cpu).map((v) => Math.fround(v)));
    // id 5 and -1 rows are dropped; segment 3 is empty
    expect(Array.from(r.wasm.slice(18, 24))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('matches cpu for int32 data', async () => {
    const r = await onBoth(() => tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [4, 3], 'int32'), tf.tensor1d([1, 0, 1, 1], 'int32'), 3));
    expect(r.wasmShape).toEqual([3, 3]);
    expect(Array.from(r.wasm)).toEqual(Array.from(r.cpu));
    expect(Array.from(r.wasm)).toEqual([4, 5, 6, 1 + 7 + 10, 2 + 8 + 11, 3 + 9 + 12, 0, 0, 0]);
  });

  it('carries the gradient of gather', async () => {
    const r = await onBoth(() => {
      const table = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
      const idx = tf.tensor1d([2, 0, 2, 2], 'int32');
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]))))(table);
    });
    expect(Array.from(r.wasm)).toEqual(Array.from(r.cpu));
    expect(Array.from(r.wasm)).toEqual([3, 4, 0, 0, 1 + 5 + 7, 2 + 6 + 8]);
  });
});
