import { backend_util, MaxPoolGrad, type KernelFunc } from '@tensorflow/tfjs-core';
import { heapF32, inputOf, wasmBackendOf, type Fallback, type KernelList, type Shape4 } from '../kernels/args.js';
import { POOL_FIELDS, type NativeAddon } from './addon.js';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** The addon's max-pool shape array for a tfjs pool (no dilation: tfjs's MaxPoolGrad has none). */
export function poolShapes(info: backend_util.Conv2DInfo): Int32Array {
  const fields: Record<(typeof POOL_FIELDS)[number], number> = {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    channels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  return Int32Array.from(POOL_FIELDS, (f) => fields[f]);
}

/**
 * MaxPoolGrad run natively (the stock wasm kernel takes about 20 ms for a 2x2 pool over 2M values, the
 * native one under a millisecond). Anything but float32 NHWC with non-negative padding goes to `fallback`.
 */
export function poolKernels(addon: NativeAddon, fallback: Fallback): KernelList {
  const maxPoolGrad: KernelFunc = (args) => {
    const attrs = args.attrs ?? {};
    const dy = inputOf(args, 'dy', MaxPoolGrad);
    const x = inputOf(args, 'input', MaxPoolGrad);
    if (dy.dtype !== 'float32' || x.dtype !== 'float32' || x.shape.length !== 4) return fallback(MaxPoolGrad, args);
    const info = backend_util.computePool2DInfo(
      x.shape as Shape4,
      attrs.filterSize as number | [number, number],
      attrs.strides as number | [number, number],
      1,
      attrs.pad as Pad,
      attrs.dimRoundingMode as Rounding,
    );
    if (info.padInfo.top < 0 || info.padInfo.left < 0) return fallback(MaxPoolGrad, args);
    const backend = wasmBackendOf(args);
    const dx = backend.makeOutput(x.shape, 'float32');
    addon.maxPoolGrad(poolShapes(info), heapF32(backend, x), heapF32(backend, dy), heapF32(backend, dx));
    return dx;
  };
  return [{ name: MaxPoolGrad, kernelFunc: maxPoolGrad }];
}
