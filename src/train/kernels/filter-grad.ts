import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { planFilterGradAxis } from './geometry.js';
import { rowDotFor } from './simd-rowdot.js';
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

/**
 * dW[i, j, ci, co] = sum over (n, o, q) of x[n, o*s + i*d - p, ...ci] dy[n, o, q, co]: a forward XNNPACK
 * convolution in which the channels of x become its batch and the batch becomes its channels (x as
 * [Cin, H, W, N]) and dy is the filter ([Ho, Wo, N, Cout]), strided by the forward dilation and dilated
 * by the forward stride. The contraction over N*Ho*Wo then runs in XNNPACK's GEMM microkernels.
 */
export function convBackpropFilter(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { rows, cols, attrs } = plan(info);
  const xT = ops.transpose(x, [3, 1, 2, 0]);
  const dyT = ops.transpose(dy, [1, 2, 0, 3]);
  let g = ops.run('Conv2D', { x: xT, filter: dyT }, attrs); // [Cin, rows.count, cols.count, Cout]
  const { filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout } = info;
  if (rows.count !== kh || cols.count !== kw) g = ops.slice(g, [0, 0, 0, 0], [cin, kh, kw, cout]);
  return ops.transpose(g, [1, 2, 0, 3]);
}

/**
 * Depthwise, channel multiplier 1, channels a multiple of 4: for every (image, output row, tap) the taps' x
 * row and the dy row meet in one SIMD call that adds per-channel dot products into dW[tap] (the row's
 * valid columns are worked out here, so padding costs nothing). Returns null where that does not apply.
 */
function depthwiseBackpropFilterSimd(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo | null {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, inChannels: c, outChannels } = info;
  if (outChannels !== c || c % 4 !== 0) return null;
  const rowDot = rowDotFor(ops.backend);
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
 * Otherwise the same correlation as for a full convolution with (n, c) pairs as independent channels — x as [1, H, W, N*C], dy as a
 * depthwise filter [Ho, Wo, N*C, mult] — then a sum over n.
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
