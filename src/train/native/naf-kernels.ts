import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, inputOf, wasmBackendOf, type KernelList } from '../kernels/args.js';
import { LAYER_NORM, LAYER_NORM_GRAD, SIMPLE_GATE, SIMPLE_GATE_GRAD } from '../kernels/fused.js';
import type { NativeAddon } from './addon.js';

function checkChannels(kernel: string, x: TensorInfo, params: TensorInfo[]): number {
  const c = x.shape[x.shape.length - 1] ?? 0;
  if (x.dtype !== 'float32' || c === 0) throw new Error(`${kernel}: x must be float32 with a last axis`);
  for (const p of params) {
    if (p.dtype !== 'float32' || p.shape.length !== 1 || p.shape[0] !== c) throw new Error(`${kernel}: scale and shift must be float32 [${c}]`);
  }
  return c;
}

function halfChannels(kernel: string, x: TensorInfo): number {
  const c = x.shape[x.shape.length - 1] ?? 0;
  if (x.dtype !== 'float32' || c === 0 || c % 2 !== 0) throw new Error(`${kernel}: x must be float32 with an even last axis`);
  return c / 2;
}

/**
 * NAFNet's fused block kernels (kernels/fused.ts) for the native backend, a pass forward and one back each:
 * LayerNorm over channels and SimpleGate.
 */
export function nafKernels(addon: NativeAddon): KernelList {
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
    const [dyV, xV, meanV, rstdV, gV] = [dy, x, mean, rstd, g].map((t) => heapF32(backend, t));
    addon.layerNormGrad(dyV, xV, meanV, rstdV, gV, dx, dg, db);
    return outs;
  };

  const simpleGate: KernelFunc = (args) => {
    const x = inputOf(args, 'x', SIMPLE_GATE);
    const half = halfChannels(SIMPLE_GATE, x);
    const backend = wasmBackendOf(args);
    const y = backend.makeOutput([...x.shape.slice(0, -1), half], 'float32');
    addon.simpleGate(half, heapF32(backend, x), heapF32(backend, y));
    return y;
  };

  const simpleGateGrad: KernelFunc = (args) => {
    const [dy, x] = ['dy', 'x'].map((k) => inputOf(args, k, SIMPLE_GATE_GRAD));
    const half = halfChannels(SIMPLE_GATE_GRAD, x);
    const backend = wasmBackendOf(args);
    const dx = backend.makeOutput(x.shape, 'float32');
    addon.simpleGateGrad(half, heapF32(backend, dy), heapF32(backend, x), heapF32(backend, dx));
    return dx;
  };

  return [
    { name: LAYER_NORM, kernelFunc: layerNorm },
    { name: LAYER_NORM_GRAD, kernelFunc: layerNormGrad },
    { name: SIMPLE_GATE, kernelFunc: simpleGate },
    { name: SIMPLE_GATE_GRAD, kernelFunc: simpleGateGrad },
  ];
}
