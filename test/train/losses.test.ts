import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// gradients are registered by the tfjs-layers bundle (as the trainer imports it)
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { classificationLoss } from '../../src/train/losses.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const logits = [
  [2, 0, -1],
  [0.5, 0.5, 0.5],
  [-3, 1, 4],
];
const labels = [0, 2, 0];

/** softmax probability of the true class, by hand */
function pTrue(row: number[], label: number): number {
  const e = row.map(Math.exp);
  return e[label] / e.reduce((a, b) => a + b, 0);
}

function loss(gamma: number, kind: 'focal' | 'ce' = 'focal', rows = logits): number {
  return tf.tidy(() => classificationLoss(tf.tensor2d(rows), tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D, { kind, gamma }).dataSync()[0]);
}

describe('focal loss', () => {
  it('is the mean of -(1 - p)^gamma log p over the batch (hand-computed values)', () => {
    const ps = logits.map((r, i) => pTrue(r, labels[i]));
    // p = 0.843795, 1/3, 0.00086788: the confident right answer counts for little, the confident wrong one for almost all
    for (const gamma of [0.5, 1, 2, 5]) {
      const want = ps.reduce((s, p) => s - (1 - p) ** gamma * Math.log(p), 0) / ps.length;
      expect(loss(gamma)).toBeCloseTo(want, 5);
    }
    expect(loss(2)).toBeCloseTo((-(0.156205 ** 2) * Math.log(0.843795) + (2 / 3) ** 2 * Math.log(3) - (1 - 0.00086788) ** 2 * Math.log(0.00086788)) / 3, 4);
  });

  it('gamma 0 and the ce option are the cross-entropy', () => {
    const ce = -logits.reduce((s, r, i) => s + Math.log(pTrue(r, labels[i])), 0) / logits.length;
    expect(loss(0)).toBeCloseTo(ce, 5);
    expect(loss(2, 'ce')).toBeCloseTo(ce, 5);
  });

  it('differentiates the focal term too (as the released FocalLoss does): gradient matches finite differences', () => {
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D;
    const g = tf.grad((x: tf.Tensor) => classificationLoss(x as tf.Tensor2D, onehot, { kind: 'focal', gamma: 2 }))(tf.tensor2d(logits)).arraySync() as number[][];
    const h = 1e-3;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const plus = logits.map((r) => [...r]);
        const minus = logits.map((r) => [...r]);
        plus[i][j] += h;
        minus[i][j] -= h;
        expect(g[i][j]).toBeCloseTo((loss(2, 'focal', plus) - loss(2, 'focal', minus)) / (2 * h), 2);
      }
  });
});
