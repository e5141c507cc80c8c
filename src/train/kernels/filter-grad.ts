import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { planFilterGradAxis } from './geometry.js';
import { fillPatchesT } from './im2col.js';
import { simdFor } from './simd.js';
import { convAttrs, type WasmOps } from './wasm-ops.js';

type Conv2DInfo = backend_util.Conv2DInfo;

function plan(info: Conv2DInfo) {
  const rows = planFilterGradAxis(info.inHeight, info.outHeight, info.filterHeight, info.strideHeight, info.dilationHeight, info.padInfo.top);
  const cols = planFilterGradAxis(info.inWidth, info.outWidth, info.filterWidth, info.strideWidth, info.dilationWidth, info.padInfo.left);
  const attrs = convAttrs([rows.stride, cols.stride], [rows.dilation, cols.dilation], [
    [rows.padBefore, rows.padAfter],
    [cols.padBefore, cols.padAfter],
  ]);
  return { rows, cols, attrs };
}

/** Patch floats per GEMM chunk (16 MB): bounds memory whatever the batch and image size. */
const MAX_PATCH_FLOATS = 1 << 22;

/**
 * dW[(i, j, ci), co] = sum over output pixels of patch[(i, j, ci), pixel] * dy[pixel, co]: transposed
 * patches of x (im2col) times dy as one XNNPACK GEMM (a 1x1 convolution whose input channels are the
 * pixels), in chunks of output rows whose partial results are summed. A 1x1 stride-1 unpadded convolution
 * needs no patches: its patch matrix is x transposed.
 */
export function convBackpropFilter(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo, maxPatchFloats = MAX_PATCH_FLOATS): TensorInfo {
  const { batchSize: n, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout } = info;
  const k = kh * kw * cin;
  const pixels = n * ho * wo;
  const gemm = (patchesT: TensorInfo, dyRows: TensorInfo) => ops.run('Conv2D', { x: patchesT, filter: dyRows }, convAttrs([1, 1], [1, 1], [[0, 0], [0, 0]]));
  const { padInfo: pad, strideHeight, strideWidth } = info;
  if (kh === 1 && kw === 1 && strideHeight === 1 && strideWidth === 1 && pad.top + pad.bottom + pad.left + pad.right === 0) {
    // XNNPACK repacks the filter operand on every call (a fresh tensor each step), at a cost that grows with
    // its column count, so the operand with fewer channels is made the filter.
    // (channels-first as a 4-D transpose: tfjs's wasm Transpose is about twice as fast at rank 4 as at rank 2)
    if (cout <= cin) {
      const xT = ops.reshape(ops.transpose(x, [3, 0, 1, 2]), [1, 1, cin, pixels]);
      return ops.reshape(gemm(xT, ops.reshape(dy, [1, 1, pixels, cout])), [1, 1, cin, cout]);
    }
    const dyT = ops.reshape(ops.transpose(dy, [3, 0, 1, 2]), [1, 1, cout, pixels]);
    const gT = ops.reshape(gemm(dyT, ops.reshape(x, [1, 1, pixels, cin])), [cout, cin]);
    return ops.reshape(ops.transpose(gT, [1, 0]), [1, 1, cin, cout]);
  }
  const totalRows = n * ho;
  const chunkRows = Math.max(1, Math.min(totalRows, Math.floor(maxPatchFloats / (k * wo))));
  let sum: TensorInfo | null = null;
  for (let r0 = 0; r0 < totalRows; r0 += chunkRows) {
    const rows = Math.min(chunkRows, totalRows - r0);
    const q = rows * wo;
    const patchesT = ops.alloc([1, 1, k, q]);
    fillPatchesT(ops.heap(x), info, r0, rows, ops.heap(patchesT));
    let dyRows: TensorInfo;
    if (rows === totalRows) {
      dyRows = ops.reshape(dy, [1, 1, q, cout]);
    } else {
      dyRows = ops.alloc([1, 1, q, cout]);
      ops.heap(dyRows).set(ops.heap(dy).subarray(r0 * wo * cout, (r0 + rows) * wo * cout));
    }
    const part = gemm(patchesT, dyRows);
    sum = sum ? ops.run('Add', { a: sum, b: part }) : part;
  }
  return ops.reshape(sum as TensorInfo, [kh, kw, cin, cout]);
}

