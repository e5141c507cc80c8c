import * as tf from '@tensorflow/tfjs-core';
// Training needs tfjs-core's gradient functions; its Node bundle leaves them unregistered, and the
// tfjs-layers Node bundle registers the full set when it loads (the core's ESM-only entry cannot be
// imported from Node).
import '@tensorflow/tfjs-layers';
import { createRng, deriveSeed } from '../core/random.js';
import { adamStepConstants, fusedAdamAvailable, updateParameter } from './adam-update.js';
import { DEFAULT_EMA_DECAY, Ema } from './ema.js';
import { classificationLoss, DEFAULT_FOCAL_GAMMA, l1Loss, validateClassificationLoss, type ClassificationLossOptions } from './losses.js';
import type { ParamStore } from './models/layers.js';
import { buildNet, makeMasks, MASKDCPT_DEFAULTS, patchQuantum, sampleMaskCells, type MaskDcptNet, type NetConfig } from './models/maskdcpt-net.js';
import { netPreset, type NetPresetName } from './models/presets.js';
import { learningRate, validateSchedule, type ScheduleOptions } from './schedule.js';

/**
 * One MaskDCPT / DCPT training step.
 * - maskdcpt: mask the LQ batch (cells of maskWindow pixels), run the masked restoration network, loss
 *   L1(restored, gt) + lambda * focal(type);
 * - dcpt: the unmasked network on LQ, lambda * focal(type), plus, when dcptL1 > 0, DCPT's pixel path
 *   dcptL1 * L1(net(gt), gt) (DCPTModel feeds the clean image through the same network).
 * Then gradients, AdamW with the scheduled learning rate, and the EMA of the restoration network.
 */

/** What a training batch holds (the data stream's Batch satisfies it). NHWC float32 in [0, 1]. */
export interface TrainBatch {
  lq: Float32Array;
  gt: Float32Array;
  labels: Int32Array;
  size: number;
  patch: number;
}

export interface TrainHyper {
  schedule: ScheduleOptions;
  /** AdamW decoupled weight decay (applied to conv and dense kernels only). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Weight of the classification loss. */
  lambda: number;
  /** Fraction of patches masked (maskdcpt); ignored by dcpt. */
  maskRatio: number;
  /** Seed of the per-step masks. */
  seed: string;
  cls: ClassificationLossOptions;
  /** EMA decay of the restoration network's weights; 0 keeps no EMA. */
  emaDecay: number;
  /** dcpt only: weight of the L1 path restoring the clean image from itself (0: classification only). */
  dcptL1: number;
}

export const DEFAULT_HYPER: Omit<TrainHyper, 'schedule' | 'seed'> = {
  weightDecay: 1e-4,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  lambda: 1,
  maskRatio: 0.5,
  cls: { kind: 'focal', gamma: DEFAULT_FOCAL_GAMMA },
  emaDecay: DEFAULT_EMA_DECAY,
  dcptL1: 0,
};

