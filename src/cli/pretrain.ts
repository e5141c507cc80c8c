import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_NAMES, isBackendName } from '../train/backend.js';
import { CheckpointError, readCheckpointInfo, type Json } from '../train/checkpoint.js';
import { openTrainingStream, type DataPosition, type Split } from '../train/data.js';
import { DEFAULT_FOCAL_GAMMA } from '../train/losses.js';
import { DEFAULT_EMA_DECAY } from '../train/ema.js';
import { MASKDCPT_DEFAULTS, patchQuantum } from '../train/models/maskdcpt-net.js';
import { defaultSettings, pretrain, PretrainError, type BatchSource, type RunSettings } from '../train/pretrain.js';
import { defaultWarmup } from '../train/schedule.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';
import { addNetOptions, NET_FLAG_KEYS, netFromFlags, type NetFlags } from './net-options.js';
import { startBackend } from './start-backend.js';

interface PretrainFlags extends NetFlags {
  data?: string;
  out: string;
  steps: string;
  batch: string;
  patch: string;
  maskRatio: string;
  backend: string;
  method: string;
  resume?: boolean;
  seed: string;
  lr: string;
  maskWindow: string;
  clsBlocks: string;
  clsExpand: string;
  clsLoss: string;
  focalGamma: string;
  emaDecay: string;
  dcptL1: string;
  warmup?: string;
  weightDecay: string;
  lambda: string;
  types?: string;
  levels?: string;
  split?: string;
  real?: boolean;
  workers?: string;
  checkpointEvery: string;
  logEvery: string;
  json?: boolean;
}

/** How the data stream is opened; stored in the checkpoint's run settings. */
interface DataSettings {
  dataset: string;
  types: string[] | null;
  levels: string[] | null;
  split: Split | null;
  real: boolean | null;
}

/** Flags that define the run: with --resume they come from the checkpoint and may not be changed. */
const RUN_FLAGS = [
  'steps', 'batch', 'patch', 'maskRatio', 'method', 'seed', 'lr', ...NET_FLAG_KEYS, 'maskWindow', 'clsBlocks', 'clsExpand',
  'clsLoss', 'focalGamma', 'emaDecay', 'dcptL1', 'warmup', 'weightDecay', 'lambda', 'types', 'levels', 'split', 'real',
];

export function parseNumber(name: string, value: string, lo: number, hi: number, loOpen = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (loOpen ? n <= lo : n < lo) || n > hi) {
    throw new UsageError(`${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got "${value}"`);
  }
  return n;
}

export function parseList(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : null;
}

function settingsFromFlags(flags: PretrainFlags): RunSettings {
  if (!flags.data) throw new UsageError('--data is required (a dataset directory made by uirgen synthesize)');
  const steps = parseIntOption('--steps', flags.steps, 1, 1e9);
  const method = flags.method;
  if (method !== 'maskdcpt' && method !== 'dcpt') throw new UsageError(`--method must be maskdcpt or dcpt, got "${method}"`);
  const nafnet = netFromFlags(flags);
  const split = flags.split;
  if (split !== undefined && split !== 'train' && split !== 'val' && split !== 'test') {
    throw new UsageError(`--split must be train, val or test, got "${split}"`);
  }
  const data: DataSettings = {
    dataset: resolve(flags.data),
    types: parseList(flags.types),
    levels: parseList(flags.levels),
    split: split ?? null,
    real: flags.real ?? null,
  };
  const patch = parseIntOption('--patch', flags.patch, 1, 4096);
  const maskRatio = parseNumber('--mask-ratio', flags.maskRatio, 0, 0.95);
  const maskWindow = parseIntOption('--mask-window', flags.maskWindow, 1, 1024);
  const factor = 2 ** nafnet.encBlocks.length;
  if (method === 'maskdcpt' && maskWindow % factor !== 0) {
    throw new UsageError(`--mask-window must be a multiple of ${factor} (the network downsamples ${nafnet.encBlocks.length} times), got ${maskWindow}`);
  }
  const quantum = patchQuantum({ encBlocks: nafnet.encBlocks, maskWindow }, method === 'maskdcpt' && maskRatio > 0);
  if (patch % quantum !== 0) {
    const why = quantum === factor ? `the network downsamples ${nafnet.encBlocks.length} times` : `--mask-window`;
    throw new UsageError(`--patch must be a multiple of ${quantum} (${why}), got ${patch}`);
  }
  const clsLoss = flags.clsLoss;
  if (clsLoss !== 'focal' && clsLoss !== 'ce') throw new UsageError(`--cls-loss must be focal or ce, got "${clsLoss}"`);
  const dcptL1 = parseNumber('--dcpt-l1', flags.dcptL1, 0, 1000);
  if (dcptL1 > 0 && method !== 'dcpt') throw new UsageError('--dcpt-l1 is the DCPT pixel path: use it with --method dcpt');
  return defaultSettings({
    method,
    steps,
    batch: parseIntOption('--batch', flags.batch, 1, 4096),
    patch,
    seed: flags.seed,
    maskRatio,
    lr: parseNumber('--lr', flags.lr, 0, 1, true),
    warmup: flags.warmup === undefined ? defaultWarmup(steps) : parseIntOption('--warmup', flags.warmup, 0, steps),
    weightDecay: parseNumber('--weight-decay', flags.weightDecay, 0, 1),
    lambda: parseNumber('--lambda', flags.lambda, 0, 1000),
    clsLoss,
    focalGamma: parseNumber('--focal-gamma', flags.focalGamma, 0, 10),
    emaDecay: parseNumber('--ema-decay', flags.emaDecay, 0, 0.999999),
    dcptL1,
    net: {
      ...nafnet,
      maskWindow,
      clsBlocks: parseIntOption('--cls-blocks', flags.clsBlocks, 1, 16),
      clsExpand: parseNumber('--cls-expand', flags.clsExpand, 0, 8, true),
    },
    data: data as unknown as Json,
  });
}

