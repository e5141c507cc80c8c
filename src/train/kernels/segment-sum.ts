import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmOps } from './wasm-ops.js';

/**
 * out[k, ...] = sum of x[i, ...] over rows i whose segment id is k; ids outside [0, numSegments) are dropped
 * (TensorFlow's rule). One pass over x: O(rows * rowSize) whatever numSegments is, where a one-hot matMul
 * would cost rows * numSegments * rowSize (gather gradients over large vocabularies).
 */
export function unsortedSegmentSum(ops: WasmOps, x: TensorInfo, segmentIds: TensorInfo, numSegments: number): TensorInfo {
  if (!Number.isInteger(numSegments) || numSegments < 1) throw new Error(`UnsortedSegmentSum: numSegments must be an integer >= 1, got ${numSegments}`);
  const idShape = segmentIds.shape;
  if (idShape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${idShape}] must be a prefix of x shape [${x.shape}]`);
  }
  const rows = util.sizeFromShape(idShape);
  const rowShape = x.shape.slice(idShape.length);
  const rowSize = util.sizeFromShape(rowShape);
  const ids = ops.read(segmentIds);
  const xs = ops.read(x);
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * rowSize) : new Float32Array(numSegments * rowSize);
  for (let r = 0; r < rows; r++) {
    const k = ids[r];
    if (!(k >= 0 && k < numSegments)) continue;
    const src = r * rowSize;
    const dst = k * rowSize;
    for (let e = 0; e < rowSize; e++) out[dst + e] += xs[src + e];
  }
  return ops.fromValues([numSegments, ...rowShape], out, x.dtype === 'int32' ? 'int32' : 'float32');
}
