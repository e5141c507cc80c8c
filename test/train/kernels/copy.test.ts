import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';

type Dtype = 'float32' | 'int32' | 'bool';

function make(shape: number[], dtype: Dtype, seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Int32Array.from({ length: n }, (_, i) => ((i + 1) * 2654435761 + seed * 97) % 1000);
  if (dtype === 'bool') return tf.tensor(Uint8Array.from(v, (x) => x & 1), shape, 'bool');
  return dtype === 'int32' ? tf.tensor(v, shape, 'int32') : tf.tensor(Float32Array.from(v, (x) => x / 7 - 50), shape);
}

/** Run f on cpu and wasm with the same inputs; returns each output's shape and values per backend. */
async function onBoth(f: () => tf.Tensor | tf.Tensor[]) {
  const out: Record<string, Array<{ shape: number[]; values: number[] }>> = {};
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const r = tf.tidy(f);
    const list = Array.isArray(r) ? r : [r];
    out[backend] = list.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
    tf.dispose(list);
  }
  return out as Record<'cpu' | 'wasm', Array<{ shape: number[]; values: number[] }>>;
}

beforeAll(async () => {
  await initBackend('cpu');
  await initBackend('wasm');
});

describe('slice, split and concat on wasm as heap block copies', () => {
  const slices: Array<[number[], number[], number[], Dtype]> = [
    [[4, 6, 5, 8], [0, 0, 0, 0], [4, 6, 5, 4], 'float32'], // half the channels
    [[4, 6, 5, 8], [1, 2, 1, 3], [2, 3, 4, 5], 'float32'], // cut on every axis
    [[4, 6, 5, 8], [1, 0, 0, 0], [2, -1, -1, -1], 'float32'], // whole images (one run)
    [[4, 6, 5, 8], [0, 2, 0, 0], [-1, 3, -1, -1], 'int32'],
    [[3, 4, 5, 6, 2], [1, 1, 1, 1, 1], [2, 2, 3, 4, 1], 'float32'], // rank 5
    [[9, 7], [2, 3], [5, 4], 'bool'],
    [[10], [3], [4], 'float32'],
    [[3, 4], [0, 0], [3, 4], 'float32'], // everything
    [[3, 4], [1, 0], [0, 4], 'float32'], // empty
  ];
  for (const [shape, begin, size, dtype] of slices) {
    it(`slice ${dtype} [${shape}] at [${begin}] size [${size}]`, async () => {
      const r = await onBoth(() => tf.slice(make(shape, dtype, 1), begin, size));
      expect(r.wasm).toEqual(r.cpu);
    });
  }

  const splits: Array<[number[], number | number[], number, Dtype]> = [
    [[2, 5, 4, 8], 2, 3, 'float32'], // SimpleGate's channel split
    [[2, 5, 4, 8], [3, -1, 1], 1, 'float32'],
    [[6, 4], 3, 0, 'int32'],
    [[2, 3, 4], [1, 3], -1, 'bool'],
  ];
  for (const [shape, splitsOf, axis, dtype] of splits) {
    it(`split ${dtype} [${shape}] into ${JSON.stringify(splitsOf)} on axis ${axis}`, async () => {
      const r = await onBoth(() => tf.split(make(shape, dtype, 2), splitsOf, axis));
      expect(r.wasm).toEqual(r.cpu);
    });
  }

  const concats: Array<[number[][], number, Dtype]> = [
    [[[2, 5, 4, 4], [2, 5, 4, 4]], 3, 'float32'],
    [[[2, 5, 4, 3], [2, 5, 4, 1], [2, 5, 4, 6]], -1, 'float32'],
    [[[2, 1, 4, 3], [2, 4, 4, 3]], 1, 'int32'],
    [[[1, 3], [4, 3]], 0, 'float32'],
    [[[3, 2], [3, 0], [3, 5]], 1, 'bool'],
  ];
  for (const [shapes, axis, dtype] of concats) {
    it(`concat ${dtype} ${JSON.stringify(shapes)} on axis ${axis}`, async () => {
      const r = await onBoth(() => tf.concat(shapes.map((s, i) => make(s, dtype, 3 + i)), axis));
      expect(r.wasm).toEqual(r.cpu);
    });
  }

  it('casts to the same dtype without copying, and still converts between dtypes', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = tf.tensor1d([1.5, -2.25, 3.75]);
    const before = backend.numDataIds();
    const same = tf.cast(x, 'float32');
    const clone = tf.clone(x);
    expect(backend.numDataIds()).toBe(before); // aliases, not copies
    const toInt = tf.cast(x, 'int32');
    expect(backend.numDataIds()).toBe(before + 1);
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.25, 3.75]);
    expect(Array.from(clone.dataSync())).toEqual([1.5, -2.25, 3.75]);
    expect(Array.from(toInt.dataSync())).toEqual([1, -2, 3]);
    x.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.25, 3.75]); // alive while an alias holds it
    tf.dispose([same, clone, toInt]);
    expect(backend.numDataIds()).toBe(before - 1);
  });

  it('leaves string tensors to the stock kernels', async () => {
    await tf.setBackend('wasm');
    const s = tf.tensor2d([['a', 'b', 'c'], ['d', 'e', 'f']]);
    const parts = [tf.slice(s, [0, 1], [2, 2]), tf.concat([s, s], 0)];
    expect(parts.map((t) => t.arraySync())).toEqual([
      [['b', 'c'], ['e', 'f']],
      [['a', 'b', 'c'], ['d', 'e', 'f'], ['a', 'b', 'c'], ['d', 'e', 'f']],
    ]);
    tf.dispose([s, ...parts]);
  });

  it('carries gradients through split and concat (SimpleGate)', async () => {
    const r = await onBoth(() =>
      tf.grad((x: tf.Tensor) => {
        const [a, b] = tf.split(x, 2, 3);
        return tf.sum(tf.mul(tf.concat([tf.mul(a, b), a], 3), make([2, 3, 3, 8], 'float32', 9)));
      })(make([2, 3, 3, 8], 'float32', 4)),
    );
    expect(r.wasm[0].shape).toEqual([2, 3, 3, 8]);
    r.cpu[0].values.forEach((v, i) => expect(r.wasm[0].values[i]).toBeCloseTo(v, 2));
  });
});