export function validateHyper(h: TrainHyper): TrainHyper {
  validateSchedule(h.schedule);
  const check = (name: string, v: number, lo: number, hi: number, loOpen = false, hiOpen = false): void => {
    const ok = Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
    if (!ok) throw new RangeError(`${name} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  };
  check('weightDecay', h.weightDecay, 0, 1);
  check('beta1', h.beta1, 0, 1, false, true);
  check('beta2', h.beta2, 0, 1, false, true);
  check('eps', h.eps, 0, 1, true);
  check('lambda', h.lambda, 0, 1000);
  check('maskRatio', h.maskRatio, 0, 1, false, true);
  check('emaDecay', h.emaDecay, 0, 1, false, true);
  check('dcptL1', h.dcptL1, 0, 1000);
  validateClassificationLoss(h.cls);
  return h;
}

/**
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW: p <- p * (1 - lr * wd), then the bias-corrected Adam
 * update. Moments are variables named `opt.m/<param>` and `opt.v/<param>` so a checkpoint stores them
 * beside the weights; `t` counts the updates applied.
 */
export class AdamW {
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  /** @param useFusedKernel false runs the update as tfjs ops even where ADAMW_UPDATE exists (for tests) */
  constructor(
    private readonly params: ParamStore,
    private readonly hyper: Pick<TrainHyper, 'weightDecay' | 'beta1' | 'beta2' | 'eps'>,
    private readonly useFusedKernel = true,
  ) {
    for (const [name, p] of params.entries()) {
      // tf.variable copies its initial value; inside tidy the zero tensors are released at once
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** `grads` keyed by parameter name; parameters without a gradient are left alone (their moments too). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const k = adamStepConstants(this.t, this.hyper, lr);
    // one native pass per parameter where the backend has the kernel; the same float32 operations either way
    const fused = this.useFusedKernel && fusedAdamAvailable();
    // One tidy per parameter: the temporaries of all parameters at once (several copies of nafnet-64 and
    // its classifier) would not fit the 4 GiB wasm heap.
    for (const [name, p] of this.params.entries()) {
      const g = grads.get(name);
      if (!g) continue;
      tf.tidy(() => updateParameter(p, this.m.get(name) as tf.Variable, this.v.get(name) as tf.Variable, g, k, this.params.spec(name).decay, fused));
    }
  }

  /** Moments as a name -> tensor map (`opt.m/...`, `opt.v/...`), for checkpoints. */
  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, t] of this.m) out.set(`opt.m/${name}`, t);
    for (const [name, t] of this.v) out.set(`opt.v/${name}`, t);
    return out;
  }

  load(values: ReadonlyMap<string, tf.Tensor>, t: number): void {
    if (!Number.isInteger(t) || t < 0) throw new RangeError(`optimizer step must be an integer >= 0, got ${t}`);
    for (const [key, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, variable] of map) {
        const src = values.get(`opt.${key}/${name}`);
        if (!src) throw new Error(`checkpoint has no optimizer state opt.${key}/${name}`);
        variable.assign(src);
      }
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

export interface StepMetrics {
  /** 0-based index of the step just taken. */
  step: number;
  loss: number;
  /** L1 reconstruction loss (maskdcpt; dcpt's L1 path when on; 0 otherwise). */
  lossRec: number;
  lossCls: number;
  /** Fraction of the batch whose predicted type is right. */
  acc: number;
  lr: number;
}

export interface Trainer {
  readonly net: MaskDcptNet;
  readonly optimizer: AdamW;
  /** EMA of the restoration network's weights, null when emaDecay is 0. */
  readonly ema: Ema | null;
  readonly hyper: TrainHyper;
  /** Steps taken so far (the next step's 0-based index). */
  step: number;
  trainStep(batch: TrainBatch): Promise<StepMetrics>;
  dispose(): void;
}

function checkBatch(b: TrainBatch, quantum: number, classes: number): void {
  const px = b.size * b.patch * b.patch * 3;
  if (!Number.isInteger(b.size) || b.size < 1) throw new RangeError(`batch size must be an integer >= 1, got ${b.size}`);
  if (!Number.isInteger(b.patch) || b.patch < quantum || b.patch % quantum !== 0) {
    throw new RangeError(`patch must be a positive multiple of ${quantum} (the mask window or the network's downsampling), got ${b.patch}`);
  }
  if (b.lq.length !== px || b.gt.length !== px) throw new RangeError(`lq and gt must hold ${px} floats (size x patch x patch x 3)`);
  if (b.labels.length !== b.size) throw new RangeError(`labels must hold ${b.size} entries, got ${b.labels.length}`);
  for (const l of b.labels) if (l < 0 || l >= classes) throw new RangeError(`label ${l} outside 0..${classes - 1}`);
}

export function createTrainer(config: NetConfig, hyper: TrainHyper): Trainer {
  validateHyper(hyper);
  const net = buildNet(config);
  const optimizer = new AdamW(net.params, hyper);
  const ema = hyper.emaDecay > 0 ? new Ema(net.params, hyper.emaDecay, net.restorationNames) : null;
  const names = net.params.names();
  const vars = names.map((n) => net.params.get(n));
  const levels = config.encBlocks.length;
  const classes = config.classes.length;
  const masked = config.method === 'maskdcpt' && hyper.maskRatio > 0;
  const quantum = patchQuantum(config, masked);
  const window = config.maskWindow;

  const trainer: Trainer = {
    net,
    optimizer,
    ema,
    hyper,
    step: 0,
    async trainStep(batch) {
      checkBatch(batch, quantum, classes);
      const step = trainer.step;
      const lr = learningRate(hyper.schedule, step);
      const n = batch.size;
      const p = batch.patch;
      const lq = tf.tensor4d(batch.lq, [n, p, p, 3]);
      const gt = tf.tensor4d(batch.gt, [n, p, p, 3]);
      const labels = tf.tensor1d(batch.labels, 'int32');
      const onehot = tf.oneHot(labels, classes) as tf.Tensor2D;
      const masks = masked
        ? makeMasks(sampleMaskCells(n, p / window, p / window, hyper.maskRatio, deriveSeed(hyper.seed, 'mask', step)), n, p, p, window, levels)
        : null;
      // Side outputs of the loss closure, kept past the gradient tape's tidy.
      const side: { rec?: tf.Scalar; cls?: tf.Scalar; logits?: tf.Tensor2D } = {};
      const { value, grads } = tf.variableGrads(() => {
        const out = net.forward(lq, masks);
        const cls = classificationLoss(out.logits, onehot, hyper.cls);
        side.cls = tf.keep(cls);
        side.logits = tf.keep(out.logits);
        let rec: tf.Scalar | null = null;
        if (out.restored) rec = l1Loss(out.restored, gt);
        else if (config.method === 'dcpt' && hyper.dcptL1 > 0) rec = tf.mul(l1Loss(net.restore(gt), gt), hyper.dcptL1) as tf.Scalar;
        if (!rec) return tf.mul(cls, hyper.lambda) as tf.Scalar;
        side.rec = tf.keep(rec);
        return tf.add(rec, tf.mul(cls, hyper.lambda)) as tf.Scalar;
      }, vars);
      const byName = new Map<string, tf.Tensor>();
      for (let i = 0; i < names.length; i++) {
        const g = grads[vars[i].name];
        if (g) byName.set(names[i], g);
      }
      optimizer.apply(byName, lr);
      ema?.update();
      const { rec: recT, cls: clsT, logits } = side;
      if (!clsT || !logits) throw new Error('training step produced no classification loss');
      const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')));
      const [loss, rec, cls, right] = await Promise.all([
        value.data(),
        recT ? recT.data() : Promise.resolve(new Float32Array([0])),
        clsT.data(),
        correct.data(),
      ]);
      tf.dispose([lq, gt, labels, onehot, value, correct, clsT, logits, ...(recT ? [recT] : []), ...Object.values(grads), ...(masks ?? [])]);
      trainer.step = step + 1;
      return { step, loss: loss[0], lossRec: rec[0], lossCls: cls[0], acc: right[0] / n, lr };
    },
    dispose() {
      ema?.dispose();
      optimizer.dispose();
      net.dispose();
    },
  };
  return trainer;
}

export interface BenchStepOptions {
  /** The restoration network (default nafnet-tiny). */
  net?: NetPresetName;
  batch?: number;
  patch?: number;
  classes?: number;
  method?: 'maskdcpt' | 'dcpt';
  seed?: string;
}

export interface BenchStep {
  /** Images per step. */
  readonly images: number;
  readonly parameters: number;
  /** One full training step (forward, backward, AdamW, EMA) on a fixed random batch. */
  step(): Promise<StepMetrics>;
  dispose(): void;
}

/**
 * The MaskDCPT pre-training step of a preset network (the released classifier, mask window 16) on a fixed
 * seeded batch, 16 x 64 x 64 x 3 and 19 classes unless told otherwise. Runs on whatever tfjs backend is active.
 */
export function createMaskDcptBenchStep(opts: BenchStepOptions = {}): BenchStep {
  const batch = opts.batch ?? 16;
  const patch = opts.patch ?? 64;
  const classes = opts.classes ?? 19;
  const seed = opts.seed ?? 'bench';
  const config: NetConfig = {
    method: opts.method ?? 'maskdcpt',
    ...netPreset(opts.net ?? 'nafnet-tiny'),
    ...MASKDCPT_DEFAULTS,
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
    initSeed: seed,
  };
  const trainer = createTrainer(config, {
    ...DEFAULT_HYPER,
    schedule: { lr: 1e-3, minLr: 1e-3, warmup: 0, total: 1_000_000 },
    seed,
  });
  const rng = createRng(deriveSeed(seed, 'batch'));
  const px = batch * patch * patch * 3;
  const lq = new Float32Array(px);
  const gt = new Float32Array(px);
  for (let i = 0; i < px; i++) {
    gt[i] = rng.uniform();
    lq[i] = Math.min(1, Math.max(0, gt[i] + 0.1 * rng.normal()));
  }
  const labels = Int32Array.from({ length: batch }, () => rng.int(0, classes - 1));
  const data: TrainBatch = { lq, gt, labels, size: batch, patch };
  return {
    images: batch,
    parameters: trainer.net.params.count(),
    step: () => trainer.trainStep(data),
    dispose: () => trainer.dispose(),
  };
}
