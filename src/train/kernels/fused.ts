import { getBackend, getKernel } from '@tensorflow/tfjs-core';

/**
 * Kernels that fuse several tfjs ops into one pass, registered by backends that have them (the native
 * backend); callers check `hasKernel` and otherwise run the same computation as tfjs ops.
 */

/** (dy, x) -> dy * step(x): ReLU's gradient. */
export const RELU_GRAD = 'UirgenReluGrad';

/**
 * One AdamW step for one parameter: inputs p, m, v, g; attrs beta1, beta2, correction1, correction2, eps,
 * lr, decayFactor (1 - lr * weightDecay) and decay (whether to apply it); outputs [p', m', v'].
 */
export const ADAMW_UPDATE = 'UirgenAdamWUpdate';

/**
 * Per-pixel LayerNorm over the last axis: inputs x, g, b; attr eps; outputs [y, mean, rstd] (mean and rstd
 * shaped like x with a last axis of 1, for the gradient).
 */
export const LAYER_NORM = 'UirgenLayerNorm';

/** Its gradient: inputs dy, x, mean, rstd, g; outputs [dx, dg, db]. */
export const LAYER_NORM_GRAD = 'UirgenLayerNormGrad';

/** NAFNet's SimpleGate, x[..., :C/2] * x[..., C/2:]: input x; output y with half the channels. */
export const SIMPLE_GATE = 'UirgenSimpleGate';

/** Its gradient: inputs dy, x; output dx = concat(dy * x[..., C/2:], dy * x[..., :C/2]). */
export const SIMPLE_GATE_GRAD = 'UirgenSimpleGateGrad';

export const hasKernel = (name: string): boolean => getKernel(name, getBackend()) !== undefined;
