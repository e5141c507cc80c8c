import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveSeed } from '../core/random.js';
import { loadTrainer, saveCheckpoint, type Json, type PretrainCheckpointInfo } from './checkpoint.js';
import type { ClassificationLoss } from './losses.js';
import { createTrainer, DEFAULT_HYPER, type Trainer, type TrainBatch } from './maskdcpt.js';
import { MASKDCPT_DEFAULTS, patchQuantum, validateConfig, type Method, type NetConfig } from './models/maskdcpt-net.js';
import { netPreset } from './models/presets.js';
import { lossCurveSvg, type CurvePoint } from './plot.js';
import { defaultWarmup } from './schedule.js';

/**
 * The pre-training loop: batches from a BatchSource, one MaskDCPT/DCPT step each, a JSONL log line per
 * logged step, checkpoints every N steps and at the end, a loss-curve SVG at the end.
 *
 * Resuming reproduces the uninterrupted run exactly: the checkpoint holds weights, AdamW moments and step,
 * the run settings and the data position; masks come from (seed, step) and the learning rate from the step,
 * so nothing else carries state. The log is cut back to the checkpoint's step before continuing.
 */

/** Where batches come from (the data stream satisfies it). */
/** Images and seconds of a run's steps, for its mean images/s. */
export interface StepMeter {
  images: number;
  seconds: number;
}

/** One step of a training loop: the next batch, `step` on it, and its wall time (seconds), added to `meter`. */
export async function timedStep<M>(source: BatchSource, step: (batch: TrainBatch) => Promise<M>, meter: StepMeter): Promise<{ batch: TrainBatch; metrics: M; seconds: number }> {
  const t0 = performance.now();
  const batch = await source.next();
  const metrics = await step(batch);
  const seconds = (performance.now() - t0) / 1000;
  meter.images += batch.size;
  meter.seconds += seconds;
  return { batch, metrics, seconds };
}

export interface BatchSource {
  readonly classes: readonly string[];
  next(): Promise<TrainBatch>;
  /** Plain JSON (stored in checkpoints); a source reopened with it yields the batches that follow. */
  position(): unknown;
  /** Loader throughput, shown beside the trainer's (the data stream has it). */
  stats?(): { loaderImagesPerSecond: number };
  close?(): Promise<void>;
}

/** The network's shape as a run chooses it (method and classes come from elsewhere). */
export type NetSettings = Pick<NetConfig, 'width' | 'encBlocks' | 'middleBlocks' | 'decBlocks' | 'maskWindow' | 'clsBlocks' | 'clsExpand'>;

/** Everything that defines a run; stored in its checkpoints, so `--resume` needs none of it again. */
export interface RunSettings {
  method: Method;
  steps: number;
  batch: number;
  patch: number;
  seed: string;
  maskRatio: number;
  lr: number;
  minLr: number;
  warmup: number;
  weightDecay: number;
  lambda: number;
  clsLoss: ClassificationLoss;
  focalGamma: number;
  /** EMA decay of the restoration network (0: none). */
  emaDecay: number;
  /** dcpt: weight of the clean-image L1 path (0: off). */
  dcptL1: number;
  net: NetSettings;
  /** Opaque to the loop: how the caller opens its source (dataset, filters, ...). */
  data: Json;
}

export function defaultSettings(over: Partial<RunSettings> & Pick<RunSettings, 'steps'>): RunSettings {
  return {
    method: 'maskdcpt',
    batch: 16,
    patch: 64,
    seed: '0',
    maskRatio: DEFAULT_HYPER.maskRatio,
    lr: 1e-3,
    minLr: 1e-7,
    warmup: defaultWarmup(over.steps),
    weightDecay: DEFAULT_HYPER.weightDecay,
    lambda: DEFAULT_HYPER.lambda,
    clsLoss: DEFAULT_HYPER.cls.kind,
    focalGamma: DEFAULT_HYPER.cls.gamma,
    emaDecay: DEFAULT_HYPER.emaDecay,
    dcptL1: DEFAULT_HYPER.dcptL1,
    net: { ...netPreset('nafnet-tiny'), ...MASKDCPT_DEFAULTS },
    data: null,
    ...over,
  };
}

/** One line of CKPT/log.jsonl. `step` counts completed steps (1 = after the first update). */
export interface LogRecord extends CurvePoint {
  loss: number;
  lr: number;
  /** Trainer throughput over this step (batch fetch included). */
  images_per_s: number;
  /** The source's loader throughput, when it reports one. */
  loader_images_per_s?: number;
}

export type ProgressMode = 'bar' | 'lines' | 'none';