/** `uirgen pretrain`: MaskDCPT (or DCPT) pre-training on a uirgen dataset, streamed from its shards. */
export function register(program: Command): void {
  const cmd = program
    .command('pretrain')
    .description('MaskDCPT pre-training (masked degradation classification + reconstruction) on a dataset')
    .option('--data <DS>', 'dataset directory (manifest.sqlite + shards/)')
    .requiredOption('--out <CKPT>', 'checkpoint directory: model.json + weights, log.jsonl, loss.svg')
    .option('--steps <N>', 'training steps', '10000')
    .option('--batch <B>', 'images per step', '16')
    .option('--patch <P>', 'square crop side in pixels (a multiple of --mask-window; of the downsampling for dcpt)', '64')
    .option('--mask-ratio <R>', 'fraction of mask patches hidden (maskdcpt)', '0.5')
    .option('--mask-window <PX>', 'side of a mask patch (the released window_size)', String(MASKDCPT_DEFAULTS.maskWindow))
    .option('--backend <B>', `TensorFlow.js backend: ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .option('--method <M>', 'maskdcpt | dcpt (no mask, classification; --dcpt-l1 adds its pixel path)', 'maskdcpt')
    .option('--resume', 'continue the checkpoint in --out (its settings are used)')
    .option('--seed <S>', 'seed of the weights, masks and data order', '0')
    .option('--lr <LR>', 'peak learning rate (AdamW; cosine decay after a linear warm-up)', '1e-3');
  addNetOptions(cmd, 'nafnet-tiny');
  cmd
    .option('--cls-blocks <N>', 'bottleneck blocks per classifier stage (num_res_blocks)', String(MASKDCPT_DEFAULTS.clsBlocks))
    .option('--cls-expand <X>', 'classifier bottleneck width / feature channels', String(MASKDCPT_DEFAULTS.clsExpand))
    .option('--cls-loss <L>', 'classification loss: focal | ce', 'focal')
    .option('--focal-gamma <G>', 'focal loss gamma (0 is cross-entropy)', String(DEFAULT_FOCAL_GAMMA))
    .option('--ema-decay <D>', 'EMA decay of the restoration weights (0: no EMA)', String(DEFAULT_EMA_DECAY))
    .option('--dcpt-l1 <W>', 'dcpt: weight of the L1 path restoring the clean image (0: off)', '0')
    .option('--warmup <N>', 'warm-up steps (default 5% of --steps, at most 1000)')
    .option('--weight-decay <W>', 'AdamW decoupled weight decay', '1e-4')
    .option('--lambda <L>', 'weight of the classification loss', '1')
    .option('--types <IDS>', 'only these degradation types (comma-separated)')
    .option('--levels <IDS>', 'only these levels (comma-separated level ids or indices)')
    .option('--split <S>', 'train | val | test')
    .option('--real', 'only real (captured) pairs')
    .option('--workers <N>', 'loader threads')
    .option('--checkpoint-every <N>', 'steps between checkpoints (one is always written at the end)', '500')
    .option('--log-every <N>', 'steps between log.jsonl lines', '1')
    .option('--json', 'print a JSON summary at the end')
    .addHelpText(
      'after',
      '\nThe network is a NAFNet U-Net of masked NAF blocks (MaskDCPT\'s MaskNAFNetBaseline); the LQ input is cut\n' +
        'into --mask-window patches and --mask-ratio of them are hidden. Its ending conv restores the clean image\n' +
        '(L1) and PromptIR_NoImg_DC classifies the degradation from the decoder stages (focal loss). Ctrl-C stops\n' +
        'after the current step and writes a checkpoint; --resume continues it exactly (same loss curve).',
    )
    .action(
      action(async (flags: PretrainFlags, command: Command) => {
        if (!isBackendName(flags.backend)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${flags.backend}"`);
        const checkpointEvery = parseIntOption('--checkpoint-every', flags.checkpointEvery, 1);
        const logEvery = parseIntOption('--log-every', flags.logEvery, 1);
        const workers = flags.workers === undefined ? undefined : parseIntOption('--workers', flags.workers, 1, 64);
        const out = resolve(flags.out);

        let settings: RunSettings;
        let dataset: string | undefined;
        if (flags.resume) {
          const changed = RUN_FLAGS.filter((k) => command.getOptionValueSource(k) === 'cli');
          if (changed.length) {
            throw new UsageError(`--resume continues the run with its own settings; leave out ${changed.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
          }
          try {
            const info = await readCheckpointInfo(out);
            if (info.kind !== 'pretrain') throw new UserError(`${out} holds imported weights, not a pre-training run to --resume`);
            settings = info.run as unknown as RunSettings;
          } catch (err) {
            if (err instanceof CheckpointError) throw new UserError(err.message);
            throw err;
          }
          // The dataset may have moved: --data overrides the recorded path (the filters stay).
          dataset = flags.data ? resolve(flags.data) : undefined;
        } else {
          settings = settingsFromFlags(flags);
        }

        // A wrong --data is the likeliest mistake: say so before a backend is probed and loaded.
        const dataDir = dataset ?? (settings.data as unknown as DataSettings).dataset;
        if (!existsSync(join(dataDir, 'manifest.sqlite'))) {
          throw new UserError(`${dataDir}: no manifest.sqlite there; is this a uirgen dataset directory? (make one with \`uirgen synthesize\`)`);
        }
        const backendName = (await startBackend(flags.backend)).name;

        const abort = new AbortController();
        const onSigint = (): void => {
          if (abort.signal.aborted) process.exit(130);
          process.stderr.write('\nuirgen: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)\n');
          abort.abort();
        };
        process.on('SIGINT', onSigint);
        try {
          const result = await pretrain({
            out,
            settings,
            resume: flags.resume === true,
            checkpointEvery,
            logEvery,
            signal: abort.signal,
            async openSource(s, position): Promise<BatchSource> {
              const d = s.data as unknown as DataSettings;
              return openTrainingStream({
                dataset: dataset ?? d.dataset,
                batch: s.batch,
                patch: s.patch,
                seed: s.seed,
                ...(d.types ? { types: d.types } : {}),
                ...(d.levels ? { levels: d.levels } : {}),
                ...(d.split ? { split: d.split } : {}),
                ...(d.real !== null && d.real !== undefined ? { real: d.real } : {}),
                ...(workers !== undefined ? { workers } : {}),
                ...(position ? { position: position as unknown as DataPosition } : {}),
              });
            },
          });
          const last = result.last;
          if (flags.json) {
            process.stdout.write(
              `${JSON.stringify({
                backend: backendName,
                method: result.settings.method,
                steps: result.steps,
                started_at: result.startedAt,
                interrupted: result.interrupted,
                classes: result.classes,
                parameters: result.parameters,
                loss_rec: last?.loss_rec ?? null,
                loss_cls: last?.loss_cls ?? null,
                acc: last?.acc ?? null,
                images_per_s: Math.round(result.imagesPerSecond * 100) / 100,
                loader_images_per_s: last?.loader_images_per_s ?? null,
                checkpoint: result.checkpoint,
                log: result.log,
                plot: result.plot,
              })}\n`,
            );
          } else {
            const what = result.interrupted ? `stopped at step ${result.steps}/${result.settings.steps}` : `${result.steps} steps`;
            process.stdout.write(
              `${result.settings.method} on ${backendName}: ${what}, ${result.classes.length} classes, ${result.parameters} parameters, ` +
                `${result.imagesPerSecond.toFixed(1)} images/s\n` +
                (last ? `last step: loss_rec ${last.loss_rec.toFixed(4)} loss_cls ${last.loss_cls.toFixed(4)} acc ${last.acc.toFixed(3)}\n` : '') +
                `checkpoint ${result.checkpoint}\nlog ${result.log}\nplot ${result.plot}\n`,
            );
          }
        } catch (err) {
          if (err instanceof PretrainError || err instanceof CheckpointError) throw new UserError(err.message);
          if (err instanceof RangeError) throw new UsageError(err.message);
          throw err;
        } finally {
          process.off('SIGINT', onSigint);
        }
      }),
    );
}