/**
 * Depthwise, channel multiplier 1, channels a multiple of 4: for every (image, output row, tap) the taps' x
 * row and the dy row meet in one SIMD call that adds per-channel dot products into dW[tap] (the row's
 * valid columns are worked out here, so padding costs nothing). Returns null where that does not apply.
 */
function depthwiseBackpropFilterSimd(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo | null {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, inChannels: c, outChannels } = info;
  if (outChannels !== c || c % 4 !== 0) return null;
  const rowDot = simdFor(ops.backend)?.rowDot;
  if (!rowDot) return null;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const acc = ops.fromValues([kh, kw, c, 1], new Float32Array(kh * kw * c));
  const xBase = ops.backend.getMemoryOffset(x.dataId);
  const dyBase = ops.backend.getMemoryOffset(dy.dataId);
  const accBase = ops.backend.getMemoryOffset(acc.dataId);
  const px = 4 * c; // bytes per pixel
  for (let j = 0; j < kw; j++) {
    // output columns q whose input column q*sw + j*dw - left lies inside the image
    const qLo = Math.max(0, Math.ceil((left - j * dw) / sw));
    const qHi = Math.min(wo - 1, Math.floor((w - 1 + left - j * dw) / sw));
    if (qLo > qHi) continue;
    const col = qLo * sw + j * dw - left;
    for (let i = 0; i < kh; i++) {
      const accTap = accBase + (i * kw + j) * px;
      for (let b = 0; b < n; b++) {
        for (let o = 0; o < ho; o++) {
          const row = o * sh + i * dh - top;
          if (row < 0 || row >= h) continue;
          rowDot(xBase + ((b * h + row) * w + col) * px, dyBase + ((b * ho + o) * wo + qLo) * px, accTap, qHi - qLo + 1, sw * px, px);
        }
      }
    }
  }
  return acc;
}

/**
 * Depthwise filter gradient. Off the SIMD path (channel multiplier > 1, channels not a multiple of 4), a
 * depthwise XNNPACK correlation of x with dy as the filter, the (n, c) pairs as independent channels
 * (x as [1, H, W, N*C], dy as [Ho, Wo, N*C, mult]), strided by the forward dilation and dilated by the
 * forward stride, then a sum over n. (Slow: such a large per-channel filter misses XNNPACK's fast path.)
 */
export function depthwiseBackpropFilter(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const simd = depthwiseBackpropFilterSimd(ops, x, dy, info);
  if (simd) return simd;
  const { rows, cols, attrs } = plan(info);
  const { batchSize: n, inHeight, inWidth, outHeight, outWidth, filterHeight: kh, filterWidth: kw, inChannels: c, outChannels } = info;
  const mult = outChannels / c;
  const xT = ops.reshape(ops.transpose(x, [1, 2, 0, 3]), [1, inHeight, inWidth, n * c]);
  const dyT = ops.reshape(ops.transpose(dy, [1, 2, 0, 3]), [outHeight, outWidth, n * c, mult]);
  let g = ops.run('DepthwiseConv2dNative', { x: xT, filter: dyT }, attrs); // [1, rows.count, cols.count, N*C*mult]
  g = ops.reshape(g, [rows.count, cols.count, n, c * mult]);
  g = n > 1 ? ops.sum(g, [2]) : ops.reshape(g, [rows.count, cols.count, c * mult]);
  if (rows.count !== kh || cols.count !== kw) g = ops.slice(g, [0, 0, 0], [kh, kw, c * mult]);
  return ops.reshape(g, [kh, kw, c, mult]);
}