export interface PretrainOptions {
  out: string;
  /** The run's settings; when resuming, the checkpoint's are used instead. */
  settings: RunSettings;
  resume?: boolean;
  openSource(settings: RunSettings, position: unknown): Promise<BatchSource>;
  /** Checkpoint every N steps (and always at the end); default 500. */
  checkpointEvery?: number;
  /** Log every N steps (and the last); default 1. */
  logEvery?: number;
  /** Default: a bar on a terminal stderr, plain lines otherwise. */
  progress?: ProgressMode;
  stream?: NodeJS.WriteStream;
  /** Stop after the current step, checkpoint, return (interrupted: true). */
  signal?: AbortSignal;
  onRecord?(record: LogRecord): void;
}

export interface PretrainResult {
  settings: RunSettings;
  classes: string[];
  parameters: number;
  /** Steps completed in total, and the step this run started from. */
  steps: number;
  startedAt: number;
  interrupted: boolean;
  last: LogRecord | null;
  /** Mean images/s of this run's steps. */
  imagesPerSecond: number;
  checkpoint: string;
  log: string;
  plot: string;
}

export class PretrainError extends Error {
  override name = 'PretrainError';
}

export const LOG_FILE = 'log.jsonl';
export const PLOT_FILE = 'loss.svg';

function positive(name: string, v: number, integer = true): void {
  if (!(Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v)))) {
    throw new RangeError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
}

export function validateSettings(s: RunSettings): RunSettings {
  positive('steps', s.steps);
  positive('batch', s.batch);
  positive('patch', s.patch);
  const masked = s.method === 'maskdcpt' && s.maskRatio > 0;
  const q = patchQuantum(s.net, masked);
  if (s.patch % q !== 0) {
    const why = masked ? `the mask window` : `the network downsamples ${s.net.encBlocks.length} times`;
    throw new RangeError(`patch must be a multiple of ${q} (${why}), got ${s.patch}`);
  }
  if (!(s.maskRatio >= 0 && s.maskRatio < 1)) throw new RangeError(`mask ratio must be in [0, 1), got ${s.maskRatio}`);
  if (!Number.isInteger(s.warmup) || s.warmup < 0 || s.warmup > s.steps) throw new RangeError(`warmup must be an integer in 0..${s.steps}, got ${s.warmup}`);
  return s;
}

/** Whether the run has a pixel loss to show (maskdcpt's reconstruction, dcpt's L1 path). */
function hasRecLoss(s: RunSettings): boolean {
  return s.method !== 'dcpt' || s.dcptL1 > 0;
}

function netConfig(s: RunSettings, classes: readonly string[]): NetConfig {
  return validateConfig({ method: s.method, ...s.net, classes: [...classes], initSeed: deriveSeed(s.seed, 'init') });
}

function newTrainer(s: RunSettings, classes: readonly string[]): Trainer {
  return createTrainer(netConfig(s, classes), {
    schedule: { lr: s.lr, minLr: Math.min(s.minLr, s.lr), warmup: s.warmup, total: s.steps },
    weightDecay: s.weightDecay,
    beta1: DEFAULT_HYPER.beta1,
    beta2: DEFAULT_HYPER.beta2,
    eps: DEFAULT_HYPER.eps,
    lambda: s.lambda,
    maskRatio: s.method === 'dcpt' ? 0 : s.maskRatio,
    seed: deriveSeed(s.seed, 'mask'),
    cls: { kind: s.clsLoss, gamma: s.focalGamma },
    emaDecay: s.emaDecay,
    dcptL1: s.method === 'dcpt' ? s.dcptL1 : 0,
  });
}

export function readLog(path: string): Promise<LogRecord[]> {
  return readJsonl<LogRecord>(path);
}

/** The records of a JSONL training log (pretrain's, or finetune's with its own record type). */
export async function readJsonl<R>(path: string): Promise<R[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: R[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as R);
    } catch {
      break; // a torn last line from a killed run
    }
  }
  return out;
}

interface Reporter {
  update(rec: LogRecord, done: number): void;
  stop(): void;
}

function fmt(v: number, digits = 4): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

