import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from './models/layers.js';

/**
 * Exponential moving average of weights, as BasicSR's `model_ema` keeps `net_g_ema`: a copy of the chosen
 * parameters taken at creation (model_ema(0)), then after every optimizer step
 * ema <- decay * ema + (1 - decay) * param. No bias correction, no warm-up: the released MaskDCPT models
 * are these `params_ema`. Tensors are named `ema/<param>` in checkpoints.
 */
export const EMA_PREFIX = 'ema/';

/** BasicSR's default ema_decay. */
export const DEFAULT_EMA_DECAY = 0.999;

export class Ema {
  private readonly avg = new Map<string, tf.Variable>();

  /** `names`: the parameters averaged (the restoration network's); decay in [0, 1). */
  constructor(
    private readonly params: ParamStore,
    readonly decay: number,
    names: readonly string[],
  ) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`EMA decay must be in [0, 1), got ${decay}`);
    for (const name of names) this.avg.set(name, tf.tidy(() => tf.variable(tf.clone(params.get(name)), false)));
  }

  names(): string[] {
    return [...this.avg.keys()];
  }

  get(name: string): tf.Variable {
    const v = this.avg.get(name);
    if (!v) throw new Error(`no EMA of parameter ${name}`);
    return v;
  }

  /** One update from the current parameters. */
  update(): void {
    const d = this.decay;
    // one tidy per tensor: temporaries of all of nafnet-64 at once would not fit a wasm heap
    for (const [name, avg] of this.avg) tf.tidy(() => avg.assign(tf.add(tf.mul(avg, d), tf.mul(this.params.get(name), 1 - d))));
  }

  /** The averages as `ema/<name>` tensors, for checkpoints. */
  stateTensors(): Map<string, tf.Tensor> {
    return new Map([...this.avg].map(([name, t]) => [`${EMA_PREFIX}${name}`, t]));
  }

  /** The averages under their parameter names (what export writes as params_ema). */
  weights(): Map<string, tf.Tensor> {
    return new Map(this.avg);
  }

  load(values: ReadonlyMap<string, tf.Tensor>): void {
    for (const [name, v] of this.avg) {
      const src = values.get(`${EMA_PREFIX}${name}`);
      if (!src) throw new Error(`checkpoint has no EMA tensor ${EMA_PREFIX}${name}`);
      v.assign(src);
    }
  }

  dispose(): void {
    for (const v of this.avg.values()) v.dispose();
    this.avg.clear();
  }
}
