import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { Ema } from './ema.js';
import { AdamW, type TrainBatch } from './maskdcpt.js';
import { buildRestorationNet, nafnetFactor, validateNafnetConfig, type NafnetConfig, type RestorationNet } from './models/nafnet.js';
import { learningRate, validateSchedule, type ScheduleOptions } from './schedule.js';

/**
 * One fine-tuning step of the restoration network alone (NAFNet, no mask, no classifier): all degradation
 * types together (all-in-one), L1(output, gt), AdamW on the cosine schedule, the EMA after each update.
 *
 * With SPN, MCLIR's Self-Prior guided Negative loss (Wu et al., "Learning from History: Task-agnostic Model
 * Contrastive Learning for Image Restoration", AAAI 2024; released code basicsr/models/sr_neg_model.py):
 * a negative model, an earlier state of the network being trained, restores the same batch, and the loss
 * pulls the output toward the ground truth and pushes it away from the negative's output:
 *     L = L1(y, gt) - weight * D(y, y_neg)
 * The negative starts as a copy of the initial weights and is refreshed every `every` steps as
 * neg <- decay * neg + (1 - decay) * current (MCLIR's model_neg with neg_decay, neg_iter). MCLIR measures D
 * with VGG-16 features (relu1_2 / 2_2 / 3_3, weights 0.2 / 0.3 / 0.5); pretrained VGG weights cannot be had
 * offline here, so uirgen's D is the mean absolute difference of the images themselves (pixel space).
 */

export interface SpnSettings {
  /** Weight of the negative term. */
  weight: number;
  /** Steps between refreshes of the negative (MCLIR neg_iter). */
  every: number;
  /** Share of the old negative kept at a refresh (MCLIR neg_decay). */
  decay: number;
}

export interface FinetuneHyper {
  schedule: ScheduleOptions;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** EMA decay of the weights; 0 keeps no EMA. */
  emaDecay: number;
  spn: SpnSettings | null;
}

export const SPN_PREFIX = 'spn/';

