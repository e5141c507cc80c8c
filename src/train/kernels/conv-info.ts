import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

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

export function inputOf(args: KernelArgs, name: string, kernel: string): TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`${kernel}: missing input ${name}`);
  return t;
}
