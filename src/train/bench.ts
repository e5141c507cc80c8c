import * as tf from '@tensorflow/tfjs-core';
import { Adam } from './adam-update.js';
import { activeBackendName } from './backend.js';
import { createMaskDcptBenchStep } from './maskdcpt.js';
import { MASKDCPT_DEFAULTS } from './models/maskdcpt-net.js';
import { isNetPreset, NET_PRESET_NAMES, type NetPresetName } from './models/presets.js';
import { createReferenceNet, REFERENCE_CLASSES, type ReferenceNet } from './nets/reference.js';

/**
 * Benchmarkable networks: the speed-reference net, and the MaskDCPT pre-training step of each preset
 * restoration network (`maskdcpt-tiny` is nafnet-tiny under its earlier name).
 */
export const BENCH_NETS = ['reference', 'maskdcpt-tiny', ...NET_PRESET_NAMES] as const;
export type BenchNet = 'reference' | 'maskdcpt-tiny' | NetPresetName;

/** What input sides must be multiples of for a bench net. */
export function benchSizeQuantum(net: BenchNet): number {
  return net === 'reference' ? 2 : MASKDCPT_DEFAULTS.maskWindow;
}

/**
 * Steps run before timing by default. V8 keeps compiling tfjs's code for the first 20 to 40 steps of a run
 * (TurboFan on its background threads: about 150 functions, 2-3 ms each, measured with --trace-opt), and on
 * a 2-core machine those threads take a core from the kernels' thread team: the reference net's steps 3-13
 * averaged 24.7 ms where steps 100-200 averaged 16.7 ms. A training run pays that once; a timing that starts
 * after 3 steps reports it as a slow mean.
 */
export const BENCH_WARMUP_DEFAULT = 20;
/** Measured steps by default. */
export const BENCH_STEPS_DEFAULT = 30;

export interface BenchOptions {
  net: BenchNet;
  /** Images per step (the reference: 16). */
  batch?: number;
  /** Square input side in pixels, even (the reference: 64). */
  size?: number;
  /** Measured steps (default BENCH_STEPS_DEFAULT); their median, mean and p90 are reported. */
  steps?: number;
  /** Steps run first and not measured (default BENCH_WARMUP_DEFAULT): JIT compilation, operator set-up, allocator growth. */
  warmup?: number;
  seed?: number;
  learningRate?: number;
}

export interface BenchResult {
  net: BenchNet;
  backend: string;
  /** The median measured step (ms). */
  ms_per_step: number;
  /** The mean measured step (ms): what a training run pays, slow steps included. */
  mean_ms: number;
  /** The 90th percentile of the measured steps (ms). */
  p90_ms: number;
  images_per_s: number;
  batch: number;
  size: number;
  steps: number;
  warmup: number;
  /** Every measured step, in order (ms). */
  step_ms: number[];
  /**
   * This process's CPU time per measured step (mean, ms). On a CPU backend it stays near the single-thread
   * cost when other work on the machine stretches the wall-clock figure.
   */
  cpu_ms_per_step: number;
  /** Loss before the first and after the last step, to show the steps trained something. */
  loss_first: number;
  loss_last: number;
  /** Trainable parameters of everything the step trains (for MaskDCPT: restoration network + classifier). */
  parameters: number;
}

export interface Batch {
  x: tf.Tensor4D;
  labels: tf.Tensor2D;
}

function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
}

/** A fixed random batch: uniform [0,1) images and uniformly drawn one-hot classes, from tfjs's seeded generator. */
export function randomBatch(batch: number, size: number, classes: number, seed: number): Batch {
  checkInt('batch', batch, 1);
  checkInt('size', size, 2);
  checkInt('classes', classes, 2);
  checkInt('seed', seed, 0);
  return tf.tidy(() => {
    // tfjs treats seed 0 as "no seed" (Math.random), hence the offsets.
    const x = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', seed * 2 + 1) as tf.Tensor4D;
    const ids = tf.floor(tf.randomUniform([batch], 0, classes, 'float32', seed * 2 + 2));
    const labels = tf.cast(tf.oneHot(tf.cast(ids, 'int32'), classes), 'float32') as tf.Tensor2D;
    return { x, labels };
  });
}