export function validateFinetuneHyper(h: FinetuneHyper): FinetuneHyper {
  validateSchedule(h.schedule);
  const inRange = (name: string, v: number, lo: number, hi: number, hiOpen = false): void => {
    if (!(Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi))) throw new RangeError(`${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  };
  inRange('weightDecay', h.weightDecay, 0, 1);
  inRange('beta1', h.beta1, 0, 1, true);
  inRange('beta2', h.beta2, 0, 1, true);
  if (!(h.eps > 0 && h.eps <= 1)) throw new RangeError(`eps must be in (0, 1], got ${h.eps}`);
  inRange('emaDecay', h.emaDecay, 0, 1, true);
  if (h.spn) {
    inRange('spn weight', h.spn.weight, 0, 100);
    if (!Number.isInteger(h.spn.every) || h.spn.every < 1) throw new RangeError(`spn every must be an integer >= 1, got ${h.spn.every}`);
    inRange('spn decay', h.spn.decay, 0, 1, true);
  }
  return h;
}

export interface FinetuneMetrics {
  /** 0-based index of the step just taken. */
  step: number;
  loss: number;
  l1: number;
  /** D(output, negative's output); null without SPN. */
  spn: number | null;
  lr: number;
  /** Whether the negative was refreshed after this step. */
  refreshed: boolean;
}

export interface Finetuner {
  readonly net: RestorationNet;
  readonly optimizer: AdamW;
  readonly ema: Ema | null;
  /** The SPN negative model, null without SPN. */
  readonly negative: RestorationNet | null;
  readonly hyper: FinetuneHyper;
  step: number;
  trainStep(batch: TrainBatch): Promise<FinetuneMetrics>;
  /** Gradients of one batch's loss at the current weights, by parameter name, without updating (tests). */
  gradients(batch: TrainBatch): Map<string, tf.Tensor>;
  dispose(): void;
}

function checkBatch(b: TrainBatch, factor: number): void {
  if (!Number.isInteger(b.size) || b.size < 1) throw new RangeError(`batch size must be an integer >= 1, got ${b.size}`);
  if (!Number.isInteger(b.patch) || b.patch < factor || b.patch % factor !== 0) {
    throw new RangeError(`patch must be a positive multiple of ${factor} (the network's downsampling), got ${b.patch}`);
  }
  const px = b.size * b.patch * b.patch * 3;
  if (b.lq.length !== px || b.gt.length !== px) throw new RangeError(`lq and gt must hold ${px} floats (size x patch x patch x 3)`);
}

/**
 * A fine-tuner for `config`. `init` gives every parameter (a pre-trained network's, or imported weights);
 * without it the weights are initialised from `initSeed` (training from scratch).
 */
export function createFinetuner(config: NafnetConfig, hyper: FinetuneHyper, init: ReadonlyMap<string, tf.Tensor> | null, initSeed = 'init'): Finetuner {
  validateNafnetConfig(config);
  validateFinetuneHyper(hyper);
  const net = buildRestorationNet(config, initSeed, init ? 'zeros' : 'init');
  let negative: RestorationNet | null = null;
  try {
    if (init) net.params.assign(init);
    if (hyper.spn) {
      negative = buildRestorationNet(config, initSeed, 'zeros');
      negative.params.assign(new Map(net.params.entries()));
    }
  } catch (err) {
    net.dispose();
    negative?.dispose();
    throw err;
  }
  const optimizer = new AdamW(net.params, hyper);
  const names = net.params.names();
  const ema = hyper.emaDecay > 0 ? new Ema(net.params, hyper.emaDecay, names) : null;
  const vars = names.map((n) => net.params.get(n));
  const factor = nafnetFactor(config);
  const spn = hyper.spn;

  /** The loss closure's parts; `neg` is the negative's output (no gradient flows into it). */
  const lossOf = (lq: tf.Tensor4D, gt: tf.Tensor4D, neg: tf.Tensor4D | null, side: { l1?: tf.Scalar; spn?: tf.Scalar }): tf.Scalar => {
    const out = net.restore(lq);
    const l1 = tf.mean(tf.abs(tf.sub(out, gt))) as tf.Scalar;
    side.l1 = tf.keep(l1);
    if (!neg || !spn) return l1;
    const d = tf.mean(tf.abs(tf.sub(out, neg))) as tf.Scalar;
    side.spn = tf.keep(d);
    return tf.sub(l1, tf.mul(d, spn.weight)) as tf.Scalar;
  };

  const tensorsOf = (batch: TrainBatch): { lq: tf.Tensor4D; gt: tf.Tensor4D; neg: tf.Tensor4D | null } => {
    const shape: [number, number, number, number] = [batch.size, batch.patch, batch.patch, 3];
    const lq = tf.tensor4d(batch.lq, shape);
    const gt = tf.tensor4d(batch.gt, shape);
    return { lq, gt, neg: negative ? negative.restore(lq) : null };
  };

  const gradsOf = (batch: TrainBatch) => {
    checkBatch(batch, factor);
    const { lq, gt, neg } = tensorsOf(batch);
    const side: { l1?: tf.Scalar; spn?: tf.Scalar } = {};
    const { value, grads } = tf.variableGrads(() => lossOf(lq, gt, neg, side), vars);
    tf.dispose([lq, gt, ...(neg ? [neg] : [])]);
    const byName = new Map<string, tf.Tensor>();
    for (let i = 0; i < names.length; i++) {
      const g = grads[vars[i].name];
      if (g) byName.set(names[i], g);
    }
    return { value, byName, side };
  };

  const finetuner: Finetuner = {
    net,
    optimizer,
    ema,
    negative,
    hyper,
    step: 0,
    async trainStep(batch) {
      const step = finetuner.step;
      const lr = learningRate(hyper.schedule, step);
      const { value, byName, side } = gradsOf(batch);
      optimizer.apply(byName, lr);
      ema?.update();
      const [loss, l1, d] = await Promise.all([value.data(), side.l1!.data(), side.spn ? side.spn.data() : Promise.resolve(null)]);
      tf.dispose([value, side.l1!, ...(side.spn ? [side.spn] : []), ...byName.values()]);
      finetuner.step = step + 1;
      let refreshed = false;
      if (negative && spn && finetuner.step % spn.every === 0) {
        refreshNegative(negative, net, spn.decay);
        refreshed = true;
      }
      return { step, loss: loss[0], l1: l1[0], spn: d ? d[0] : null, lr, refreshed };
    },
    gradients(batch) {
      const { value, byName, side } = gradsOf(batch);
      tf.dispose([value, side.l1!, ...(side.spn ? [side.spn] : [])]);
      return byName;
    },
    dispose() {
      optimizer.dispose();
      ema?.dispose();
      negative?.dispose();
      net.dispose();
    },
  };
  return finetuner;
}

/** neg <- decay * neg + (1 - decay) * current, parameter by parameter. */
export function refreshNegative(negative: RestorationNet, current: RestorationNet, decay: number): void {
  tf.tidy(() => {
    for (const [name, v] of negative.params.entries()) v.assign(tf.add(tf.mul(v, decay), tf.mul(current.params.get(name), 1 - decay)));
  });
}
