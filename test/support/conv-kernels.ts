import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/train/backend.js';

// Shared by the wasm and native kernel tests: every convolution gradient kernel against the cpu backend on
// the same cases. The backend under test runs as tfjs's 'wasm' (native replaces kernels there).

export type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
export type Shape4 = [number, number, number, number];

/** Deterministic values in [-1, 1) (no Math.random in this project). */
export function values(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Run one kernel on the cpu backend and on wasm with the same data; returns both results. */
export async function onBoth(kernel: string, inputs: Record<string, { shape: number[]; data: Float32Array }>, attrs: Record<string, unknown>) {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const made = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
    const y = tf.engine().runKernel(kernel, made, attrs as tf.NamedAttrMap) as tf.Tensor;
    out[backend] = { shape: y.shape, data: y.dataSync() as Float32Array };
    y.dispose();
    Object.values(made).forEach((t) => t.dispose());
  }
  return out as { cpu: { shape: number[]; data: Float32Array }; wasm: { shape: number[]; data: Float32Array } };
}

/** `got` within 1e-4 of `want`'s largest value (or of 1, if that is smaller), element by element. */
export function expectArraysClose(want: ArrayLike<number>, got: ArrayLike<number>, label: string): void {
  let scale = 1;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(want[i] - got[i]));
  }
  expect(diff / scale, `${label}: max diff ${diff} at scale ${scale}`).toBeLessThan(1e-4);
}

export function expectClose(r: Awaited<ReturnType<typeof onBoth>>, label: string): void {
  expect(r.wasm.shape, label).toEqual(r.cpu.shape);
  expectArraysClose(r.cpu.data, r.wasm.data, label);
}

export function outShape(x: Shape4, k: [number, number], cout: number, strides: [number, number], pad: Pad, dilations: [number, number] = [1, 1]): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(x, [k[0], k[1], x[3], cout], strides, dilations, pad);
  return info.outShape as Shape4;
}

export interface Case {
  x: Shape4;
  k: [number, number];
  cout: number;
  strides: [number, number];
  pad: Pad;
}

// Odd and even sizes, kernels smaller than, equal to and larger than the stride, all three padding kinds
// (explicit asymmetric ones included), one- and many-channel cases.
export const CASES: Case[] = [
  { x: [2, 9, 9, 3], k: [3, 3], cout: 4, strides: [1, 1], pad: 'same' },
  { x: [2, 9, 9, 3], k: [3, 3], cout: 4, strides: [2, 2], pad: 'same' },
  { x: [2, 8, 8, 5], k: [2, 2], cout: 6, strides: [2, 2], pad: 'valid' },
  { x: [1, 10, 7, 2], k: [3, 2], cout: 3, strides: [2, 3], pad: 'valid' },
  { x: [2, 9, 9, 3], k: [3, 3], cout: 4, strides: [2, 2], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [3, 11, 6, 1], k: [5, 3], cout: 2, strides: [3, 1], pad: 'same' },
  { x: [1, 7, 7, 4], k: [1, 1], cout: 8, strides: [2, 2], pad: 'valid' },
  { x: [2, 6, 6, 7], k: [4, 4], cout: 5, strides: [1, 1], pad: 'same' },
  { x: [1, 13, 12, 2], k: [2, 3], cout: 3, strides: [3, 2], pad: [[0, 0], [0, 3], [2, 0], [0, 0]] },
  { x: [2, 5, 5, 3], k: [3, 3], cout: 2, strides: [4, 4], pad: 'valid' },
  // channel counts that are multiples of 4 take the SIMD path of the depthwise filter gradient
  { x: [2, 9, 9, 8], k: [3, 3], cout: 8, strides: [1, 1], pad: 'same' },
  { x: [2, 10, 9, 4], k: [3, 3], cout: 4, strides: [2, 2], pad: 'same' },
  { x: [1, 9, 8, 12], k: [2, 2], cout: 4, strides: [2, 2], pad: 'valid' },
  { x: [3, 7, 11, 4], k: [5, 1], cout: 4, strides: [1, 3], pad: [[0, 0], [3, 0], [0, 2], [0, 0]] },
  // padding wider than the kernel: outputs that see only padding, and input rows no output reaches
  { x: [1, 6, 6, 4], k: [2, 2], cout: 3, strides: [1, 1], pad: [[0, 0], [3, 0], [0, 3], [0, 0]] },
  { x: [2, 7, 8, 4], k: [3, 2], cout: 2, strides: [3, 2], pad: [[0, 0], [0, 4], [3, 0], [0, 0]] },
  // 1x1 stride 1: the filter gradient's patch matrix is x transposed
  { x: [2, 6, 5, 8], k: [1, 1], cout: 6, strides: [1, 1], pad: 'same' },
  { x: [2, 5, 6, 4], k: [1, 1], cout: 12, strides: [1, 1], pad: 'valid' },
];

