import * as tf from '@tensorflow/tfjs-core';

/**
 * The pre-training losses. Classification: focal loss (Lin et al. 2017), as the MaskDCPT and DCPT papers
 * use it and as DCPT's code (basicsr/losses/classify_loss.py, FocalLoss) computes it for hard labels with
 * no class weights: mean over the batch of -(1 - p_t)^gamma * log p_t, the focal term differentiated too;
 * gamma = 0 is the cross-entropy. Reconstruction: L1, BasicSR's L1Loss with mean reduction.
 */

export type ClassificationLoss = 'focal' | 'ce';

export interface ClassificationLossOptions {
  kind: ClassificationLoss;
  /** Focal loss's gamma (ignored by 'ce'). */
  gamma: number;
}

/** gamma = 2: the focal-loss paper's choice, which the MaskDCPT paper does not change. */
export const DEFAULT_FOCAL_GAMMA = 2;

// (1 - p)^gamma has an infinite slope at p = 1 when gamma < 1: keep the base off zero.
const FOCAL_BASE_MIN = 1e-12;

/** Mean classification loss of logits [n, k] against one-hot labels [n, k]. */
export function classificationLoss(logits: tf.Tensor2D, onehot: tf.Tensor2D, opts: ClassificationLossOptions): tf.Scalar {
  return tf.tidy(() => {
    const logPt = tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1);
    if (opts.kind === 'ce' || opts.gamma === 0) return tf.neg(tf.mean(logPt)) as tf.Scalar;
    const base = tf.maximum(tf.sub(1, tf.exp(logPt)), FOCAL_BASE_MIN);
    return tf.neg(tf.mean(tf.mul(tf.pow(base, opts.gamma), logPt))) as tf.Scalar;
  });
}

export function validateClassificationLoss(o: ClassificationLossOptions): ClassificationLossOptions {
  if (o.kind !== 'focal' && o.kind !== 'ce') throw new RangeError(`classification loss must be focal or ce, got ${String(o.kind)}`);
  if (!(Number.isFinite(o.gamma) && o.gamma >= 0 && o.gamma <= 10)) throw new RangeError(`focal gamma must be in [0, 10], got ${o.gamma}`);
  return o;
}

/** Mean absolute difference. */
export function l1Loss(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar);
}
