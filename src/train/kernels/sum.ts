import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { simdFor } from './simd.js';
import type { WasmOps } from './wasm-ops.js';

/** Rows summed per SIMD call: partial sums of at most this many rows keep float32 rounding small. */
const BLOCK_ROWS = 256;

/**
 * Sum of a float32 tensor over its leading `axes` (0..m-1) when the remaining inner size is a multiple
 * of 4: column sums with the SIMD routine, straight from the heap. The stock wasm Sum first transposes
 * the reduced axes innermost, a full copy of the tensor. Returns null for every other case.
 */
export function sumLeadingAxes(ops: WasmOps, x: TensorInfo, axes: number[], keepDims: boolean): TensorInfo | null {
  if (x.dtype !== 'float32') return null;
  const rank = x.shape.length;
  const sorted = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length >= rank || sorted.some((a, i) => a !== i)) return null;
  const inner = util.sizeFromShape(x.shape.slice(sorted.length));
  const rows = util.sizeFromShape(x.shape.slice(0, sorted.length));
  if (inner % 4 !== 0 || rows === 0) return null;
  const simd = simdFor(ops.backend);
  if (!simd) return null;
  const shape = keepDims ? x.shape.map((d, i) => (i < sorted.length ? 1 : d)) : x.shape.slice(sorted.length);
  const out = ops.fromValues(shape, new Float32Array(inner));
  const src = ops.backend.getMemoryOffset(x.dataId);
  const acc = ops.backend.getMemoryOffset(out.dataId);
  const rowBytes = inner * 4;
  for (let r = 0; r < rows; r += BLOCK_ROWS) simd.colSum(src + r * rowBytes, acc, Math.min(BLOCK_ROWS, rows - r), rowBytes);
  return out;
}
