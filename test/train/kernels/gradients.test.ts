import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { RELU_GRAD } from '../../../src/train/kernels/fused.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('gradient overrides', () => {
  it("Mean's gradient is dy / count broadcast over the reduced axes", () => {
    const x = tf.randomUniform([2, 3, 4, 5], -1, 1, 'float32', 1);
    const w = tf.randomUniform([2, 5], -1, 1, 'float32', 2);
    const cases: Array<[number[], boolean]> = [[[1, 2], false], [[3], true], [[0, 1, 2, 3], false]];
    for (const [axes, keep] of cases) {
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, axes, keep), axes.length === 2 ? w : 1)))(x);
      const count = axes.reduce((n, a) => n * (x.shape[a] ?? 1), 1);
      const wv = w.arraySync() as number[][];
      const gv = g.arraySync() as number[][][][];
      for (let n = 0; n < 2; n++) {
        for (let c = 0; c < 5; c++) {
          const want = (axes.length === 2 ? wv[n][c] : 1) / count;
          expect(gv[n][2][3][c]).toBeCloseTo(want, 6);
          expect(gv[n][0][1][c]).toBeCloseTo(want, 6);
        }
      }
      g.dispose();
    }
    tf.dispose([x, w]);
  });

  it("Sum's gradient is dy broadcast over the reduced axes, for float and int inputs", () => {
    const x = tf.randomUniform([2, 3, 4], -1, 1, 'float32', 3);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, [0, 2]), tf.tensor([1, 2, 3]))))(x);
    expect(g.shape).toEqual([2, 3, 4]);
    const gv = g.arraySync() as number[][][];
    for (let n = 0; n < 2; n++) for (let k = 0; k < 4; k++) expect([gv[n][0][k], gv[n][1][k], gv[n][2][k]]).toEqual([1, 2, 3]);
    const gradOfInt = tf.grad((t: tf.Tensor) => tf.sum(tf.cast(tf.sum(tf.cast(t, 'int32'), 1), 'float32')));
    expect(gradOfInt(tf.ones([2, 2])).dtype).toBe('float32');
    tf.dispose([x, g]);
  });

  it("ReLU's gradient is dy * step(x), through tfjs's ops where the backend has no one-pass kernel", () => {
    expect(tf.getKernel(RELU_GRAD, 'cpu')).toBeUndefined();
    const x = tf.tensor([-2, -0.5, 0, 0.5, 2, Number.NaN]);
    const dy = tf.tensor([1, 2, 3, 4, 5, 6]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dy)))(x);
    const got = Array.from(g.dataSync());
    expect(got.slice(0, 5)).toEqual([0, 0, 0, 4, 5]);
    expect(Number.isNaN(got[5])).toBe(true);
    tf.dispose([x, dy, g]);
  });
});
