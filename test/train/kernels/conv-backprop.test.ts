import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { convBackpropFilter } from '../../../src/train/kernels/filter-grad.js';
import { WASM_TRAINING_KERNELS } from '../../../src/train/kernels/index.js';
import { withWasmOps } from '../../../src/train/kernels/wasm-ops.js';
import { describeConvGradients, values } from '../../support/conv-kernels.js';

describeConvGradients('wasm');

describe('wasm training kernels', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('wasm');
  });

  it('are registered for wasm, replacing the stock Conv2DBackpropInput', () => {
    for (const { name, kernelFunc } of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, 'wasm')?.kernelFunc).toBe(kernelFunc);
  });

  it('Conv2DBackpropFilter gives the same result when its patches are built in chunks', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor(values(3 * 9 * 7 * 5, 11), [3, 9, 7, 5]);
    const dy = tf.tensor(values(3 * 5 * 4 * 6, 12), [3, 5, 4, 6]);
    const info = tf.backend_util.computeConv2DInfo([3, 9, 7, 5], [3, 3, 5, 6], 2, 1, 'same');
    const whole = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 5, 6] }) as tf.Tensor;
    const before = backend.numDataIds();
    // 45 patch rows of 4 pixels each: a limit of 400 floats makes chunks of 2 output rows (8 chunks)
    const chunked = withWasmOps(backend, (ops) => convBackpropFilter(ops, x, dy, info, 400));
    expect(backend.numDataIds()).toBe(before + 1);
    const a = whole.dataSync();
    const b = backend.readSync(chunked.dataId) as Float32Array;
    expect(chunked.shape).toEqual([3, 3, 5, 6]);
    const scale = Math.max(...Array.from(a, Math.abs));
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]))) / scale).toBeLessThan(1e-5);
    backend.disposeData(chunked.dataId);
    tf.dispose([x, dy, whole]);
  });

  it('frees every intermediate (the wasm heap holds no more tensors after many calls)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor(values(2 * 9 * 9 * 3, 1), [2, 9, 9, 3]);
    const f = tf.tensor(values(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    const fd = tf.tensor(values(3 * 3 * 3 * 2, 3), [3, 3, 3, 2]);
    const before = backend.numDataIds();
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x, f]);
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x, fd]);
      });
    }
    expect(backend.numDataIds()).toBe(before);
    tf.dispose([x, f, fd]);
  });
});
