import { backend_util, slice_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdFor, type BlockCopy } from './simd.js';

/**
 * Slice, split and concat as strided block copies inside the wasm heap (memory.copy per contiguous run).
 * The stock wasm kernels copy the whole input out of the heap and then copy row by row in JavaScript,
 * which made a channel split of an activation cost some 20x an elementwise multiply.
 * Every function returns null (leave it to the stock kernel) for strings and other unusual inputs.
 */

const ELEMENT_BYTES: Record<string, number | undefined> = { float32: 4, int32: 4, bool: 1 };

function copier(backend: BackendWasm, dtype: string): { copy: BlockCopy; bytes: number } | null {
  const bytes = ELEMENT_BYTES[dtype];
  if (!bytes) return null;
  const simd = simdFor(backend);
  return simd ? { copy: simd.blockCopy, bytes } : null;
}

/** Copy x[begin : begin + size] (already normalised) to dst. */
function copySlice(copy: BlockCopy, eb: number, src: number, dst: number, shape: number[], begin: number[], size: number[]): void {
  const rank = shape.length;
  const strides = [...util.computeStrides(shape), 1];
  // j: the innermost axis that is cut; everything inside it is one contiguous run per index of the axes before it
  let j = rank - 1;
  while (j >= 0 && size[j] === shape[j]) j--;
  if (j < 0) {
    copy(dst, src, 1, util.sizeFromShape(shape) * eb, 0, 0);
    return;
  }
  const run = size[j] * strides[j];
  const base = src + begin[j] * strides[j] * eb;
  if (j === 0) {
    copy(dst, base, 1, run * eb, 0, 0);
    return;
  }
  // axes 0 .. j-2 walked here; axis j-1 is the rows of one blockcopy call
  const outer = size.slice(0, j - 1);
  const count = util.sizeFromShape(outer);
  const index = new Array<number>(outer.length).fill(0);
  let out = dst;
  for (let k = 0; k < count; k++) {
    let off = begin[j - 1] * strides[j - 1];
    for (let a = 0; a < outer.length; a++) off += (begin[a] + index[a]) * strides[a];
    copy(out, base + off * eb, size[j - 1], run * eb, run * eb, strides[j - 1] * eb);
    out += size[j - 1] * run * eb;
    for (let a = outer.length - 1; a >= 0; a--) {
      if (++index[a] < outer[a]) break;
      index[a] = 0;
    }
  }
}

export function sliceWasm(backend: BackendWasm, x: TensorInfo, begin: number | number[], size?: number | number[]): TensorInfo | null {
  const c = copier(backend, x.dtype);
  if (!c) return null;
  const [b, s] = slice_util.parseSliceParams(x, begin, size);
  const out = backend.makeOutput(s, x.dtype);
  if (util.sizeFromShape(s) > 0) copySlice(c.copy, c.bytes, backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId), x.shape, b, s);
  return out;
}

export function splitWasm(backend: BackendWasm, x: TensorInfo, numOrSizeSplits: number | number[], axis: number): TensorInfo[] | null {
  if (!copier(backend, x.dtype)) return null;
  const ax = util.parseAxisParam(axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    const part = sliceWasm(backend, x, [...begin], size) as TensorInfo;
    begin[ax] += n;
    return part;
  });
}

export function concatWasm(backend: BackendWasm, inputs: TensorInfo[], axis: number): TensorInfo | null {
  if (inputs.length === 0) return null;
  const c = copier(backend, inputs[0].dtype);
  if (!c || inputs.some((t) => t.dtype !== inputs[0].dtype)) return null;
  const ax = util.parseAxisParam(axis, inputs[0].shape)[0];
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), ax);
  const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), ax);
  const out = backend.makeOutput(outShape, inputs[0].dtype);
  const rows = util.sizeFromShape(outShape.slice(0, ax));
  const outInner = util.sizeFromShape(outShape.slice(ax));
  if (rows === 0 || outInner === 0) return out;
  let offset = backend.getMemoryOffset(out.dataId);
  for (const t of inputs) {
    const inner = util.sizeFromShape(t.shape.slice(ax));
    if (inner === 0) continue;
    c.copy(offset, backend.getMemoryOffset(t.dataId), rows, inner * c.bytes, outInner * c.bytes, inner * c.bytes);
    offset += inner * c.bytes;
  }
  return out;
}
