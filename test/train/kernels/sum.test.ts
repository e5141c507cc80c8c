import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { registerWasmTrainingKernels } from '../../../src/train/kernels/index.js';

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

async function onBoth(shape: number[], dtype: 'float32' | 'int32', axis: number | number[] | undefined, keepDims: boolean) {
  const data = values(shape.reduce((a, b) => a * b, 1), shape.length * 7 + 3);
  const res: Record<string, { shape: number[]; data: tf.TypedArray }> = {};
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const x = tf.tensor(dtype === 'int32' ? Int32Array.from(data, (v) => Math.round(v * 100)) : data, shape, dtype);
    const y = tf.sum(x, axis, keepDims);
    res[backend] = { shape: y.shape, data: y.dataSync() };
    tf.dispose([x, y]);
  }
  return res as Record<'cpu' | 'wasm', { shape: number[]; data: tf.TypedArray }>;
}

beforeAll(async () => {
  await initBackend('cpu');
  await initBackend('wasm');
});

describe('Sum on wasm (SIMD column sums over leading axes, stock kernel otherwise)', () => {
  const cases: Array<[number[], 'float32' | 'int32', number | number[] | undefined, boolean]> = [
    [[4, 5, 6, 8], 'float32', [0, 1, 2], false], // a bias gradient
    [[4, 5, 6, 8], 'float32', [2, 0, 1], true],
    [[3, 300, 8], 'float32', [0, 1], false], // more rows than one SIMD block
    [[7, 12], 'float32', 0, false],
    [[7, 12], 'float32', -2, true],
    [[2, 3, 4, 4], 'float32', [0], false],
    [[4, 5, 6, 8], 'float32', [1, 2], false], // not leading: stock
    [[4, 5, 6], 'float32', [0, 1], false], // inner size 6: stock
    [[4, 5, 8], 'int32', [0, 1], false], // int32: stock
    [[4, 5, 8], 'float32', undefined, false], // all axes: stock
  ];
  for (const [shape, dtype, axis, keepDims] of cases) {
    it(`sum of ${dtype} [${shape}] over ${JSON.stringify(axis)}${keepDims ? ' keeping dims' : ''}`, async () => {
      const r = await onBoth(shape, dtype, axis, keepDims);
      expect(r.wasm.shape).toEqual(r.cpu.shape);
      expect(r.wasm.data.length).toBe(r.cpu.data.length);
      const diff = Math.max(0, ...Array.from(r.cpu.data, (v, i) => Math.abs(v - r.wasm.data[i])));
      expect(diff).toBeLessThan(1e-4);
    });
  }

  it('keeps the stock kernel for the fallback after registering twice', async () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    const r = await onBoth([4, 5, 6], 'float32', [1, 2], false);
    expect(r.wasm.shape).toEqual([4]);
    Array.from(r.cpu.data).forEach((v, i) => expect(r.wasm.data[i]).toBeCloseTo(v, 4));
  });
});
