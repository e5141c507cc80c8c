import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { hasKernel, LAYER_NORM, SIMPLE_GATE } from '../../../src/train/kernels/fused.js';
import { defineLayerNorm, ParamStore, simpleGate } from '../../../src/train/models/layers.js';
import { expectArraysClose, values } from '../../support/conv-kernels.js';
import { expectSameOutputOnOneAndTwoThreads, runNative } from '../../support/native.js';

/** LayerNorm's output and the gradients of a weighted sum of it for x, g and b, on one backend. */
async function layerNormAndGrads(backend: string, shape: [number, number, number, number]) {
  await tf.setBackend(backend);
  const c = shape[3];
  const ps = new ParamStore('ln-test');
  const ln = defineLayerNorm(ps, 'ln', c, 1e-6);
  const g = ps.get('ln.weight');
  const b = ps.get('ln.bias');
  g.assign(tf.tensor(values(c, 1).map((v) => 1 + v / 2)));
  b.assign(tf.tensor(values(c, 2)));
  const n = shape.reduce((p, d) => p * d, 1);
  // channels with different offsets and scales, so the statistics matter
  const x = tf.tensor4d(values(n, 3).map((v, i) => v * (1 + (i % c)) + (i % 7)), shape);
  const w = tf.tensor4d(values(n, 4), shape);
  const y = ln(x);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(ln(x), w)) as tf.Scalar, [g, b]);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ln(t as tf.Tensor4D), w)))(x);
  const out = { fused: hasKernel(LAYER_NORM), y: y.dataSync(), dx: dx.dataSync(), dg: grads[g.name].dataSync(), db: grads[b.name].dataSync() };
  tf.dispose([x, w, y, dx, ...Object.values(grads)]);
  ps.dispose();
  return out;
}

describe.runIf(runNative)('native NAF block kernels', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('native');
  });

  for (const shape of [
    [2, 5, 7, 16],
    [1, 9, 3, 13],
    [3, 17, 19, 64],
  ] as Array<[number, number, number, number]>) {
    it(`gives tfjs ops' output and gradients for x, g and b: ${shape}`, async () => {
      const ops = await layerNormAndGrads('cpu', shape);
      const fused = await layerNormAndGrads('wasm', shape);
      expect([ops.fused, fused.fused]).toEqual([false, true]);
      expectArraysClose(ops.y, fused.y, 'y');
      expectArraysClose(ops.dx, fused.dx, 'dx');
      expectArraysClose(ops.dg, fused.dg, 'dg');
      expectArraysClose(ops.db, fused.db, 'db');
    });
  }

  it("SimpleGate's output and gradient are tfjs ops' bits", async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(values(2 * 5 * 7 * 24, 5), [2, 5, 7, 24]);
      const w = tf.tensor4d(values(2 * 5 * 7 * 12, 6), [2, 5, 7, 12]);
      const y = simpleGate(x);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(simpleGate(t as tf.Tensor4D), w)))(x);
      const out = { fused: hasKernel(SIMPLE_GATE), shape: y.shape, y: Buffer.from(y.dataSync().buffer), dx: Buffer.from(dx.dataSync().buffer) };
      tf.dispose([x, w, y, dx]);
      return out;
    };
    const ops = await run('cpu');
    const fused = await run('wasm');
    expect([ops.fused, fused.fused]).toEqual([false, true]);
    expect(fused.shape).toEqual([2, 5, 7, 12]);
    expect(fused.y).toEqual(ops.y);
    expect(fused.dx).toEqual(ops.dx);
  });

  it('sums dg and db in an order fixed by the shape: the same bits on 1 and 2 threads', () => {
    expectSameOutputOnOneAndTwoThreads(`
      const c = 24, pixels = 5000, n = c * pixels;
      const f = (seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed) * 3);
      const x = f(1), dy = f(2), g = Float32Array.from({ length: c }, (_, i) => 1 + i / c), b = new Float32Array(c);
      const y = new Float32Array(n), mean = new Float32Array(pixels), rstd = new Float32Array(pixels);
      addon.layerNorm(1e-6, x, g, b, y, mean, rstd);
      const dx = new Float32Array(n), dg = new Float32Array(c), db = new Float32Array(c);
      addon.layerNormGrad(dy, x, mean, rstd, g, dx, dg, db);
      const bits = [y, dx, dg, db].map((a) => Buffer.from(a.buffer).toString('base64').slice(0, 4000)).join(',');
      process.stdout.write(require('crypto').createHash('sha256').update(bits).digest('hex'));`);
  });
});
