import {
  Cast,
  Concat,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  getKernel,
  Identity,
  registerKernel,
  Slice,
  SplitV,
  Sum,
  unregisterKernel,
  UnsortedSegmentSum,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { concatWasm, sliceWasm, splitWasm } from './copy.js';
import { convInfo, inputOf, isNHWC, shape4, wasmBackendOf, type KernelArgs, type KernelList, type Shape4 } from './args.js';
import { convBackpropFilter, depthwiseBackpropFilter } from './filter-grad.js';
import { unsortedSegmentSum } from './segment-sum.js';
import { sumLeadingAxes } from './sum.js';
import { convBackpropInput } from './transposed-conv.js';
import { WasmOps, withWasmOps } from './wasm-ops.js';

function assertNHWC(attrs: NamedAttrMap, kernel: string): void {
  if (!isNHWC(attrs)) throw new Error(`${kernel} on wasm supports only NHWC data, got dataFormat ${String(attrs.dataFormat)}`);
}

const conv2DBackpropInput: KernelFunc = (args) => {
  const attrs = args.attrs ?? {};
  assertNHWC(attrs, Conv2DBackpropInput);
  const dy = inputOf(args, 'dy', Conv2DBackpropInput);
  const filter = inputOf(args, 'filter', Conv2DBackpropInput);
  const info = convInfo(shape4(attrs.inputShape, 'inputShape'), filter.shape as Shape4, attrs, false);
  return withWasmOps(wasmBackendOf(args), (ops) => convBackpropInput(ops, dy, filter, info, false));
};

const conv2DBackpropFilter: KernelFunc = (args) => {
  const attrs = args.attrs ?? {};
  assertNHWC(attrs, Conv2DBackpropFilter);
  const x = inputOf(args, 'x', Conv2DBackpropFilter);
  const dy = inputOf(args, 'dy', Conv2DBackpropFilter);
  const info = convInfo(x.shape as Shape4, shape4(attrs.filterShape, 'filterShape'), attrs, false);
  return withWasmOps(wasmBackendOf(args), (ops) => convBackpropFilter(ops, x, dy, info));
};

const depthwiseBackpropInput: KernelFunc = (args) => {
  const attrs = args.attrs ?? {};
  const dy = inputOf(args, 'dy', DepthwiseConv2dNativeBackpropInput);
  const filter = inputOf(args, 'filter', DepthwiseConv2dNativeBackpropInput);
  const info = convInfo(shape4(attrs.inputShape, 'inputShape'), filter.shape as Shape4, attrs, true);
  return withWasmOps(wasmBackendOf(args), (ops) => convBackpropInput(ops, dy, filter, info, true));
};

const depthwiseBackpropFilter_: KernelFunc = (args) => {
  const attrs = args.attrs ?? {};
  const x = inputOf(args, 'x', DepthwiseConv2dNativeBackpropFilter);
  const dy = inputOf(args, 'dy', DepthwiseConv2dNativeBackpropFilter);
  const info = convInfo(x.shape as Shape4, shape4(attrs.filterShape, 'filterShape'), attrs, true);
  return withWasmOps(wasmBackendOf(args), (ops) => depthwiseBackpropFilter(ops, x, dy, info));
};

const segmentSum: KernelFunc = (args) => {
  const x = inputOf(args, 'x', UnsortedSegmentSum);
  const segmentIds = inputOf(args, 'segmentIds', UnsortedSegmentSum);
  const numSegments = Number((args.attrs ?? {}).numSegments);
  return withWasmOps(wasmBackendOf(args), (ops) => unsortedSegmentSum(ops, x, segmentIds, numSegments));
};

/**
 * The engine clones every tensor it saves for the backward pass through Identity, and the stock wasm
 * Identity copies the data. Tensors are immutable, so an alias with a reference count (what the cpu
 * backend and wasm's own Reshape do) is enough and saves a full copy of each saved activation per step.
 */
const identityAlias: KernelFunc = (args) => {
  const x = inputOf(args, 'x', Identity);
  wasmBackendOf(args).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** A cast to the tensor's own dtype (tfjs's square, sqrt... gradients cast float32 to float32) aliases too. */
const cast: KernelFunc = (args) => {
  const x = inputOf(args, 'x', Cast);
  if ((args.attrs ?? {}).dtype === x.dtype) return identityAlias(args);
  return fallback(Cast, args);
};

// Stock wasm kernels this module replaces but still falls back to (captured once: re-registering must not
// capture our own replacements).
const stock = new Map<string, KernelConfig>();

function fallback(name: string, args: KernelArgs): ReturnType<KernelFunc> {
  const config = stock.get(name);
  if (!config) throw new Error(`the stock wasm ${name} kernel was not captured`);
  return config.kernelFunc(args);
}

const sum: KernelFunc = (args) => {
  const x = inputOf(args, 'x', Sum);
  const attrs = args.attrs ?? {};
  const axis = attrs.axis as number | number[];
  const axes = util.parseAxisParam(axis, x.shape);
  const ops = new WasmOps(wasmBackendOf(args));
  let out: TensorInfo | null;
  try {
    out = sumLeadingAxes(ops, x, axes, Boolean(attrs.keepDims));
    if (out) ops.keep(out);
  } finally {
    ops.dispose();
  }
  return out ?? fallback(Sum, args);
};

const slice: KernelFunc = (args) => {
  const attrs = args.attrs ?? {};
  const out = sliceWasm(wasmBackendOf(args), inputOf(args, 'x', Slice), attrs.begin as number | number[], attrs.size as number | number[] | undefined);
  return out ?? fallback(Slice, args);
};

const splitV: KernelFunc = (args) => {
  const attrs = args.attrs ?? {};
  const out = splitWasm(wasmBackendOf(args), inputOf(args, 'x', SplitV), attrs.numOrSizeSplits as number | number[], attrs.axis as number);
  return out ?? fallback(SplitV, args);
};

const concat: KernelFunc = (args) => {
  const inputs = Object.keys(args.inputs)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => inputOf(args, k, Concat));
  const out = concatWasm(wasmBackendOf(args), inputs, (args.attrs ?? {}).axis as number);
  return out ?? fallback(Concat, args);
};

