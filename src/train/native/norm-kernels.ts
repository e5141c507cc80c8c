import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, inputOf, wasmBackendOf, type KernelList } from '../kernels/args.js';
import { LAYER_NORM, LAYER_NORM_GRAD } from '../kernels/fused.js';
import type { NativeAddon } from './addon.js';

function checkChannels(kernel: string, x: TensorInfo, params: TensorInfo[]): number {
  const c = x.shape[x.shape.length - 1] ?? 0;
  if (x.dtype !== 'float32' || c === 0) throw new Error(`${kernel}: x must be float32 with a last axis`);
  for (const p of params) {
    if (p.dtype !== 'float32' || p.shape.length !== 1 || p.shape[0] !== c) throw new Error(`${kernel}: scale and shift must be float32 [${c}]`);
  }
  return c;
}

/** The fused LayerNorm kernels (kernels/fused.ts) for the native backend: a pass forward, one back. */
export function normKernels(addon: NativeAddon): KernelList {
  const layerNorm: KernelFunc = (args) => {
    const [x, g, b] = ['x', 'g', 'b'].map((k) => inputOf(args, k, LAYER_NORM));
    checkChannels(LAYER_NORM, x, [g, b]);
    const backend = wasmBackendOf(args);
    const stats = [...x.shape.slice(0, -1), 1];
    const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(stats, 'float32'), backend.makeOutput(stats, 'float32')];
    const [y, mean, rstd] = outs.map((t) => heapF32(backend, t));
    addon.layerNorm(Number((args.attrs ?? {}).eps), heapF32(backend, x), heapF32(backend, g), heapF32(backend, b), y, mean, rstd);
    return outs;
  };

  const layerNormGrad: KernelFunc = (args) => {
    const [dy, x, mean, rstd, g] = ['dy', 'x', 'mean', 'rstd', 'g'].map((k) => inputOf(args, k, LAYER_NORM_GRAD));
    checkChannels(LAYER_NORM_GRAD, x, [g]);
    const backend = wasmBackendOf(args);
    const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(g.shape, 'float32'), backend.makeOutput(g.shape, 'float32')];
    const [dx, dg, db] = outs.map((t) => heapF32(backend, t));
    const view = (t: TensorInfo) => heapF32(backend, t);
    addon.layerNormGrad(view(dy), view(x), view(mean), view(rstd), view(g), dx, dg, db);
    return outs;
  };

  return [
    { name: LAYER_NORM, kernelFunc: layerNorm },
    { name: LAYER_NORM_GRAD, kernelFunc: layerNormGrad },
  ];
}
