import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Rng } from '../../core/random.js';
import { hasKernel, LAYER_NORM, LAYER_NORM_GRAD, SIMPLE_GATE, SIMPLE_GATE_GRAD } from '../kernels/fused.js';

/**
 * Building blocks shared by the networks: a parameter store with stable names (checkpoints are plain
 * name -> tensor maps) and the handful of NHWC ops NAFNet and the ResNet-style classifier need, written
 * with plain tf ops so that every gradient exists on every backend (tfjs has no DepthToSpace gradient, so
 * pixel shuffle is reshape + transpose).
 *
 * Names are PyTorch's: a parameter is called what the released module's state_dict calls it
 * (`encoders.0.blocks.0.conv1.weight`), and its spec records how the uirgen tensor (NHWC filters, dense
 * 1x1 weights) maps onto PyTorch's layout, so exporting and importing weights is a per-tensor transpose
 * with no name table (see torch/layout.ts).
 */

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'const'; value: number }
  /** U(-bound, bound): PyTorch's default for Conv2d / Linear (kaiming_uniform, a = sqrt(5)) is bound = 1/sqrt(fan_in). */
  | { kind: 'uniform'; bound: number }
  | { kind: 'normal'; std: number };

/**
 * How a uirgen tensor is laid out against PyTorch's (uirgen shape -> PyTorch shape):
 * - conv: [k, k, in, out] -> [out, in, k, k]
 * - depthwise: [k, k, c, 1] -> [c, 1, k, k]
 * - pointwise: [in, out] -> [out, in, 1, 1]
 * - pointwise-shuffle: as pointwise, feeding a 2x pixel shuffle: uirgen orders the output channels
 *   (i * 2 + j) * c + k, PyTorch's PixelShuffle k * 4 + i * 2 + j
 * - linear: [in, out] -> [out, in]
 * - vector: [c] -> [c] (norm weights and biases, conv biases, mixing weights)
 * - channel: [c] -> [1, c, 1, 1] (NAFNet's beta and gamma)
 */
export type TorchLayout = 'conv' | 'depthwise' | 'pointwise' | 'pointwise-shuffle' | 'linear' | 'vector' | 'channel';

export interface ParamSpec {
  shape: number[];
  init: Init;
  /** AdamW's decoupled weight decay applies to this parameter (conv / dense kernels, not biases or norms). */
  decay: boolean;
  layout: TorchLayout;
}

/**
 * Named trainable parameters. Names are stable paths (`enc.0.block.0.conv1.w`); the tf.Variable names are
 * left to tfjs (unique per process) so that several models can live side by side in tests.
 */
/**
 * How a store fills new parameters: `init` draws them from their Init (training from scratch); `zeros`
 * allocates them zeroed (weights about to be loaded: no 68-million-value draw for nafnet-64); `specs`
 * allocates nothing and records names and specs only (the forward functions of such a store must not be
 * called).
 */
