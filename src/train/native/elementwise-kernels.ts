import { Add, Mean, Multiply, RealDiv, Relu, Step, Sub, Sum, util, type KernelFunc } from '@tensorflow/tfjs-core';
import { heapF32, inputOf, wasmBackendOf, type Fallback, type KernelList } from '../kernels/args.js';
import { ADAMW_UPDATE, RELU_GRAD } from '../kernels/fused.js';
import { BINARY_OPS, BROADCAST_A, BROADCAST_B, UNARY_OPS, type Broadcast, type NativeAddon } from './addon.js';

const size = (shape: readonly number[]): number => util.sizeFromShape(shape as number[]);

export interface RepeatPattern {
  broadcast: Broadcast;
  outShape: number[];
  outer: number;
  mid: number;
  inner: number;
}

/**
 * How a binary op's smaller operand repeats over the output, when it repeats along one contiguous block of
 * axes: the output as [outer, mid, inner] and the smaller operand as [outer, inner]. That covers equal
 * shapes (mid 1), scalars and biases over channels (outer 1), and per-image or per-pixel factors such as a
 * mean's gradient [N, 1, 1, C] over [N, H, W, C]. Null for any other broadcast (the caller falls back).
 */
export function repeatPattern(aShape: readonly number[], bShape: readonly number[]): RepeatPattern | null {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: readonly number[]) => [...Array<number>(rank - s.length).fill(1), ...s];
  const a = pad(aShape);
  const b = pad(bShape);
  const out = a.map((d, i) => Math.max(d, b[i]));
  if (a.some((d, i) => d !== out[i] && d !== 1) || b.some((d, i) => d !== out[i] && d !== 1)) return null;
  const n = size(out);
  let broadcast: Broadcast;
  let small: number[];
  if (size(a) === n) [broadcast, small] = [BROADCAST_B, b];
  else if (size(b) === n) [broadcast, small] = [BROADCAST_A, a];
  else return null;
  const repeated = out.map((_, i) => i).filter((i) => small[i] !== out[i]);
  if (repeated.length === 0) return { broadcast, outShape: out, outer: 1, mid: 1, inner: n };
  const first = repeated[0];
  const last = repeated[repeated.length - 1];
  if (small.slice(first, last + 1).some((d) => d !== 1)) return null;
  return { broadcast, outShape: out, outer: size(out.slice(0, first)), mid: size(out.slice(first, last + 1)), inner: size(out.slice(last + 1)) };
}

/** The axes of a reduction as [outer, reduced, inner] sizes when they are contiguous; null otherwise. */
export function reductionBlock(shape: readonly number[], axis: number | number[]): { outer: number; reduced: number; inner: number; axes: number[] } | null {
  const axes = util.parseAxisParam(axis, shape as number[]).sort((x, y) => x - y);
  if (axes.length === 0 || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  return { outer: size(shape.slice(0, first)), reduced: size(shape.slice(first, last + 1)), inner: size(shape.slice(last + 1)), axes };
}


/**
 * The wasm backend's busiest memory-bound kernels (binary arithmetic with block broadcasts, ReLU and its
 * gradient, Sum and Mean over contiguous axes, the fused AdamW update) run natively on all cores. Everything else (other
 * dtypes, other broadcasts, empty tensors) goes to `fallback`.
 */
export function elementwiseKernels(addon: NativeAddon, fallback: Fallback): KernelList {
  const binary = (name: keyof typeof BINARY_OPS, [aName, bName] = ['a', 'b']): KernelFunc => (args) => {
    const a = inputOf(args, aName, name);
    const b = inputOf(args, bName, name);
    const pattern = a.dtype === 'float32' && b.dtype === 'float32' ? repeatPattern(a.shape, b.shape) : null;
    if (!pattern || size(pattern.outShape) === 0) return fallback(name, args);
    const backend = wasmBackendOf(args);
    const out = backend.makeOutput(pattern.outShape, 'float32');
    const { broadcast, outer, mid, inner } = pattern;
    addon.binary(BINARY_OPS[name], broadcast, outer, mid, inner, heapF32(backend, a), heapF32(backend, b), heapF32(backend, out));
    return out;
  };

  const unary = (name: keyof typeof UNARY_OPS): KernelFunc => (args) => {
    const x = inputOf(args, 'x', name);
    if (x.dtype !== 'float32' || size(x.shape) === 0) return fallback(name, args);
    const backend = wasmBackendOf(args);
    const out = backend.makeOutput(x.shape, 'float32');
    addon.unary(UNARY_OPS[name], Number((args.attrs ?? {}).alpha ?? 0), heapF32(backend, x), heapF32(backend, out));
    return out;
  };

  const reduction = (name: typeof Sum | typeof Mean): KernelFunc => (args) => {
    const x = inputOf(args, 'x', name);
    const attrs = args.attrs ?? {};
    const block = x.dtype === 'float32' && size(x.shape) > 0 ? reductionBlock(x.shape, attrs.axis as number | number[]) : null;
    if (!block) return fallback(name, args);
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (block.axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !block.axes.includes(i));
    const backend = wasmBackendOf(args);
    const out = backend.makeOutput(outShape, 'float32');
    addon.reduce(name === Mean ? 1 : 0, block.outer, block.reduced, block.inner, heapF32(backend, x), heapF32(backend, out));
    return out;
  };

  const adamwUpdate: KernelFunc = (args) => {
    const [p, m, v, g] = ['p', 'm', 'v', 'g'].map((k) => inputOf(args, k, ADAMW_UPDATE));
    const n = size(p.shape);
    if ([p, m, v, g].some((t) => t.dtype !== 'float32' || size(t.shape) !== n)) throw new Error(`${ADAMW_UPDATE}: p, m, v and g must be float32 of one size`);
    const a = args.attrs ?? {};
    const constants = Float64Array.from([a.beta1, 1 - Number(a.beta1), a.beta2, 1 - Number(a.beta2), a.correction1, a.correction2, a.eps, a.lr, a.decayFactor, a.decay ? 1 : 0].map(Number));
    const backend = wasmBackendOf(args);
    const outs = [p, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
    const [pOut, mOut, vOut] = outs.map((t) => heapF32(backend, t));
    addon.adamw(constants, heapF32(backend, p), heapF32(backend, m), heapF32(backend, v), heapF32(backend, g), pOut, mOut, vOut);
    return outs;
  };

  return [
    { name: ADAMW_UPDATE, kernelFunc: adamwUpdate },
    { name: Add, kernelFunc: binary('Add') },
    { name: Sub, kernelFunc: binary('Sub') },
    { name: Multiply, kernelFunc: binary('Multiply') },
    { name: RealDiv, kernelFunc: binary('RealDiv') },
    { name: RELU_GRAD, kernelFunc: binary(RELU_GRAD, ['dy', 'x']) },
    { name: Relu, kernelFunc: unary('Relu') },
    { name: Step, kernelFunc: unary('Step') },
    { name: Sum, kernelFunc: reduction(Sum) },
    { name: Mean, kernelFunc: reduction(Mean) },
  ];
}
