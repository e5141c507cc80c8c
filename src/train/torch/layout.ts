import type { TorchLayout } from '../models/layers.js';

/**
 * Tensor layouts between uirgen (NHWC filters, 1x1 weights as [in, out]) and PyTorch (NCHW: conv weights
 * [out, in, k, k]); see TorchLayout. Pure index arithmetic on host arrays.
 */

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export class LayoutError extends Error {
  override name = 'LayoutError';
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** out[perm applied] : out's axis a is in's axis perm[a] (numpy transpose). */
function transpose(t: HostTensor, perm: readonly number[]): HostTensor {
  const rank = t.shape.length;
  const outShape = perm.map((p) => t.shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    inStrides[a] = s;
    s *= t.shape[a];
  }
  const stride = perm.map((p) => inStrides[p]);
  const out = new Float32Array(t.data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += idx[a] * stride[a];
    out[o] = t.data[src];
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return { shape: outShape, data: out };
}

/**
 * The channel permutation of a 1x1 conv feeding PixelShuffle(2): uirgen output channel (i * 2 + j) * c + k
 * is PyTorch's channel k * 4 + i * 2 + j. Returns, for each PyTorch channel, its uirgen channel.
 */
function shuffleOrder(channels: number): Int32Array {
  if (channels % 4 !== 0) throw new LayoutError(`a pixel-shuffle conv needs a multiple of 4 output channels, got ${channels}`);
  const c = channels / 4;
  const order = new Int32Array(channels);
  for (let k = 0; k < c; k++) for (let ij = 0; ij < 4; ij++) order[k * 4 + ij] = ij * c + k;
  return order;
}

function checkShape(name: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new LayoutError(`${name}: shape [${got.join(', ')}], expected [${want.join(', ')}]`);
  }
}

/** PyTorch's shape for a uirgen tensor of `shape` in `layout`. */
export function torchShape(layout: TorchLayout, shape: readonly number[]): number[] {
  switch (layout) {
    case 'conv':
      return [shape[3], shape[2], shape[0], shape[1]];
    case 'depthwise':
      return [shape[2], shape[3], shape[0], shape[1]];
    case 'pointwise':
    case 'pointwise-shuffle':
      return [shape[1], shape[0], 1, 1];
    case 'linear':
      return [shape[1], shape[0]];
    case 'vector':
      return [...shape];
    case 'channel':
      return [1, shape[0], 1, 1];
  }
}

/** A uirgen tensor in PyTorch's layout. */
export function toTorch(layout: TorchLayout, t: HostTensor, name = 'tensor'): HostTensor {
  if (t.data.length !== size(t.shape)) throw new LayoutError(`${name}: ${t.data.length} values for shape [${t.shape}]`);
  const shape = torchShape(layout, t.shape);
  switch (layout) {
    case 'conv':
      return transpose(t, [3, 2, 0, 1]);
    case 'depthwise':
      return transpose(t, [2, 3, 0, 1]);
    case 'pointwise':
    case 'linear':
      return { shape, data: transpose(t, [1, 0]).data };
    case 'pointwise-shuffle': {
      const [cin, cout] = t.shape;
      const order = shuffleOrder(cout);
      const out = new Float32Array(t.data.length);
      for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) out[o * cin + i] = t.data[i * cout + order[o]];
      return { shape, data: out };
    }
    case 'vector':
    case 'channel':
      return { shape, data: Float32Array.from(t.data) };
  }
}

/** A PyTorch tensor brought to uirgen's layout for a parameter of uirgen shape `shape` (checked). */
export function fromTorch(layout: TorchLayout, t: HostTensor, shape: readonly number[], name = 'tensor'): HostTensor {
  checkShape(name, t.shape, torchShape(layout, shape));
  if (t.data.length !== size(t.shape)) throw new LayoutError(`${name}: ${t.data.length} values for shape [${t.shape}]`);
  switch (layout) {
    case 'conv':
      return transpose(t, [2, 3, 1, 0]);
    case 'depthwise':
      return transpose(t, [2, 3, 0, 1]);
    case 'pointwise':
    case 'linear':
      return transpose({ shape: [t.shape[0], t.shape[1]], data: t.data }, [1, 0]);
    case 'pointwise-shuffle': {
      const [cin, cout] = shape;
      const order = shuffleOrder(cout);
      const out = new Float32Array(t.data.length);
      for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) out[i * cout + order[o]] = t.data[o * cin + i];
      return { shape: [...shape], data: out };
    }
    case 'vector':
    case 'channel':
      return { shape: [...shape], data: Float32Array.from(t.data) };
  }
}