/** The kernels this module supplies to the wasm backend (the others replace stock ones, falling back to them). */
export const WASM_TRAINING_KERNELS: KernelList = [
  { name: Conv2DBackpropInput, kernelFunc: conv2DBackpropInput },
  { name: Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter },
  { name: DepthwiseConv2dNativeBackpropInput, kernelFunc: depthwiseBackpropInput },
  { name: DepthwiseConv2dNativeBackpropFilter, kernelFunc: depthwiseBackpropFilter_ },
  { name: UnsortedSegmentSum, kernelFunc: segmentSum },
  { name: Identity, kernelFunc: identityAlias },
  { name: Sum, kernelFunc: sum },
  { name: Slice, kernelFunc: slice },
  { name: SplitV, kernelFunc: splitV },
  { name: Concat, kernelFunc: concat },
  { name: Cast, kernelFunc: cast },
];

const ours = new Set<KernelFunc>();
let installed = new Set<string>();

/**
 * Make `kernels` the wasm backend's kernels under their names, and give back to the stock kernels the names a
 * previously installed list replaced and this one does not. Safe to call again (backends switch kernel lists).
 */
export function installWasmKernels(kernels: KernelList): void {
  const names = new Set([...installed, ...kernels.map((k) => k.name)]);
  for (const name of names) {
    const current = getKernel(name, 'wasm');
    if (current && !ours.has(current.kernelFunc)) stock.set(name, current);
    if (current) unregisterKernel(name, 'wasm');
    const mine = kernels.find((k) => k.name === name);
    const original = stock.get(name);
    if (mine) {
      ours.add(mine.kernelFunc);
      // a stock kernel kept as a fallback still needs its setup (binding its wasm function)
      registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: mine.kernelFunc, ...(original?.setupFunc ? { setupFunc: original.setupFunc } : {}) });
    } else if (original) {
      registerKernel(original);
    }
  }
  installed = new Set(kernels.map((k) => k.name));
}

/** Register (or re-register) the training kernels for the 'wasm' backend; safe to call more than once. */
export function registerWasmTrainingKernels(): void {
  installWasmKernels(WASM_TRAINING_KERNELS);
}

/** The kernel the wasm backend runs for `name` without faster replacements: ours from WASM_TRAINING_KERNELS, else stock. */
export function wasmTrainingFallback(name: string, args: KernelArgs): ReturnType<KernelFunc> {
  const mine = WASM_TRAINING_KERNELS.find((k) => k.name === name);
  return mine ? mine.kernelFunc(args) : fallback(name, args);
}

/** WASM_TRAINING_KERNELS with `replacements` taking the place of the same-named ones (and added where new). */
export function withReplacements(replacements: KernelList): KernelList {
  const names = new Set(replacements.map((k) => k.name));
  return [...WASM_TRAINING_KERNELS.filter((k) => !names.has(k.name)), ...replacements];
}
