import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/bench-train.js';
import { initBackend } from '../../src/train/backend.js';
import { benchTrain, randomBatch, trainStep } from '../../src/train/bench.js';
import { createReferenceNet } from '../../src/train/nets/reference.js';
import { runRegistered } from '../support/cli.js';
import { expectSameLossAndGrads, referenceLossAndGrads } from '../support/reference.js';

beforeAll(async () => {
  await initBackend('cpu');
  await initBackend('wasm');
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** Run `uirgen bench-train ...` through the command's own registration. */
async function cli(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const r = await runRegistered(register, ['bench-train', ...args]);
  return { out: r.stdout, err: r.stderr, code: r.code };
}

describe('reference net on wasm', () => {
  it('has the same loss and gradients as on cpu (the wasm training kernels carry the backward pass)', async () => {
    expectSameLossAndGrads(await referenceLossAndGrads('cpu', 2), await referenceLossAndGrads('wasm', 2));
  });

  it('learns a fixed random batch: the loss falls over 20 Adam 1e-3 steps', async () => {
    await tf.setBackend('wasm');
    const net = createReferenceNet({ seed: 1 });
    const data = randomBatch(4, 32, 19, 2);
    const optimizer = tf.train.adam(1e-3);
    const losses = Array.from({ length: 20 }, () => trainStep(net, optimizer, data));
    optimizer.dispose();
    net.dispose();
    tf.dispose([data.x, data.labels]);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[19]).toBeLessThan(losses[0] * 0.5);
  });

  it('is deterministic for a seed (same weights and batch give the same loss)', async () => {
    await tf.setBackend('wasm');
    const lossOf = (seed: number) => {
      const net = createReferenceNet({ seed });
      const data = randomBatch(2, 16, 19, seed);
      const l = net.loss(data.x, data.labels);
      const v = l.dataSync()[0];
      tf.dispose([l, data.x, data.labels]);
      net.dispose();
      return v;
    };
    expect(lossOf(0)).toBe(lossOf(0));
    expect(lossOf(0)).not.toBe(lossOf(1));
  });
});

describe('benchTrain', () => {
  it('times steps on the active backend and reports their median, mean and p90', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const r = await benchTrain({ net: 'reference', batch: 2, size: 16, steps: 3, warmup: 1 });
    expect(r.backend).toBe('wasm');
    expect(r.step_ms).toHaveLength(3);
    const sorted = [...r.step_ms].sort((a, b) => a - b);
    expect(r.ms_per_step).toBeCloseTo(sorted[1], 1);
    expect(r.mean_ms).toBeCloseTo((sorted[0] + sorted[1] + sorted[2]) / 3, 1);
    expect(r.p90_ms).toBe(sorted[2]);
    // both are rounded to 0.01 from the same unrounded median, so they agree within that rounding
    expect(r.images_per_s).toBeGreaterThanOrEqual(2000 / (r.ms_per_step + 0.005) - 0.005);
    expect(r.images_per_s).toBeLessThanOrEqual(2000 / (r.ms_per_step - 0.005) + 0.005);
    expect(r.cpu_ms_per_step).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('times the MaskDCPT pre-training step too, and leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const r = await benchTrain({ net: 'maskdcpt-tiny', batch: 2, size: 16, steps: 2, warmup: 1 });
    expect([r.net, r.backend, r.step_ms.length]).toEqual(['maskdcpt-tiny', 'wasm', 2]);
    expect(Number.isFinite(r.loss_first) && Number.isFinite(r.loss_last)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses sizes the net cannot downsample and unknown nets', async () => {
    await expect(benchTrain({ net: 'reference', size: 15 })).rejects.toThrow(/size must be even/);
    await expect(benchTrain({ net: 'maskdcpt-tiny', size: 20 })).rejects.toThrow(/multiple of 16/);
    await expect(benchTrain({ net: 'resnet' as 'reference' })).rejects.toThrow(/net must be one of/);
  });
});

describe('uirgen bench-train', () => {
  it('prints the JSON result on wasm', async () => {
    const r = await cli(['--net', 'reference', '--backend', 'wasm', '--steps', '2', '--warmup', '1', '--batch', '2', '--size', '16', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as Record<string, unknown>;
    expect(Object.keys(json).slice(0, 3)).toEqual(['backend', 'ms_per_step', 'images_per_s']);
    expect(json.backend).toBe('wasm');
    expect(json.ms_per_step).toBeGreaterThan(0);
    expect(json.images_per_s).toBeGreaterThan(0);
  });

  it('prints a readable line without --json', async () => {
    const r = await cli(['--backend', 'wasm', '--steps', '1', '--warmup', '0', '--batch', '1', '--size', '8']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^reference on wasm .*ms\/step \(mean [\d.]+, p90 [\d.]+\), .* images\/s/);
  });

  it('benches maskdcpt-tiny and rejects bad options as usage errors', async () => {
    const tiny = await cli(['--net', 'maskdcpt-tiny', '--backend', 'wasm', '--steps', '1', '--warmup', '0', '--batch', '1', '--size', '16', '--json']);
    expect(tiny.code, tiny.err).toBe(0);
    expect(JSON.parse(tiny.out)).toMatchObject({ backend: 'wasm', net: 'maskdcpt-tiny' });
    expect((await cli(['--net', 'maskdcpt-tiny', '--size', '20'])).code).toBe(2);
    expect((await cli(['--net', 'resnet'])).code).toBe(2);
    expect((await cli(['--backend', 'gpu'])).code).toBe(2);
    expect((await cli(['--steps', '0'])).code).toBe(2);
    expect((await cli(['--size', '33'])).code).toBe(2);
  });
});
