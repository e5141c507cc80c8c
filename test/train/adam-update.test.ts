import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, adamStepConstants, updateParameter } from '../../src/train/adam-update.js';
import { initBackend } from '../../src/train/backend.js';
import { fusedAdamStep, randomBatch, trainStep } from '../../src/train/bench.js';
import { createReferenceNet } from '../../src/train/nets/reference.js';
import { runNative } from '../support/native.js';

beforeAll(async () => {
  await initBackend('cpu');
  if (runNative) await initBackend('native');
});

type Net = ReturnType<typeof createReferenceNet>;
type Batch = ReturnType<typeof randomBatch>;

/** The reference net's weights after three steps on a fixed batch, with the optimizer `make` builds. */
async function weightsAfter<O extends { dispose(): void }>(backend: string, make: (net: Net) => O, step: (net: Net, opt: O, data: Batch) => unknown): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const net = createReferenceNet({ seed: 4 });
  const data = randomBatch(1, 8, 19, 6);
  const opt = make(net);
  for (let i = 0; i < 3; i++) await step(net, opt, data);
  const out = await Promise.all(net.variables.map((v) => v.data() as Promise<Float32Array>));
  opt.dispose();
  net.dispose();
  tf.dispose([data.x, data.labels]);
  return out;
}

const maxRelDiff = (a: Float32Array[], b: Float32Array[]): number =>
  Math.max(...a.map((w, i) => Math.max(...Array.from(w, (x, j) => Math.abs(x - b[i][j]) / Math.max(1e-3, Math.abs(x))))));

const adam = (net: Net) => new Adam(net.variables, 1e-3);

describe('Adam', () => {
  it('takes the steps tf.train.adam takes (same epsilon), on cpu', async () => {
    const ours = await weightsAfter('cpu', (net) => new Adam(net.variables, 1e-3, { beta1: 0.9, beta2: 0.999, eps: 1e-7 }), fusedAdamStep);
    const theirs = await weightsAfter('cpu', () => tf.train.adam(1e-3), trainStep);
    // tfjs accumulates beta^t in float32 tensors, Adam computes 1 - beta^t in float64: last-bit differences
    expect(maxRelDiff(ours, theirs)).toBeLessThan(1e-4);
  });

  it.runIf(runNative)('runs one fused kernel per variable on native and matches cpu', async () => {
    const cpu = await weightsAfter('cpu', adam, fusedAdamStep);
    const engine = tf.engine();
    const runKernel = engine.runKernel;
    const calls: string[] = [];
    engine.runKernel = function (this: typeof engine, name: string, ...rest: unknown[]) {
      calls.push(name);
      return (runKernel as (...a: unknown[]) => ReturnType<typeof runKernel>).call(this, name, ...rest);
    } as typeof runKernel;
    let native: Float32Array[];
    try {
      native = await weightsAfter('wasm', adam, fusedAdamStep);
    } finally {
      engine.runKernel = runKernel;
    }
    expect(calls.filter((c) => c === 'UirgenAdamWUpdate')).toHaveLength(3 * 10);
    expect(maxRelDiff(cpu, native)).toBeLessThan(1e-4);
  });

  it('updateParameter without decay is Adam; with decay it shrinks the parameter first (AdamW)', async () => {
    await tf.setBackend('cpu');
    const p = tf.variable(tf.tensor1d([1, -2]));
    const q = tf.variable(tf.tensor1d([1, -2]));
    const m = [tf.variable(tf.zeros([2])), tf.variable(tf.zeros([2]))];
    const v = [tf.variable(tf.zeros([2])), tf.variable(tf.zeros([2]))];
    const g = tf.tensor1d([0.5, 0.5]);
    const k = adamStepConstants(1, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 }, 0.01);
    tf.tidy(() => updateParameter(p, m[0], v[0], g, k, false, false));
    tf.tidy(() => updateParameter(q, m[1], v[1], g, k, true, false));
    // step 1: the bias-corrected update is sign(g) * lr (to eps)
    const [pp, qq] = [await p.data(), await q.data()];
    expect(pp[0]).toBeCloseTo(1 - 0.01, 6);
    expect(pp[1]).toBeCloseTo(-2 - 0.01, 6);
    expect(qq[0]).toBeCloseTo(1 * (1 - 0.01 * 0.1) - 0.01, 6);
    expect(qq[1]).toBeCloseTo(-2 * (1 - 0.01 * 0.1) - 0.01, 6);
    tf.dispose([p, q, g, ...m, ...v]);
  });
});
