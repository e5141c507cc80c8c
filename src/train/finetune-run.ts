import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed } from '../core/random.js';
import { loadFinetuner, loadRestorationWeights, saveFinetuneCheckpoint, type Json } from './checkpoint.js';
import { DEFAULT_EMA_DECAY } from './ema.js';
import { createFinetuner, type Finetuner, type FinetuneHyper, type SpnSettings } from './finetune.js';
import { nafnetFactor, validateNafnetConfig, type NafnetConfig } from './models/nafnet.js';
import { lossCurveSvg } from './plot.js';
import { LOG_FILE, PLOT_FILE, readJsonl, timedStep, type BatchSource, type StepMeter } from './pretrain.js';
import { defaultWarmup } from './schedule.js';
import { importWeights } from './torch/weights.js';

/**
 * The fine-tuning loop: batches from a BatchSource (the same shard stream pre-training reads; labels are
 * not used), one step each, a JSONL log, checkpoints every N steps and at the end (optimizer state, EMA, SPN
 * negative, data position), a loss plot. Resuming continues exactly: everything that carries state is in
 * the checkpoint, the learning rate comes from the step, and the log is cut back to the checkpoint's step.
 */

/** Where the initial weights come from. */
export type InitSource = { checkpoint: string } | { weights: string } | null;

export interface FinetuneSettings {
  steps: number;
  batch: number;
  patch: number;
  seed: string;
  lr: number;
  minLr: number;
  warmup: number;
  weightDecay: number;
  emaDecay: number;
  spn: SpnSettings | null;
  /** The network when training from scratch; with an init, the init's network is used. */
  net: NafnetConfig;
  init: InitSource;
  /** Opaque to the loop: how the caller opens its source. */
  data: Json;
}

/** MCLIR's released settings: negative refreshed every 100 steps keeping 0.1 of the old one. */
export const DEFAULT_SPN: SpnSettings = { weight: 0.01, every: 100, decay: 0.1 };

export function defaultFinetuneSettings(over: Partial<FinetuneSettings> & Pick<FinetuneSettings, 'steps' | 'net'>): FinetuneSettings {
  return {
    batch: 16,
    patch: 64,
    seed: '0',
    lr: 1e-3,
    minLr: 1e-7,
    warmup: defaultWarmup(over.steps),
    weightDecay: 0,
    emaDecay: DEFAULT_EMA_DECAY,
    spn: null,
    init: null,
    data: null,
    ...over,
  };
}

export interface FinetuneRecord {
  step: number;
  loss: number;
  l1: number;
  spn: number | null;
  lr: number;
  images_per_s: number;
}

export interface FinetuneOptions {
  out: string;
  settings: FinetuneSettings;
  resume?: boolean;
  openSource(settings: FinetuneSettings, position: unknown): Promise<BatchSource>;
  checkpointEvery?: number;
  logEvery?: number;
  /** One line every few seconds on this stream (none when absent). */
  progress?: NodeJS.WritableStream;
  signal?: AbortSignal;
  onRecord?(record: FinetuneRecord): void;
}

export interface FinetuneResult {
  settings: FinetuneSettings;
  net: NafnetConfig;
  parameters: number;
  steps: number;
  startedAt: number;
  interrupted: boolean;
  /** The loss of the first step of this run (step 0 of a fresh one). */
  first: FinetuneRecord | null;
  last: FinetuneRecord | null;
  imagesPerSecond: number;
  checkpoint: string;
  log: string;
  plot: string;
}

export class FinetuneError extends Error {
  override name = 'FinetuneError';
}