export type StoreMode = 'init' | 'zeros' | 'specs';

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly specs = new Map<string, ParamSpec>();

  constructor(
    private readonly seed: string,
    readonly mode: StoreMode = 'init',
  ) {}

  /** Create a parameter; its initial values come from a stream derived from (store seed, name) only. */
  add(name: string, shape: number[], init: Init, decay = false, layout: TorchLayout = 'vector'): tf.Variable {
    if (this.specs.has(name)) throw new Error(`parameter ${name} defined twice`);
    if (layout === 'vector' && shape.length !== 1) throw new Error(`parameter ${name}: a vector layout needs a 1-D shape, got [${shape}]`);
    this.specs.set(name, { shape: [...shape], init, decay, layout });
    if (this.mode === 'specs') return undefined as unknown as tf.Variable;
    const size = shape.reduce((a, b) => a * b, 1);
    // tf.variable copies its initial value; inside tidy the temporary tensor is released at once
    const v = tf.tidy(() => {
      const initial = this.mode === 'zeros' ? tf.zeros(shape, 'float32') : tf.tensor(fillInit(new Float32Array(size), init, createRng(`${this.seed}/${name}`)), shape, 'float32');
      return tf.variable(initial, true, undefined, 'float32');
    });
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v;
  }

  spec(name: string): ParamSpec {
    const s = this.specs.get(name);
    if (!s) throw new Error(`no parameter named ${name}`);
    return s;
  }

  /** Names in creation order (the order checkpoints list them). */
  names(): string[] {
    return [...this.specs.keys()];
  }

  entries(): Array<[string, tf.Variable]> {
    return [...this.vars.entries()];
  }

  count(): number {
    let n = 0;
    for (const s of this.specs.values()) n += s.shape.reduce((a, b) => a * b, 1);
    return n;
  }

  /**
   * Overwrite parameters from a name -> tensor map (shapes must match). `only` limits it to those names
   * (initialising part of a network, such as the restoration net inside the pre-training one); otherwise
   * every parameter must be in the map.
   */
  assign(values: ReadonlyMap<string, tf.Tensor> | Record<string, tf.Tensor>, only?: readonly string[]): void {
    const get = (k: string): tf.Tensor | undefined => (values instanceof Map ? values.get(k) : (values as Record<string, tf.Tensor>)[k]);
    const wanted = only ? new Set(only) : null;
    for (const [name, v] of this.vars) {
      if (wanted && !wanted.has(name)) continue;
      const t = get(name);
      if (!t) throw new Error(`checkpoint has no tensor for parameter ${name}`);
      if (!sameShape(t.shape, v.shape)) {
        throw new Error(`parameter ${name}: checkpoint shape [${t.shape}] differs from the model's [${v.shape}]`);
      }
      v.assign(t);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.specs.clear();
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function fillInit(out: Float32Array, init: Init, rng: Rng): Float32Array {
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'const':
      return out.fill(init.value);
    case 'uniform':
      for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * init.bound;
      return out;
    case 'normal':
      for (let i = 0; i < out.length; i++) out[i] = rng.normal() * init.std;
      return out;
  }
}

/** PyTorch's default Conv2d/Linear init bound for a layer with `fanIn` inputs per output. */
export function torchBound(fanIn: number): Init {
  return { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) };
}

// ---------------------------------------------------------------------------------------------
// Layers: each `define*` registers its parameters and returns the forward function.

