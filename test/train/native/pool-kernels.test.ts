import { beforeAll, describe, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { expectClose, onBoth, size, values } from '../../support/conv-kernels.js';
import { runNative } from '../../support/native.js';

interface PoolCase {
  x: [number, number, number, number];
  filterSize: [number, number];
  strides: [number, number];
  pad: 'same' | 'valid' | number;
}

const CASES: PoolCase[] = [
  { x: [2, 8, 8, 5], filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
  { x: [2, 9, 7, 3], filterSize: [3, 3], strides: [2, 2], pad: 'same' },
  { x: [1, 6, 6, 4], filterSize: [3, 3], strides: [1, 1], pad: 'same' }, // overlapping windows
  { x: [2, 7, 9, 2], filterSize: [2, 3], strides: [1, 2], pad: 'valid' },
  { x: [1, 5, 5, 3], filterSize: [3, 3], strides: [2, 2], pad: 1 },
];

describe.runIf(runNative)('native MaxPoolGrad against the cpu backend', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    await initBackend('native');
  });

  CASES.forEach((c, n) => {
    for (const ties of [false, true]) {
      it(`${JSON.stringify(c)}${ties ? ', with ties (the first largest wins)' : ''}`, async () => {
        const xv = values(size(c.x), n * 3 + 1);
        // few distinct values make equal maxima in most windows
        if (ties) xv.forEach((v, i) => (xv[i] = Math.round(v * 2)));
        const x = { shape: c.x, data: xv };
        const attrs = { filterSize: c.filterSize, strides: c.strides, pad: c.pad };
        const y = await onBoth('MaxPool', { x }, attrs);
        const dy = { shape: y.cpu.shape, data: values(size(y.cpu.shape), n * 3 + 2) };
        const r = await onBoth('MaxPoolGrad', { dy, input: x, output: { shape: y.cpu.shape, data: y.cpu.data } }, attrs);
        expectClose(r, JSON.stringify(c));
      });
    }
  });
});
