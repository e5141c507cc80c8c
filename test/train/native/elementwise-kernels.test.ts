import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { BROADCAST_A, BROADCAST_B } from '../../../src/train/native/addon.js';
import { reductionBlock, repeatPattern } from '../../../src/train/native/elementwise-kernels.js';
import { expectClose, onBoth, size, values } from '../../support/conv-kernels.js';
import { expectSameOutputOnOneAndTwoThreads, runNative } from '../../support/native.js';

describe('repeatPattern', () => {
  it('views equal shapes, scalars, biases and per-image factors as [outer, mid, inner]', () => {
    expect(repeatPattern([2, 3, 4], [2, 3, 4])).toEqual({ broadcast: BROADCAST_B, outShape: [2, 3, 4], outer: 1, mid: 1, inner: 24 });
    expect(repeatPattern([1, 6], [6])).toEqual({ broadcast: BROADCAST_B, outShape: [1, 6], outer: 1, mid: 1, inner: 6 });
    expect(repeatPattern([2, 3, 4], [])).toEqual({ broadcast: BROADCAST_B, outShape: [2, 3, 4], outer: 1, mid: 24, inner: 1 });
    expect(repeatPattern([4], [2, 3, 4])).toEqual({ broadcast: BROADCAST_A, outShape: [2, 3, 4], outer: 1, mid: 6, inner: 4 });
    // a mean's gradient [N, 1, 1, C] over [N, H, W, C]
    expect(repeatPattern([2, 1, 1, 5], [2, 3, 4, 5])).toMatchObject({ broadcast: BROADCAST_A, outer: 2, mid: 12, inner: 5 });
    // a per-pixel factor [N, H, W, 1] over channels
    expect(repeatPattern([2, 3, 4, 5], [2, 3, 4, 1])).toMatchObject({ broadcast: BROADCAST_B, outer: 24, mid: 5, inner: 1 });
  });

  it('refuses broadcasts that are not one repeated block', () => {
    expect(repeatPattern([2, 1], [1, 3])).toBeNull(); // both operands grow
    expect(repeatPattern([2, 3, 4], [1, 3, 1])).toBeNull(); // repeats over two separate axes
    expect(repeatPattern([2, 3], [4])).toBeNull(); // not broadcastable
  });
});

describe('reductionBlock', () => {
  it('views contiguous axes as [outer, reduced, inner] and refuses the rest', () => {
    expect(reductionBlock([2, 3, 4, 5], [1, 2])).toEqual({ outer: 2, reduced: 12, inner: 5, axes: [1, 2] });
    expect(reductionBlock([2, 3, 4, 5], [0, 1, 2])).toEqual({ outer: 1, reduced: 24, inner: 5, axes: [0, 1, 2] });
    expect(reductionBlock([2, 3, 4, 5], -1)).toEqual({ outer: 24, reduced: 5, inner: 1, axes: [3] });
    expect(reductionBlock([2, 3, 4, 5], [0, 2])).toBeNull();
  });
});

const tensorOf = (shape: number[], seed: number) => ({ shape, data: values(size(shape), seed) });

describe.runIf(runNative)('native elementwise kernels against the cpu backend', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('native');
  });

  const BINARY_SHAPES: Array<[number[], number[]]> = [
    [[2, 9, 9, 16], [2, 9, 9, 16]],
    [[2, 9, 9, 16], [16]],
    [[16], [2, 9, 9, 16]],
    [[2, 9, 9, 16], []],
    [[], [2, 9, 9, 16]],
    [[2, 1, 1, 16], [2, 9, 9, 16]],
    [[2, 9, 9, 16], [2, 9, 9, 1]],
    [[3, 70000], [70000]], // long rows: split into blocks across threads
    [[40000, 3], [40000, 1]],
    [[2, 1], [1, 3]], // not a block repeat: the wasm fallback
  ];
  for (const op of ['Add', 'Sub', 'Multiply', 'RealDiv']) {
    it(`${op} on same shapes and on every block broadcast`, async () => {
      for (const [i, [a, b]] of BINARY_SHAPES.entries()) {
        const r = await onBoth(op, { a: tensorOf(a, i * 2 + 1), b: tensorOf(b, i * 2 + 2) }, {});
        expectClose(r, `${op} ${JSON.stringify(a)} ${JSON.stringify(b)}`);
      }
    });
  }

  it('int32 arithmetic still goes to the wasm kernels', async () => {
    await tf.setBackend('wasm');
    const s = tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([10], [1], 'int32'));
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([11, 12, 13]);
    s.dispose();
  });

  it('Relu and Step (with alpha) keep NaN as tfjs does', async () => {
    const x = { shape: [5, 8000], data: values(40000, 3) };
    x.data[7] = Number.NaN;
    x.data[8] = 0;
    for (const [kernel, attrs] of [['Relu', {}], ['Step', { alpha: 0 }], ['Step', { alpha: 0.25 }]] as const) {
      const r = await onBoth(kernel, { x }, attrs);
      expect(Number.isNaN(r.wasm.data[7])).toBe(true);
      r.cpu.data[7] = r.wasm.data[7] = 0;
      expectClose(r, kernel);
      expect(Array.from(r.wasm.data.subarray(0, 20))).toEqual(Array.from(r.cpu.data.subarray(0, 20)));
    }
  });

  it('Sum and Mean over leading, middle and trailing axes, with and without keepDims', async () => {
    const x = tensorOf([3, 17, 19, 24], 5);
    for (const axis of [[0], [1, 2], [0, 1, 2], [3], [2, 3], [0, 2], -1]) {
      for (const keepDims of [false, true]) {
        for (const kernel of ['Sum', 'Mean']) {
          const r = await onBoth(kernel, { x }, { axis, keepDims });
          expectClose(r, `${kernel} axis ${JSON.stringify(axis)} keepDims ${keepDims}`);
        }
      }
    }
  });

  it("UirgenReluGrad is tfjs's dy * step(x), NaN included", async () => {
    await tf.setBackend('wasm');
    const dy = tf.tensor(values(50000, 1), [50000]);
    const xv = values(50000, 2);
    xv[3] = Number.NaN;
    xv[4] = 0;
    const x = tf.tensor(xv, [50000]);
    const got = (tf.engine().runKernel('UirgenReluGrad', { dy, x }) as tf.Tensor).dataSync();
    const want = tf.mul(dy, tf.step(x)).dataSync();
    expect(Number.isNaN(got[3])).toBe(true);
    expect(Buffer.from(got.buffer)).toEqual(Buffer.from(want.buffer));
    tf.dispose([dy, x]);
  });

  it('sums in an order fixed by the shape: the same bits on 1 and 2 threads', () => {
    expectSameOutputOnOneAndTwoThreads(`
      const n = 3 * 100000 * 8;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = Math.sin(i) * 1000;
      const outs = [];
      for (const [o, r, i] of [[1, n / 8, 8], [3, 100000, 8], [1, n, 1], [n / 16, 16, 1]]) {
        const out = new Float32Array(o * i);
        addon.reduce(0, o, r, i, x, out);
        outs.push(Buffer.from(out.buffer).toString('base64'));
      }
      process.stdout.write(outs.join(','));`);
  });
});