function createReporter(mode: ProgressMode, stream: NodeJS.WriteStream, total: number, start: number, showRec: boolean): Reporter {
  if (mode === 'none') return { update() {}, stop() {} };
  const t0 = performance.now();
  const eta = (done: number): string => {
    const s = (performance.now() - t0) / 1000;
    return done > start ? formatSeconds(((total - done) * s) / (done - start)) : '?';
  };
  const rec = (r: LogRecord): string => (showRec ? `rec ${fmt(r.loss_rec)} ` : '');
  const ips = (r: LogRecord): string =>
    r.images_per_s.toFixed(1) + (r.loader_images_per_s !== undefined ? ` (loader ${r.loader_images_per_s.toFixed(0)})` : '');
  if (mode === 'lines') {
    let last = -Infinity; // the first step always prints
    return {
      update(r, done) {
        const now = performance.now();
        if (done < total && now - last < 5000) return;
        last = now;
        stream.write(`pretrain ${done}/${total} ${rec(r)}cls ${fmt(r.loss_cls)} acc ${fmt(r.acc, 3)} lr ${r.lr.toExponential(2)} ${ips(r)} img/s eta ${eta(done)}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `pretrain {bar} {value}/{total} | {losses} | acc {acc} | {ips} img/s | eta {eta}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, { losses: '', acc: '-', ips: '-', eta: '?' });
  return {
    update(r, done) {
      bar.update(done, { losses: `${rec(r)}cls ${fmt(r.loss_cls)}`.trim(), acc: fmt(r.acc, 3), ips: ips(r), eta: eta(done) });
    },
    stop() {
      bar.stop();
    },
  };
}

export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const out = opts.out;
  const logPath = join(out, LOG_FILE);
  const plotPath = join(out, PLOT_FILE);
  const checkpointEvery = opts.checkpointEvery ?? 500;
  const logEvery = opts.logEvery ?? 1;
  positive('checkpointEvery', checkpointEvery);
  positive('logEvery', logEvery);

  let settings: RunSettings;
  let trainer: Trainer;
  let source: BatchSource;
  let info: PretrainCheckpointInfo | null = null;
  if (opts.resume) {
    ({ trainer, info } = await loadTrainer(out));
    settings = validateSettings(info.run as unknown as RunSettings);
    try {
      source = await opts.openSource(settings, info.data);
    } catch (err) {
      trainer.dispose();
      throw err;
    }
    const want = trainer.net.config.classes;
    if (source.classes.length !== want.length || source.classes.some((c, i) => c !== want[i])) {
      trainer.dispose();
      await source.close?.();
      throw new PretrainError(`the data now has classes [${source.classes.join(', ')}] but the checkpoint was trained on [${want.join(', ')}]`);
    }
    // Drop log lines written after the checkpoint (a killed run): the resumed run writes them again.
    const kept = (await readLog(logPath)).filter((r) => r.step <= trainer.step);
    await writeFile(logPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } else {
    settings = validateSettings(opts.settings);
    if (existsSync(join(out, 'model.json'))) {
      throw new PretrainError(`${out} already holds a checkpoint; pass --resume to continue it or choose another --out`);
    }
    source = await opts.openSource(settings, null);
    try {
      await mkdir(out, { recursive: true });
      trainer = newTrainer(settings, source.classes);
    } catch (err) {
      await source.close?.();
      throw err;
    }
    await writeFile(logPath, '');
  }

  const startedAt = trainer.step;
  const total = settings.steps;
  const mode = opts.progress ?? ((opts.stream ?? process.stderr).isTTY ? 'bar' : 'lines');
  const reporter = createReporter(mode, opts.stream ?? process.stderr, total, startedAt, hasRecLoss(settings));
  let log: FileHandle | null = null;
  let last: LogRecord | null = null;
  const meter: StepMeter = { images: 0, seconds: 0 };
  let savedAt = info ? info.step : -1;
  let checkpoint = join(out, 'model.json');
  try {
    log = await open(logPath, 'a');
    while (trainer.step < total && !opts.signal?.aborted) {
      const { batch, metrics: m, seconds: dt } = await timedStep(source, (b) => trainer.trainStep(b), meter);
      const done = m.step + 1;
      const record: LogRecord = {
        step: done,
        loss: m.loss,
        loss_rec: m.lossRec,
        loss_cls: m.lossCls,
        acc: m.acc,
        lr: m.lr,
        images_per_s: dt > 0 ? batch.size / dt : 0,
      };
      const loader = source.stats?.().loaderImagesPerSecond;
      if (loader !== undefined && Number.isFinite(loader)) record.loader_images_per_s = loader;
      last = record;
      if (done % logEvery === 0 || done === total) {
        await log.write(`${JSON.stringify(record)}\n`);
        opts.onRecord?.(record);
      }
      reporter.update(record, done);
      if (done % checkpointEvery === 0 && done < total) {
        checkpoint = await saveCheckpoint(out, trainer, source.position() as Json, settings as unknown as Json);
        savedAt = done;
      }
    }
    if (savedAt !== trainer.step) checkpoint = await saveCheckpoint(out, trainer, source.position() as Json, settings as unknown as Json);
    await log.close();
    log = null;
    const records = await readLog(logPath);
    await writeFile(plotPath, lossCurveSvg(records, { title: `${settings.method} pre-training`, showRec: hasRecLoss(settings) }));
    return {
      settings,
      classes: [...trainer.net.config.classes],
      parameters: trainer.net.params.count(),
      steps: trainer.step,
      startedAt,
      interrupted: trainer.step < total,
      last,
      imagesPerSecond: meter.seconds > 0 ? meter.images / meter.seconds : 0,
      checkpoint,
      log: logPath,
      plot: plotPath,
    };
  } finally {
    reporter.stop();
    await log?.close();
    await source.close?.();
    trainer.dispose();
  }
}
