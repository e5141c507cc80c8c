import { getKernel, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Runs registered wasm kernels directly on TensorInfos, the way the wasm backend's own composite kernels
 * do, so a training kernel can be built from XNNPACK convolutions without going through the engine (whose
 * tape and scopes must not see these intermediates). Everything made through one instance is freed by
 * `dispose()` except what `keep()` hands out as the kernel's result.
 */
export class WasmOps {
  private readonly temps: TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, 'wasm');
    if (!config) throw new Error(`wasm backend has no ${kernelName} kernel`);
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`wasm ${kernelName} returned several outputs where one was expected`);
    this.temps.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims: false });
  }

  /** A new float32 tensor on the wasm heap holding `values`. */
  fromValues(shape: number[], values: Float32Array | Int32Array, dtype: 'float32' | 'int32' = 'float32'): TensorInfo {
    const out = this.backend.makeOutput(shape, dtype, undefined, values);
    this.temps.push(out);
    return out;
  }

  /** An uninitialised float32 tensor on the wasm heap, to be filled through `heap()`. */
  alloc(shape: number[]): TensorInfo {
    const out = this.backend.makeOutput(shape, 'float32');
    this.temps.push(out);
    return out;
  }

  /**
   * A live Float32Array view of a float32 tensor on the wasm heap (no copy). Any allocation may grow the
   * heap and detach earlier views, so take views after allocating and do not keep them across kernel calls.
   */
  heap(x: TensorInfo): Float32Array {
    const view = this.backend.typedArrayFromHeap(x);
    if (!(view instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${x.dtype}`);
    return view;
  }

  /** A copy of a tensor's values (the wasm backend copies out of its heap). */
  read(x: TensorInfo): Float32Array | Int32Array {
    const values = this.backend.readSync(x.dataId);
    if (values instanceof Float32Array || values instanceof Int32Array) return values;
    throw new Error(`expected a float32 or int32 tensor, got ${x.dtype}`);
  }

  /** Take `x` out of this scope so `dispose()` leaves it alive (the kernel's output). */
  keep(x: TensorInfo): TensorInfo {
    const i = this.temps.lastIndexOf(x);
    if (i < 0) throw new Error('keep(): tensor was not made in this scope');
    this.temps.splice(i, 1);
    return x;
  }

  dispose(): void {
    // Reshape shares data with a reference count, so each made TensorInfo is released exactly once.
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/**
 * Attributes for a wasm Conv2D / DepthwiseConv2dNative call with explicit padding [[top, bottom], [left, right]].
 * NamedAttrMap has no nested-array member, although the kernels read explicit padding in that form.
 */
export function convAttrs(strides: [number, number], dilations: [number, number], pads: [[number, number], [number, number]]): NamedAttrMap {
  const pad = [[0, 0], pads[0], pads[1], [0, 0]];
  return { strides, dilations, pad: pad as unknown as number[], dataFormat: 'NHWC' };
}

/** Run `body` with a fresh WasmOps and free its intermediates whatever happens. */
export function withWasmOps(backend: BackendWasm, body: (ops: WasmOps) => TensorInfo): TensorInfo {
  const ops = new WasmOps(backend);
  try {
    return ops.keep(body(ops));
  } finally {
    ops.dispose();
  }
}
