import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { planFilterGradAxis } from './geometry.js';
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
 * Depthwise: the same correlation with (n, c) pairs as independent channels — x as [1, H, W, N*C], dy as a
 * depthwise filter [Ho, Wo, N*C, mult] — then a sum over n.
 */
export function depthwiseBackpropFilter(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
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