/** The gradient kernels of `target` against cpu on CASES and on dilated depthwise cases (skipped unless `enabled`). */
export function describeConvGradients(target: 'wasm' | 'native', enabled = true): void {
  describe.runIf(enabled)(`${target} convolution gradient kernels against the cpu backend`, () => {
    beforeAll(async () => {
      await initBackend('cpu');
      await initBackend(target);
    });

    CASES.forEach((c, n) => {
      const label = `x ${c.x} k ${c.k} -> ${c.cout}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}`;
      const y = () => outShape(c.x, c.k, c.cout, c.strides, c.pad);
      const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.cout];

      it(`Conv2DBackpropInput: ${label}`, async () => {
        const dy = y();
        const r = await onBoth(
          'Conv2DBackpropInput',
          { dy: { shape: dy, data: values(size(dy), n * 10 + 1) }, filter: { shape: filterShape, data: values(size(filterShape), n * 10 + 2) } },
          { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
        );
        expectClose(r, label);
      });

      it(`Conv2DBackpropFilter: ${label}`, async () => {
        const dy = y();
        const r = await onBoth(
          'Conv2DBackpropFilter',
          { x: { shape: c.x, data: values(size(c.x), n * 10 + 3) }, dy: { shape: dy, data: values(size(dy), n * 10 + 4) } },
          { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape },
        );
        expectClose(r, label);
      });

      for (const mult of [1, 2]) {
        const dwFilter: Shape4 = [c.k[0], c.k[1], c.x[3], mult];
        const dy = () => outShape(c.x, c.k, c.x[3] * mult, c.strides, c.pad);

        it(`DepthwiseConv2dNativeBackpropInput (multiplier ${mult}): ${label}`, async () => {
          const r = await onBoth(
            'DepthwiseConv2dNativeBackpropInput',
            { dy: { shape: dy(), data: values(size(dy()), n * 10 + 5) }, filter: { shape: dwFilter, data: values(size(dwFilter), n * 10 + 6) } },
            { strides: c.strides, pad: c.pad, dilations: [1, 1], inputShape: c.x },
          );
          expectClose(r, label);
        });

        it(`DepthwiseConv2dNativeBackpropFilter (multiplier ${mult}): ${label}`, async () => {
          const r = await onBoth(
            'DepthwiseConv2dNativeBackpropFilter',
            { x: { shape: c.x, data: values(size(c.x), n * 10 + 7) }, dy: { shape: dy(), data: values(size(dy()), n * 10 + 8) } },
            { strides: c.strides, pad: c.pad, dilations: [1, 1], filterShape: dwFilter },
          );
          expectClose(r, label);
        });
      }
    });

    // The cpu backend's depthwise gradients ignore dilation, so the reference for a dilated filter is the
    // same computation with the filter zero-inserted to its dilated extent (dilation 1).
    const DILATED: Array<{ x: Shape4; k: [number, number]; d: [number, number]; pad: Pad; mult: number }> = [
      { x: [2, 11, 11, 3], k: [3, 3], d: [2, 2], pad: 'same', mult: 1 },
      { x: [1, 12, 9, 2], k: [3, 2], d: [2, 3], pad: 'valid', mult: 2 },
      { x: [2, 10, 10, 2], k: [2, 2], d: [3, 1], pad: [[0, 0], [2, 1], [0, 2], [0, 0]], mult: 1 },
      { x: [2, 11, 10, 8], k: [3, 3], d: [2, 3], pad: 'same', mult: 1 },
    ];

    function dilateFilter(w: Float32Array, shape: Shape4, d: [number, number]): { shape: Shape4; data: Float32Array } {
      const [kh, kw, c, m] = shape;
      const eh = (kh - 1) * d[0] + 1;
      const ew = (kw - 1) * d[1] + 1;
      const out = new Float32Array(eh * ew * c * m);
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) out.set(w.subarray((i * kw + j) * c * m, (i * kw + j + 1) * c * m), (i * d[0] * ew + j * d[1]) * c * m);
      }
      return { shape: [eh, ew, c, m], data: out };
    }

    DILATED.forEach((c, n) => {
      const label = `x ${c.x} k ${c.k} dilation ${c.d} pad ${JSON.stringify(c.pad)} multiplier ${c.mult}`;
      const shape: Shape4 = [c.k[0], c.k[1], c.x[3], c.mult];
      const dyShape = () => outShape(c.x, c.k, c.x[3] * c.mult, [1, 1], c.pad, c.d);

      it(`DepthwiseConv2dNativeBackpropInput with dilation: ${label}`, async () => {
        const w = values(size(shape), 100 + n);
        const dy = { shape: dyShape(), data: values(size(dyShape()), 200 + n) };
        await tf.setBackend('wasm');
        const filter = tf.tensor(w, shape);
        const dyT = tf.tensor(dy.data, dy.shape);
        const attrs = { strides: [1, 1], pad: c.pad, dilations: c.d, inputShape: c.x } as unknown as tf.NamedAttrMap;
        const got = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dyT, filter }, attrs) as tf.Tensor;
        const wasm = { shape: got.shape, data: got.dataSync() as Float32Array };
        tf.dispose([filter, dyT, got]);
        const ref = await onBoth('DepthwiseConv2dNativeBackpropInput', { dy, filter: dilateFilter(w, shape, c.d) }, { ...attrs, dilations: [1, 1] });
        expectClose({ cpu: ref.cpu, wasm }, label);
      });

      it(`DepthwiseConv2dNativeBackpropFilter with dilation: ${label}`, async () => {
        const x = { shape: c.x, data: values(size(c.x), 300 + n) };
        const dy = { shape: dyShape(), data: values(size(dyShape()), 400 + n) };
        await tf.setBackend('wasm');
        const xT = tf.tensor(x.data, x.shape);
        const dyT = tf.tensor(dy.data, dy.shape);
        const attrs = { strides: [1, 1], pad: c.pad, dilations: c.d, filterShape: shape } as unknown as tf.NamedAttrMap;
        const got = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xT, dy: dyT }, attrs) as tf.Tensor;
        const wasm = { shape: got.shape, data: got.dataSync() as Float32Array };
        tf.dispose([xT, dyT, got]);
        const wide = dilateFilter(new Float32Array(size(shape)), shape, c.d).shape;
        const ref = await onBoth('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, dilations: [1, 1], filterShape: wide });
        // keep the taps of the dilated grid
        const [kh, kw, ch, m] = shape;
        const picked = new Float32Array(size(shape));
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const src = (i * c.d[0] * wide[1] + j * c.d[1]) * ch * m;
            picked.set(ref.cpu.data.subarray(src, src + ch * m), (i * kw + j) * ch * m);
          }
        }
        expectClose({ cpu: { shape: [...shape], data: picked }, wasm }, label);
      });
    });
  });
}
