import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { CONV_BACKWARD_DATA, CONV_BACKWARD_FILTER, CONV_FORWARD, loadNativeAddon, SHAPE_FIELDS } from '../../../src/train/native/addon.js';
import { dnnlShapes } from '../../../src/train/native/conv-kernels.js';
import { CASES, describeConvGradients, expectClose, onBoth, outShape, size, values, type Shape4 } from '../../support/conv-kernels.js';
import { runNative } from '../../support/native.js';

describeConvGradients('native', runNative);

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const;

describe.runIf(runNative)('native forward convolutions against the cpu backend', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('native');
  });

  CASES.forEach((c, n) => {
    const label = `x ${c.x} k ${c.k} -> ${c.cout}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}`;
    const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.cout];
    const x = () => ({ shape: c.x, data: values(size(c.x), n * 10 + 1) });

    it(`Conv2D: ${label}`, async () => {
      const r = await onBoth('Conv2D', { x: x(), filter: { shape: filterShape, data: values(size(filterShape), n * 10 + 2) } }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] });
      expectClose(r, label);
    });

    const activation = ACTIVATIONS[n % ACTIVATIONS.length];
    it(`FusedConv2D with bias and ${activation}: ${label}`, async () => {
      const r = await onBoth(
        'FusedConv2D',
        { x: x(), filter: { shape: filterShape, data: values(size(filterShape), n * 10 + 3) }, bias: { shape: [c.cout], data: values(c.cout, n * 10 + 4) } },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], activation, leakyreluAlpha: 0.3 },
      );
      expectClose(r, `${label} ${activation}`);
    });

    for (const mult of [1, 2]) {
      const dwFilter: Shape4 = [c.k[0], c.k[1], c.x[3], mult];
      it(`DepthwiseConv2dNative and FusedDepthwiseConv2D (multiplier ${mult}): ${label}`, async () => {
        const filter = { shape: dwFilter, data: values(size(dwFilter), n * 10 + 5) };
        const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] };
        expectClose(await onBoth('DepthwiseConv2dNative', { x: x(), filter }, attrs), label);
        const bias = { shape: [c.x[3] * mult], data: values(c.x[3] * mult, n * 10 + 6) };
        expectClose(await onBoth('FusedDepthwiseConv2D', { x: x(), filter, bias }, { ...attrs, activation: 'relu' }), label);
      });
    }
  });

  it('dilated forward convolutions', async () => {
    const x = { shape: [2, 11, 10, 3], data: values(2 * 11 * 10 * 3, 7) };
    for (const pad of ['same', 'valid'] as const) {
      const filter = { shape: [3, 2, 3, 4], data: values(24 * 3, 8) };
      expectClose(await onBoth('Conv2D', { x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [2, 3] }), `conv ${pad}`);
      const dw = { shape: [3, 3, 3, 2], data: values(54, 9) };
      expectClose(await onBoth('DepthwiseConv2dNative', { x, filter: dw }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [2, 2] }), `depthwise ${pad}`);
    }
  });

  it('falls back to the wasm kernel where oneDNN does not apply (PReLU) with the same results', async () => {
    const x = { shape: [1, 6, 6, 3], data: values(108, 1) };
    const filter = { shape: [3, 3, 3, 4], data: values(108, 2) };
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const alpha = { shape: [4], data: values(4, 3) };
    expectClose(await onBoth('FusedConv2D', { x, filter, preluActivationWeights: alpha }, { ...attrs, activation: 'prelu' }), 'prelu');
  });
});

describe('dnnlShapes', () => {
  const info = (x: Shape4, k: [number, number], strides: number, pad: 'same' | 'valid', rounding?: 'ceil') =>
    tf.backend_util.computeConv2DInfo(x, [k[0], k[1], x[3], 4], strides, 1, pad, rounding);
  const field = (shapes: Int32Array, name: (typeof SHAPE_FIELDS)[number]) => shapes[SHAPE_FIELDS.indexOf(name)];

  it("sets the far padding to what tfjs's output size implies", () => {
    // 'same' 3x3 stride 2 over 9: out 5, pads 1 + 1
    const s = dnnlShapes(info([1, 9, 9, 2], [3, 3], 2, 'same'), 1);
    expect(s).not.toBeNull();
    expect([field(s!, 'padTop'), field(s!, 'padBottom'), field(s!, 'outHeight')]).toEqual([1, 1, 5]);
    // 'valid' 2x2 stride 2 over 8: out 4, no padding
    const v = dnnlShapes(info([1, 8, 8, 2], [2, 2], 2, 'valid'), 1)!;
    expect([field(v, 'padBottom'), field(v, 'padRight'), field(v, 'outWidth')]).toEqual([0, 0, 4]);
  });

  it('returns null when the last rows are never reached (oneDNN would need negative padding)', () => {
    // 'valid' 2x2 stride 2 over 5: out 2 covers rows 0..3, row 4 is never read
    expect(dnnlShapes(info([1, 5, 5, 2], [2, 2], 2, 'valid'), 1)).toBeNull();
    expect(outShape([1, 5, 5, 2], [2, 2], 4, [2, 2], 'valid')).toEqual([1, 2, 2, 4]);
  });
});

describe.runIf(runNative)('native addon', () => {
  it('runs optimized oneDNN implementations, not its reference code', () => {
    const addon = loadNativeAddon();
    const shapes = dnnlShapes(tf.backend_util.computeConv2DInfo([16, 32, 32, 32], [3, 3, 32, 64], 1, 1, 'same'), 1)!;
    for (const kind of [CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_FILTER] as const) {
      expect(addon.implementation(kind, shapes, 0)).not.toMatch(/^ref/);
    }
    expect(addon.info().threads).toBeGreaterThanOrEqual(1);
  });

  it('checks array lengths against the shapes before touching memory', () => {
    const addon = loadNativeAddon();
    const shapes = dnnlShapes(tf.backend_util.computeConv2DInfo([1, 4, 4, 2], [3, 3, 2, 3], 1, 1, 'same'), 1)!;
    const x = new Float32Array(32);
    const w = new Float32Array(54);
    expect(() => addon.conv(CONV_FORWARD, shapes, 0, x, w, null, new Float32Array(47))).toThrow(/length/);
    expect(() => addon.conv(CONV_FORWARD, shapes, 0, x.subarray(1), w, null, new Float32Array(48))).toThrow(/length/);
    expect(() => addon.conv(CONV_FORWARD, shapes.subarray(1), 0, x, w, null, new Float32Array(48))).toThrow(/SHAPE_FIELDS/);
    expect(() => addon.conv(CONV_FORWARD, shapes, 0, x, w, null, new Float32Array(48))).not.toThrow();
  });
});