/** One step of a tfjs optimizer on the batch (synchronous read: not on webgpu); returns the loss before the update. */
export function trainStep(net: ReferenceNet, optimizer: tf.Optimizer, batch: Batch): number {
  const loss = optimizer.minimize(() => net.loss(batch.x, batch.labels), true, net.variables);
  if (!loss) throw new Error('optimizer returned no loss');
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The nearest-rank percentile (p in 0..1) of a non-empty list. */
const percentile = (values: number[], p: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** One network's training step on a fixed batch, as the timing loop sees it. */
export interface Stepper {
  readonly parameters: number;
  /** One step; resolves to the loss before the update. */
  step(): Promise<number>;
  dispose(): void;
}

/**
 * One step of the reference net with the trainer's Adam (adam-update.ts: PyTorch's defaults, one fused kernel
 * per variable on the native backend, where tf.train.adam dispatches about eleven small ops per variable).
 * Reads the loss asynchronously, which every backend supports: webgpu under Node cannot read synchronously
 * (tfjs's synchronous read goes through an OffscreenCanvas).
 */
export async function fusedAdamStep(net: ReferenceNet, optimizer: Adam, batch: Batch): Promise<number> {
  const { value, grads } = tf.variableGrads(() => net.loss(batch.x, batch.labels), net.variables);
  try {
    optimizer.apply(net.variables.map((v) => grads[v.name]));
    return (await value.data())[0];
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

/** The reference net: Adam at `learningRate`, softmax cross-entropy over 19 classes. */
function referenceStepper(batch: number, size: number, seed: number, learningRate: number): Stepper {
  if (size % 2) throw new RangeError(`size must be even (the reference net downsamples by 2), got ${size}`);
  const net = createReferenceNet({ seed, classes: REFERENCE_CLASSES });
  const data = randomBatch(batch, size, REFERENCE_CLASSES, seed);
  const optimizer = new Adam(net.variables, learningRate);
  return {
    parameters: net.variables.reduce((n, v) => n + v.size, 0),
    step: () => fusedAdamStep(net, optimizer, data),
    dispose: () => {
      optimizer.dispose();
      net.dispose();
      data.x.dispose();
      data.labels.dispose();
    },
  };
}

/** The MaskDCPT pre-training step of a preset network (masked network, both heads, AdamW, EMA). */
function maskDcptStepper(net: NetPresetName, batch: number, size: number, seed: number): Stepper {
  const q = MASKDCPT_DEFAULTS.maskWindow;
  if (size % q) throw new RangeError(`size must be a multiple of ${q} (the MaskDCPT mask window), got ${size}`);
  const bench = createMaskDcptBenchStep({ net, batch, patch: size, classes: REFERENCE_CLASSES, seed: `bench-${seed}` });
  return { parameters: bench.parameters, step: async () => (await bench.step()).loss, dispose: () => bench.dispose() };
}

/** A net's training step on a fixed random batch, on the active backend (for timing loops and profilers). */
export function createStepper(net: BenchNet, options: { batch: number; size: number; seed: number; learningRate: number }): Stepper {
  const { batch, size, seed, learningRate } = options;
  return net === 'reference'
    ? referenceStepper(batch, size, seed, learningRate)
    : maskDcptStepper(isNetPreset(net) ? net : 'nafnet-tiny', batch, size, seed);
}

/**
 * Time training steps of a net on the active backend: warm-up steps excluded; the median of the measured
 * steps (it shrugs off the odd step slowed by other work on a shared machine) beside their mean and p90
 * (what a training run pays, slow steps included).
 */
export async function benchTrain(options: BenchOptions): Promise<BenchResult> {
  const { net: netName, batch = 16, size = 64, steps = BENCH_STEPS_DEFAULT, warmup = BENCH_WARMUP_DEFAULT, seed = 0, learningRate = 1e-3 } = options;
  if (!(BENCH_NETS as readonly string[]).includes(netName)) throw new RangeError(`net must be one of ${BENCH_NETS.join(', ')}, got ${netName}`);
  checkInt('batch', batch, 1, 4096);
  checkInt('size', size, 2, 4096);
  checkInt('steps', steps, 1, 100000);
  checkInt('warmup', warmup, 0, 100000);
  await tf.ready();
  const stepper = createStepper(netName, { batch, size, seed, learningRate });
  try {
    let lossFirst = NaN;
    for (let i = 0; i < warmup; i++) {
      const l = await stepper.step();
      if (i === 0) lossFirst = l;
    }
    const stepMs: number[] = [];
    let lossLast = NaN;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      lossLast = await stepper.step();
      stepMs.push(performance.now() - t0);
      if (i === 0 && warmup === 0) lossFirst = lossLast;
    }
    const cpu = process.cpuUsage(cpu0);
    const ms = median(stepMs);
    return {
      net: netName,
      backend: activeBackendName(),
      ms_per_step: round2(ms),
      mean_ms: round2(stepMs.reduce((a, b) => a + b, 0) / stepMs.length),
      p90_ms: round2(percentile(stepMs, 0.9)),
      images_per_s: Math.round((batch * 1000 * 100) / ms) / 100,
      batch,
      size,
      steps,
      warmup,
      step_ms: stepMs.map(round2),
      cpu_ms_per_step: Math.round((cpu.user + cpu.system) / 10 / steps) / 100,
      loss_first: lossFirst,
      loss_last: lossLast,
      parameters: stepper.parameters,
    };
  } finally {
    stepper.dispose();
  }
}
