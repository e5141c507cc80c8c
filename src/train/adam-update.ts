import * as tf from '@tensorflow/tfjs-core';
import { ADAMW_UPDATE, hasKernel } from './kernels/fused.js';

/** The constants of one AdamW step shared by every parameter. */
export interface AdamStepConstants {
  beta1: number;
  beta2: number;
  eps: number;
  lr: number;
  /** 1 - beta1^t and 1 - beta2^t, the bias corrections of step t (computed in float64). */
  correction1: number;
  correction2: number;
  /** Decoupled weight decay (AdamW); 0 for plain Adam. */
  weightDecay: number;
}

/** The constants of step t (1-based). */
export function adamStepConstants(t: number, h: { beta1: number; beta2: number; eps: number; weightDecay: number }, lr: number): AdamStepConstants {
  return { beta1: h.beta1, beta2: h.beta2, eps: h.eps, lr, weightDecay: h.weightDecay, correction1: 1 - h.beta1 ** t, correction2: 1 - h.beta2 ** t };
}

/** Whether updateParameter will run the fused kernel on the active backend. */
export const fusedAdamAvailable = (): boolean => hasKernel(ADAMW_UPDATE);

/**
 * One AdamW update of parameter p with moments m, v and gradient g, as torch.optim.AdamW: p <- p * (1 - lr *
 * wd) when `decay`, then the bias-corrected Adam step. One native pass (ADAMW_UPDATE) where the backend has
 * it and `fused`, else the same float32 operations as tfjs ops. Call inside tf.tidy.
 */
export function updateParameter(p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, k: AdamStepConstants, decay: boolean, fused: boolean): void {
  const { beta1: b1, beta2: b2, eps, lr, correction1: bc1, correction2: bc2, weightDecay } = k;
  const withDecay = decay && weightDecay > 0;
  if (fused) {
    const attrs = { beta1: b1, beta2: b2, correction1: bc1, correction2: bc2, eps, lr, decayFactor: 1 - lr * weightDecay, decay: withDecay };
    const [pNext, mNext, vNext] = tf.engine().runKernel(ADAMW_UPDATE, { p, m, v, g }, attrs) as tf.Tensor[];
    m.assign(mNext);
    v.assign(vNext);
    p.assign(pNext);
    return;
  }
  m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
  v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
  const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
  const decayed = withDecay ? tf.mul(p, 1 - lr * weightDecay) : p;
  p.assign(tf.sub(decayed, tf.mul(update, lr)));
}

/**
 * Adam over a list of variables (no weight decay) through updateParameter: one kernel per variable on the
 * native backend where tf.train.adam runs about eleven. Hyper-parameters default to PyTorch's.
 */
export class Adam {
  private t = 0;
  private readonly moments: Array<{ m: tf.Variable; v: tf.Variable }>;

  constructor(
    private readonly variables: tf.Variable[],
    private readonly lr: number,
    private readonly hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  ) {
    this.moments = variables.map((p) => ({ m: tf.tidy(() => tf.variable(tf.zerosLike(p), false)), v: tf.tidy(() => tf.variable(tf.zerosLike(p), false)) }));
  }

  /** `grads` in the order of the variables. */
  apply(grads: tf.Tensor[]): void {
    this.t += 1;
    const k = adamStepConstants(this.t, { ...this.hyper, weightDecay: 0 }, this.lr);
    const fused = fusedAdamAvailable();
    this.variables.forEach((p, i) => tf.tidy(() => updateParameter(p, this.moments[i].m, this.moments[i].v, grads[i], k, false, fused)));
  }

  dispose(): void {
    for (const { m, v } of this.moments) tf.dispose([m, v]);
  }
}
