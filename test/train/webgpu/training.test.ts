import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { Adam } from '../../../src/train/adam-update.js';
import { fusedAdamStep, randomBatch } from '../../../src/train/bench.js';
import { createTrainer, DEFAULT_HYPER, type StepMetrics, type Trainer, type TrainHyper } from '../../../src/train/maskdcpt.js';
import { createReferenceNet } from '../../../src/train/nets/reference.js';
import { expectSameLossAndGrads, referenceLossAndGrads } from '../../support/reference.js';
import { startWebGpuOnOpenGles } from '../../support/webgpu.js';
import { syntheticBatch, tinyNetConfig } from '../models/synthetic.js';

/**
 * The webgpu backend trained for real, through Dawn's OpenGL ES backend: on a machine without a GPU that is
 * Mesa's llvmpipe, on the CPU, which is how CI runs it (tiny shapes: llvmpipe is slow). Every result is held
 * against the pure-JS cpu backend.
 */

const started = await startWebGpuOnOpenGles();
const webgpu = typeof started === 'string' ? null : started;

beforeAll(async () => {
  await initBackend('cpu');
});

const hyper = (over: Partial<TrainHyper> = {}): TrainHyper => ({
  ...DEFAULT_HYPER,
  schedule: { lr: 1e-3, minLr: 0, warmup: 0, total: 100 },
  seed: 'mask',
  ...over,
});

const config = tinyNetConfig({ classes: ['blur', 'noise', 'rain'] });

/** Two MaskDCPT steps on the active backend, and one weight of each part of the net afterwards. */
async function twoMaskDcptSteps(): Promise<{ steps: StepMetrics[]; weights: Map<string, Float32Array> }> {
  const trainer = createTrainer(config, hyper());
  try {
    const steps = [await trainer.trainStep(syntheticBatch('w', 0, 2, 16)), await trainer.trainStep(syntheticBatch('w', 1, 2, 16))];
    const names = trainer.net.params.names();
    const picked = ['dc.fc.weight', names[0], names[names.length - 1]];
    const weights = new Map<string, Float32Array>();
    for (const n of picked) weights.set(n, (await trainer.net.params.get(n).data()) as Float32Array);
    return { steps, weights };
  } finally {
    trainer.dispose();
  }
}

/** What the backend holds: tensors, and (webgpu) bytes in use and bytes its buffer manager has allocated. */
const footprint = (): Record<string, unknown> => {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  return { tensors: m.numTensors, bytes: m.numBytes, gpuInUse: m.numBytesInGPU, gpuAllocated: m.numBytesAllocatedInGPU };
};

describe.runIf(webgpu)('training on the webgpu backend (Dawn OpenGL ES)', () => {
  it('runs at the compatibility feature level and says which adapter, software or not', () => {
    expect(webgpu?.name).toBe('webgpu');
    expect(webgpu?.detail).toMatch(/OpenGL ES \(compatibility\)/);
    if (/llvmpipe/i.test(webgpu?.detail ?? '')) expect(webgpu?.detail).toMatch(/software, on the CPU/);
  });

  it('the reference net has the loss and gradients it has on cpu', async () => {
    expectSameLossAndGrads(await referenceLossAndGrads('cpu', 2), await referenceLossAndGrads('webgpu', 2));
  });

  it('two MaskDCPT steps match cpu: losses, and the weights after them', async () => {
    await tf.setBackend('cpu');
    const want = await twoMaskDcptSteps();
    await tf.setBackend('webgpu');
    const got = await twoMaskDcptSteps();
    got.steps.forEach((s, i) => {
      expect(s.lossRec).toBeCloseTo(want.steps[i].lossRec, 4);
      expect(s.lossCls).toBeCloseTo(want.steps[i].lossCls, 4);
      expect(s.acc).toBe(want.steps[i].acc);
    });
    for (const [name, w] of want.weights) {
      const g = got.weights.get(name) ?? new Float32Array();
      const scale = Math.max(1e-3, ...Array.from(w, Math.abs));
      expect(Math.max(...Array.from(w, (v, j) => Math.abs(v - g[j]))) / scale, name).toBeLessThan(1e-4);
    }
  });

  it('frees what it allocates: tensors and GPU memory stay level over reference-net steps', async () => {
    await tf.setBackend('webgpu');
    const net = createReferenceNet({ seed: 1 });
    const data = randomBatch(2, 16, 19, 2);
    const optimizer = new Adam(net.variables, 1e-3);
    // two steps first: Adam creates its moment variables in the first, the buffer pool settles in the second
    for (let i = 0; i < 2; i++) await fusedAdamStep(net, optimizer, data);
    const before = footprint();
    expect(before.gpuAllocated).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await fusedAdamStep(net, optimizer, data);
    expect(footprint()).toEqual(before);
    optimizer.dispose();
    net.dispose();
    tf.dispose([data.x, data.labels]);
  });

  it('frees what it allocates: tensors and GPU memory stay level over MaskDCPT steps', async () => {
    await tf.setBackend('webgpu');
    const trainer: Trainer = createTrainer(config, hyper());
    for (let i = 0; i < 2; i++) await trainer.trainStep(syntheticBatch('m', i, 2, 16));
    const before = footprint();
    for (let i = 2; i < 6; i++) await trainer.trainStep(syntheticBatch('m', i, 2, 16));
    expect(footprint()).toEqual(before);
    trainer.dispose();
  });
});
