import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

// Reading a kernel's arguments: its inputs, shapes and convolution geometry, and the wasm backend's heap.

export type Shape4 = [number, number, number, number];
export type KernelArgs = Parameters<KernelFunc>[0];
type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

export function shape4(value: unknown, what: string): Shape4 {
  if (!Array.isArray(value) || value.length !== 4) throw new Error(`${what} must be a 4-D shape, got ${JSON.stringify(value)}`);
  return value as Shape4;
}

/** tfjs's convolution geometry (output size, padding) from a kernel's shapes and attributes. */
export function convInfo(inShape: Shape4, filterShape: Shape4, attrs: NamedAttrMap, depthwise: boolean): backend_util.Conv2DInfo {
  const strides = attrs.strides as number | [number, number];
  const dilations = (attrs.dilations ?? 1) as number | [number, number];
  return backend_util.computeConv2DInfo(inShape, filterShape, strides, dilations, attrs.pad as Pad, attrs.dimRoundingMode as Rounding, depthwise);
}

/** Whether a kernel's dataFormat attribute (absent means NHWC) is channels-last. */
export function isNHWC(attrs: NamedAttrMap): boolean {
  const f = attrs.dataFormat;
  return f === undefined || f === 'NHWC' || f === 'channelsLast';
}

export function inputOf(args: KernelArgs, name: string, kernel: string): TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`${kernel}: missing input ${name}`);
  return t;
}

/** The backend a kernel registered for 'wasm' runs on. */
export const wasmBackendOf = (args: KernelArgs): BackendWasm => args.backend as BackendWasm;

/**
 * A live view of a float32 tensor on the wasm heap. Allocating may grow the heap and detach views, so take
 * views after the last allocation of a kernel.
 */
export const heapF32 = (backend: BackendWasm, t: TensorInfo): Float32Array => backend.typedArrayFromHeap(t) as Float32Array;

/** The kernel a replacement hands a call to when it does not apply (another dtype, layout or broadcast). */
export type Fallback = (name: string, args: KernelArgs) => ReturnType<KernelFunc>;

export type KernelList = ReadonlyArray<{ name: string; kernelFunc: KernelFunc }>;
