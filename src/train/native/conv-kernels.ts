import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  FusedConv2D,
  FusedDepthwiseConv2D,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convInfo, heapF32, inputOf, isNHWC, shape4, wasmBackendOf, type Fallback, type KernelList, type Shape4 } from '../kernels/args.js';
import { CONV_BACKWARD_DATA, CONV_BACKWARD_FILTER, CONV_FORWARD, SHAPE_FIELDS, type ConvKind, type NativeAddon } from './addon.js';

type Conv2DInfo = backend_util.Conv2DInfo;

/** tfjs fused activations oneDNN applies as a post-op, by the addon's enum Activation. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5 };

/**
 * The addon's shape array for a tfjs convolution, or null when oneDNN cannot express it (then the caller
 * falls back). oneDNN wants (in + padding - extent) / stride + 1 to equal the output size exactly, so the
 * bottom/right padding is trimmed or extended to the amount tfjs's output size implies (rows past it are
 * never read); a convolution that would need negative padding is left to the fallback.
 */
export function dnnlShapes(info: Conv2DInfo, groups: number, activation = 0, hasBias = false): Int32Array | null {
  const { padInfo: pad } = info;
  const extentH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const extentW = (info.filterWidth - 1) * info.dilationWidth + 1;
  const padBottom = (info.outHeight - 1) * info.strideHeight + extentH - info.inHeight - pad.top;
  const padRight = (info.outWidth - 1) * info.strideWidth + extentW - info.inWidth - pad.left;
  if (padBottom < 0 || padRight < 0 || pad.top < 0 || pad.left < 0) return null;
  const fields: Record<(typeof SHAPE_FIELDS)[number], number> = {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: pad.top,
    padBottom,
    padLeft: pad.left,
    padRight,
    groups,
    activation,
    hasBias: hasBias ? 1 : 0,
  };
  return Int32Array.from(SHAPE_FIELDS, (f) => fields[f]);
}

function isFloat32(...ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32');
}

/** Allocate the output, then take heap views (allocation can grow the heap and detach earlier views) and run. */
function run(
  addon: NativeAddon,
  backend: BackendWasm,
  kind: ConvKind,
  shapes: Int32Array,
  alpha: number,
  outShape: number[],
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | undefined,
): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  addon.conv(kind, shapes, alpha, heapF32(backend, a), heapF32(backend, b), bias ? heapF32(backend, bias) : null, heapF32(backend, out));
  return out;
}

/**
 * The convolution kernels run by oneDNN, for the wasm backend: forward (plain and fused with bias and an
 * activation), data gradient and filter gradient, dense and depthwise. Anything oneDNN cannot express here
 * (NCHW, PReLU, a broadcast bias, non-float data) goes to `fallback`.
 */
export function convKernels(addon: NativeAddon, fallback: Fallback): KernelList {
  const forward = (name: string, depthwise: boolean, fused: boolean): KernelFunc => (args) => {
    const attrs = args.attrs ?? {};
    const x = inputOf(args, 'x', name);
    const filter = inputOf(args, 'filter', name);
    const bias = fused ? args.inputs.bias : undefined;
    const activation = fused ? ACTIVATIONS[String(attrs.activation ?? 'linear')] : 0;
    if (!isNHWC(attrs) || activation === undefined || args.inputs.preluActivationWeights || !isFloat32(x, filter)) return fallback(name, args);
    const info = convInfo(x.shape as Shape4, filter.shape as Shape4, attrs, depthwise);
    if (bias && (bias.dtype !== 'float32' || bias.shape.reduce((p, d) => p * d, 1) !== info.outChannels || bias.shape.length !== 1)) {
      return fallback(name, args);
    }
    const shapes = dnnlShapes(info, depthwise ? info.inChannels : 1, activation, Boolean(bias));
    if (!shapes) return fallback(name, args);
    const alpha = Number(attrs.leakyreluAlpha ?? 0.2);
    return run(addon, wasmBackendOf(args), CONV_FORWARD, shapes, alpha, info.outShape, x, filter, bias);
  };

  const backwardData = (name: string, depthwise: boolean): KernelFunc => (args) => {
    const attrs = args.attrs ?? {};
    const dy = inputOf(args, 'dy', name);
    const filter = inputOf(args, 'filter', name);
    if (!isNHWC(attrs) || !isFloat32(dy, filter)) return fallback(name, args);
    const inShape = shape4(attrs.inputShape, 'inputShape');
    const info = convInfo(inShape, filter.shape as Shape4, attrs, depthwise);
    const shapes = dnnlShapes(info, depthwise ? info.inChannels : 1);
    if (!shapes) return fallback(name, args);
    return run(addon, wasmBackendOf(args), CONV_BACKWARD_DATA, shapes, 0, inShape, dy, filter, undefined);
  };

  const backwardFilter = (name: string, depthwise: boolean): KernelFunc => (args) => {
    const attrs = args.attrs ?? {};
    const x = inputOf(args, 'x', name);
    const dy = inputOf(args, 'dy', name);
    if (!isNHWC(attrs) || !isFloat32(x, dy)) return fallback(name, args);
    const filterShape = shape4(attrs.filterShape, 'filterShape');
    const info = convInfo(x.shape as Shape4, filterShape, attrs, depthwise);
    const shapes = dnnlShapes(info, depthwise ? info.inChannels : 1);
    if (!shapes) return fallback(name, args);
    return run(addon, wasmBackendOf(args), CONV_BACKWARD_FILTER, shapes, 0, filterShape, x, dy, undefined);
  };

  return [
    { name: Conv2D, kernelFunc: forward(Conv2D, false, false) },
    { name: FusedConv2D, kernelFunc: forward(FusedConv2D, false, true) },
    { name: DepthwiseConv2dNative, kernelFunc: forward(DepthwiseConv2dNative, true, false) },
    { name: FusedDepthwiseConv2D, kernelFunc: forward(FusedDepthwiseConv2D, true, true) },
    { name: Conv2DBackpropInput, kernelFunc: backwardData(Conv2DBackpropInput, false) },
    { name: DepthwiseConv2dNativeBackpropInput, kernelFunc: backwardData(DepthwiseConv2dNativeBackpropInput, true) },
    { name: Conv2DBackpropFilter, kernelFunc: backwardFilter(Conv2DBackpropFilter, false) },
    { name: DepthwiseConv2dNativeBackpropFilter, kernelFunc: backwardFilter(DepthwiseConv2dNativeBackpropFilter, true) },
  ];
}