export type Fwd = (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * 1x1 convolution. The weight is stored [cin, cout] (a dense layer's shape) and viewed as a 1x1 filter: conv2d
 * runs on XNNPACK under wasm, where it is several times faster than the equivalent batched matMul.
 */
export function definePointwise(
  ps: ParamStore,
  name: string,
  cin: number,
  cout: number,
  bias = true,
  init?: Init,
  layout: 'pointwise' | 'pointwise-shuffle' = 'pointwise',
): Fwd {
  const w = ps.add(`${name}.weight`, [cin, cout], init ?? torchBound(cin), true, layout);
  const b = bias ? ps.add(`${name}.bias`, [cout], torchBound(cin)) : null;
  return (x) => {
    const y = tf.conv2d(x, tf.reshape(w, [1, 1, cin, cout]) as tf.Tensor4D, 1, 'valid');
    return b ? tf.add(y, b) : y;
  };
}

export interface ConvOptions {
  stride?: number;
  pad?: 'same' | 'valid';
  bias?: boolean;
  init?: Init;
}

/** k x k convolution, NHWC, filter [k, k, cin, cout]. */
export function defineConv(ps: ParamStore, name: string, cin: number, cout: number, k: number, opt: ConvOptions = {}): Fwd {
  const stride = opt.stride ?? 1;
  const pad = opt.pad ?? 'same';
  const w = ps.add(`${name}.weight`, [k, k, cin, cout], opt.init ?? torchBound(cin * k * k), true, 'conv');
  const b = opt.bias === false ? null : ps.add(`${name}.bias`, [cout], torchBound(cin * k * k));
  return (x) => {
    const y = tf.conv2d(x, w as tf.Tensor4D, stride, pad);
    return b ? tf.add(y, b) : y;
  };
}

/** Depthwise k x k convolution (groups = channels), 'same' padding. */
export function defineDepthwise(ps: ParamStore, name: string, c: number, k: number): Fwd {
  const w = ps.add(`${name}.weight`, [k, k, c, 1], torchBound(k * k), true, 'depthwise');
  const b = ps.add(`${name}.bias`, [c], torchBound(k * k));
  return (x) => tf.add(tf.depthwiseConv2d(x, w as tf.Tensor4D, 1, 'same'), b);
}

/**
 * Per-pixel LayerNorm over channels (NAFNet's LayerNorm2d, and detectron2's channels-first LayerNorm):
 * each pixel is normalised with its own channel mean and variance, so masked pixels never enter another
 * pixel's statistics; MaskLayerNorm2d additionally outputs zero (not the bias) at masked pixels, which the
 * caller does by multiplying with the mask.
 */
export function defineLayerNorm(ps: ParamStore, name: string, c: number, eps: number): Fwd {
  const g = ps.add(`${name}.weight`, [c], { kind: 'ones' });
  const b = ps.add(`${name}.bias`, [c], { kind: 'zeros' });
  const fused = fusedLayerNorm(eps);
  return (x) => {
    if (hasKernel(LAYER_NORM)) return fused(x, g, b);
    const mu = tf.mean(x, 3, true);
    const d = tf.sub(x, mu);
    const variance = tf.mean(tf.square(d), 3, true);
    return tf.add(tf.mul(tf.mul(d, tf.rsqrt(tf.add(variance, eps))), g), b);
  };
}

/** The same LayerNorm as one kernel each way, where the backend has them (about 20 tfjs ops otherwise). */
function fusedLayerNorm(eps: number): (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor4D {
  return tf.customGrad((xIn, gIn, bIn, save) => {
    const inputs = { x: xIn as tf.Tensor, g: gIn as tf.Tensor, b: bIn as tf.Tensor };
    const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM, inputs, { eps }) as tf.Tensor[];
    (save as tf.GradSaveFunc)([inputs.x, mean, rstd, inputs.g]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy, saved) => {
        const [xs, m, r, gs] = saved;
        return tf.engine().runKernel(LAYER_NORM_GRAD, { dy: dy as tf.Tensor, x: xs, mean: m, rstd: r, g: gs }) as tf.Tensor[];
      },
    };
  }) as (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor4D;
}

/** NAFNet's SimpleGate: split channels in halves and multiply them. */
export function simpleGate(x: tf.Tensor4D): tf.Tensor4D {
  if (hasKernel(SIMPLE_GATE)) return fusedSimpleGate(x);
  const [a, b] = tf.split(x, 2, 3);
  return tf.mul(a, b) as tf.Tensor4D;
}

/** The same as one kernel each way, where the backend has them (no split and concat copies). */
const fusedSimpleGate = tf.customGrad((xIn, save) => {
  const x = xIn as tf.Tensor;
  (save as tf.GradSaveFunc)([x]);
  return {
    value: tf.engine().runKernel(SIMPLE_GATE, { x }) as tf.Tensor4D,
    gradFunc: (dy, saved) => tf.engine().runKernel(SIMPLE_GATE_GRAD, { dy: dy as tf.Tensor, x: saved[0] }) as tf.Tensor,
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * Pixel shuffle (x2 and beyond): [n, h, w, r*r*c] -> [n, h*r, w*r, c], channel index (i*r + j)*c + k going to
 * offset (i, j). Built from reshape + a 4-D transpose so it has a gradient on every backend.
 */
export function pixelShuffle(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, h, w, crr] = x.shape;
  const c = crr / (r * r);
  if (!Number.isInteger(c)) throw new Error(`pixelShuffle: ${crr} channels is not a multiple of ${r * r}`);
  const a = tf.reshape(x, [n * h, w, r, r * c]);
  const t = tf.transpose(a, [0, 2, 1, 3]);
  return tf.reshape(t, [n, h * r, w * r, c]);
}

/** Mean over the spatial axes, kept as [n, 1, 1, c]. */
export function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mean(x, [1, 2], true);
}