export function validateFinetuneSettings(s: FinetuneSettings): FinetuneSettings {
  for (const [name, v] of [['steps', s.steps], ['batch', s.batch], ['patch', s.patch]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(s.warmup) || s.warmup < 0 || s.warmup > s.steps) throw new RangeError(`warmup must be an integer in 0..${s.steps}, got ${s.warmup}`);
  if (!(s.lr > 0)) throw new RangeError(`lr must be > 0, got ${s.lr}`);
  validateNafnetConfig(s.net);
  return s;
}

function hyperOf(s: FinetuneSettings): FinetuneHyper {
  return {
    schedule: { lr: s.lr, minLr: Math.min(s.minLr, s.lr), warmup: s.warmup, total: s.steps },
    weightDecay: s.weightDecay,
    beta1: 0.9,
    beta2: 0.99,
    eps: 1e-8,
    emaDecay: s.emaDecay,
    spn: s.spn,
  };
}

/** The initial weights and their network: a checkpoint's live restoration weights, or imported PyTorch weights. */
async function initialWeights(init: InitSource): Promise<{ config: NafnetConfig; tensors: Map<string, tf.Tensor> } | null> {
  if (init === null) return null;
  if ('checkpoint' in init) {
    // The live weights: the network as pre-training left it (its EMA lags far behind in a short run).
    const w = await loadRestorationWeights(init.checkpoint, 'live');
    return { config: w.config, tensors: w.tensors };
  }
  const tmp = await mkdtemp(join(tmpdir(), 'uirgen-init-'));
  try {
    await importWeights(init.weights, { out: tmp });
    const w = await loadRestorationWeights(tmp, 'auto');
    return { config: w.config, tensors: w.tensors };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function finetune(opts: FinetuneOptions): Promise<FinetuneResult> {
  const out = opts.out;
  const logPath = join(out, LOG_FILE);
  const plotPath = join(out, PLOT_FILE);
  const checkpointEvery = opts.checkpointEvery ?? 500;
  const logEvery = opts.logEvery ?? 1;
  let settings: FinetuneSettings;
  let f: Finetuner;
  let savedAt = -1;
  let position: unknown = null;
  if (opts.resume) {
    const loaded = await loadFinetuner(out);
    f = loaded.finetuner;
    settings = loaded.info.run as unknown as FinetuneSettings;
    savedAt = loaded.info.step;
    position = loaded.info.data;
    const kept = (await readJsonl<FinetuneRecord>(logPath)).filter((r) => r.step <= f.step);
    await writeFile(logPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } else {
    settings = validateFinetuneSettings(opts.settings);
    if (existsSync(join(out, 'model.json'))) throw new FinetuneError(`${out} already holds a checkpoint; pass --resume to continue it or choose another --out`);
    const init = await initialWeights(settings.init);
    try {
      const config = init ? init.config : settings.net;
      if (settings.patch % nafnetFactor(config) !== 0) {
        throw new RangeError(`patch must be a multiple of ${nafnetFactor(config)} (the network's downsampling), got ${settings.patch}`);
      }
      settings = { ...settings, net: config };
      f = createFinetuner(config, hyperOf(settings), init ? init.tensors : null, deriveSeed(settings.seed, 'init'));
    } finally {
      if (init) tf.dispose([...init.tensors.values()]);
    }
    await mkdir(out, { recursive: true });
    await writeFile(logPath, '');
  }
  let source: BatchSource;
  try {
    source = await opts.openSource(settings, position);
  } catch (err) {
    f.dispose();
    throw err;
  }
  const startedAt = f.step;
  let log: FileHandle | null = null;
  let first: FinetuneRecord | null = null;
  let last: FinetuneRecord | null = null;
  const meter: StepMeter = { images: 0, seconds: 0 };
  let lastLine = -Infinity;
  let checkpoint = join(out, 'model.json');
  const save = async (): Promise<void> => {
    checkpoint = await saveFinetuneCheckpoint(out, f, settings.init as unknown as Json, source.position() as Json, settings as unknown as Json);
    savedAt = f.step;
  };
  try {
    log = await open(logPath, 'a');
    while (f.step < settings.steps && !opts.signal?.aborted) {
      const { batch, metrics: m, seconds: dt } = await timedStep(source, (b) => f.trainStep(b), meter);
      const done = m.step + 1;
      const record: FinetuneRecord = { step: done, loss: m.loss, l1: m.l1, spn: m.spn, lr: m.lr, images_per_s: dt > 0 ? batch.size / dt : 0 };
      first ??= record;
      last = record;
      if (done % logEvery === 0 || done === settings.steps) {
        await log.write(`${JSON.stringify(record)}\n`);
        opts.onRecord?.(record);
      }
      const now = performance.now();
      if (opts.progress && (done === settings.steps || now - lastLine > 5000)) {
        lastLine = now;
        opts.progress.write(`finetune ${done}/${settings.steps} l1 ${m.l1.toFixed(4)}${m.spn !== null ? ` spn ${m.spn.toFixed(4)}` : ''} lr ${m.lr.toExponential(2)} ${record.images_per_s.toFixed(1)} img/s\n`);
      }
      if (done % checkpointEvery === 0 && done < settings.steps) await save();
    }
    if (savedAt !== f.step) await save();
    await log.close();
    log = null;
    const records = await readJsonl<FinetuneRecord>(logPath);
    await writeFile(
      plotPath,
      lossCurveSvg(
        records.map((r) => ({ step: r.step, loss_rec: r.l1, loss_cls: r.spn ?? 0, acc: 0 })),
        { title: `fine-tuning (L1${settings.spn ? '; SPN distance as the second series' : ''})`, showRec: true },
      ),
    );
    return {
      settings,
      net: f.net.config,
      parameters: f.net.params.count(),
      steps: f.step,
      startedAt,
      interrupted: f.step < settings.steps,
      first,
      last,
      imagesPerSecond: meter.seconds > 0 ? meter.images / meter.seconds : 0,
      checkpoint,
      log: logPath,
      plot: plotPath,
    };
  } finally {
    await log?.close();
    await source.close?.();
    f.dispose();
  }
}
