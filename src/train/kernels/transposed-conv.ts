import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { planTransposedAxis, transposedTap, type TransposedAxis } from './geometry.js';
import { convAttrs, type WasmOps } from './wasm-ops.js';

type Conv2DInfo = backend_util.Conv2DInfo;

/**
 * Gradient of a convolution with respect to its input, as ONE forward XNNPACK convolution over dy:
 * every stride phase gets its own reversed sub-filter, stacked along the output channels, and the phases
 * are interleaved afterwards with a reshape/transpose. No zero-inserted (stride-dilated) dy is ever made,
 * so the work equals the forward convolution's (plus zero taps when the kernel is not a multiple of the stride).
 *
 * `depthwise`: filter [kh, kw, C, mult] and dy has C*mult channels; otherwise filter [kh, kw, Cin, Cout].
 */
export function convBackpropInput(ops: WasmOps, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo, depthwise: boolean): TensorInfo {
  const rows = planTransposedAxis(info.inHeight, info.outHeight, info.filterHeight, info.strideHeight, info.dilationHeight, info.padInfo.top);
  const cols = planTransposedAxis(info.inWidth, info.outWidth, info.filterWidth, info.strideWidth, info.dilationWidth, info.padInfo.left);
  const w = ops.read(filter) as Float32Array;
  const { filterHeight: kh, filterWidth: kw, inChannels: cin, batchSize: n } = info;
  const phases = rows.phases * cols.phases;
  const conv = convAttrs([1, 1], [rows.dilation, cols.dilation], [
    [rows.padBefore, rows.padAfter],
    [cols.padBefore, cols.padAfter],
  ]);
  let y: TensorInfo;
  if (depthwise) {
    const mult = info.outChannels / cin;
    const g = ops.fromValues([rows.taps, cols.taps, cin * mult, phases], depthwiseSubFilters(w, rows, cols, kh, kw, cin * mult));
    y = ops.run('DepthwiseConv2dNative', { x: dy, filter: g }, conv);
    if (mult > 1) y = ops.sum(ops.reshape(y, [n, rows.count, cols.count, cin, mult, phases]), [4]);
    // channel layout (c, a, b) -> interleave a and b into space
    if (phases > 1) {
      y = ops.reshape(y, [n, rows.count, cols.count, cin, rows.phases, cols.phases]);
      y = ops.transpose(y, [0, 1, 4, 2, 5, 3]);
    }
  } else {
    const cout = info.outChannels;
    const g = ops.fromValues([rows.taps, cols.taps, cout, phases * cin], convSubFilters(w, rows, cols, kh, kw, cin, cout));
    y = ops.run('Conv2D', { x: dy, filter: g }, conv);
    // channel layout (a, b, c) -> interleave a and b into space
    if (phases > 1) {
      y = ops.reshape(y, [n, rows.count, cols.count, rows.phases, cols.phases, cin]);
      y = ops.transpose(y, [0, 1, 3, 2, 4, 5]);
    }
  }
  const gridH = rows.count * rows.phases;
  const gridW = cols.count * cols.phases;
  y = ops.reshape(y, [n, gridH, gridW, cin]);
  if (rows.cropOffset === 0 && cols.cropOffset === 0 && gridH === info.inHeight && gridW === info.inWidth) return y;
  return ops.slice(y, [0, rows.cropOffset, cols.cropOffset, 0], [n, info.inHeight, info.inWidth, cin]);
}

/** [Th, Tw, Cout, (a, b, Cin)]: reversed, in/out-swapped sub-filters of w [kh, kw, Cin, Cout], one per phase. */
function convSubFilters(w: Float32Array, rows: TransposedAxis, cols: TransposedAxis, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const phases = rows.phases * cols.phases;
  const g = new Float32Array(rows.taps * cols.taps * cout * phases * cin);
  let o = 0;
  for (let u = 0; u < rows.taps; u++) {
    for (let v = 0; v < cols.taps; v++) {
      for (let co = 0; co < cout; co++) {
        for (let a = 0; a < rows.phases; a++) {
          const i = transposedTap(rows, kh, a, u);
          for (let b = 0; b < cols.phases; b++) {
            const j = transposedTap(cols, kw, b, v);
            if (i < 0 || j < 0) {
              o += cin;
              continue;
            }
            const base = (i * kw + j) * cin * cout + co;
            for (let ci = 0; ci < cin; ci++) g[o++] = w[base + ci * cout];
          }
        }
      }
    }
  }
  return g;
}

/** [Th, Tw, C*mult, (a, b)]: reversed sub-filters of a depthwise w [kh, kw, C, mult] (same flat channel order). */
function depthwiseSubFilters(w: Float32Array, rows: TransposedAxis, cols: TransposedAxis, kh: number, kw: number, channels: number): Float32Array {
  const phases = rows.phases * cols.phases;
  const g = new Float32Array(rows.taps * cols.taps * channels * phases);
  let o = 0;
  for (let u = 0; u < rows.taps; u++) {
    for (let v = 0; v < cols.taps; v++) {
      for (let c = 0; c < channels; c++) {
        for (let a = 0; a < rows.phases; a++) {
          const i = transposedTap(rows, kh, a, u);
          for (let b = 0; b < cols.phases; b++) {
            const j = transposedTap(cols, kw, b, v);
            g[o++] = i < 0 || j < 0 ? 0 : w[(i * kw + j) * channels + c];
          }
        }
      }
    }
  }
  return g;
}
