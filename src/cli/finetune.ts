import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_NAMES, isBackendName } from '../train/backend.js';
import { CheckpointError, readCheckpointInfo, type Json } from '../train/checkpoint.js';
import { openTrainingStream, type DataPosition, type Split } from '../train/data.js';
import { DEFAULT_EMA_DECAY } from '../train/ema.js';
import { DEFAULT_SPN, defaultFinetuneSettings, finetune, FinetuneError, type FinetuneSettings, type InitSource } from '../train/finetune-run.js';
import type { BatchSource } from '../train/pretrain.js';
import { defaultWarmup } from '../train/schedule.js';
import { WeightsIoError } from '../train/torch/weights.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';
import { addNetOptions, NET_FLAG_KEYS, netFromFlags, type NetFlags } from './net-options.js';
import { parseList, parseNumber } from './pretrain.js';
import { startBackend } from './start-backend.js';

interface FinetuneFlags extends NetFlags {
  data?: string;
  out: string;
  init?: string;
  initWeights?: string;
  steps: string;
  batch: string;
  patch: string;
  lr: string;
  warmup?: string;
  weightDecay: string;
  emaDecay: string;
  spn?: boolean;
  spnWeight: string;
  spnEvery: string;
  spnDecay: string;
  seed: string;
  types?: string;
  levels?: string;
  split?: string;
  real?: boolean;
  workers?: string;
  resume?: boolean;
  backend: string;
  checkpointEvery: string;
  logEvery: string;
  json?: boolean;
}

interface DataSettings {
  dataset: string;
  types: string[] | null;
  levels: string[] | null;
  split: Split | null;
  real: boolean | null;
}

/** Flags that define the run: with --resume they come from the checkpoint. */
const RUN_FLAGS = ['init', 'initWeights', 'steps', 'batch', 'patch', 'lr', 'warmup', 'weightDecay', 'emaDecay', 'spn', 'spnWeight', 'spnEvery', 'spnDecay', 'seed', 'types', 'levels', 'split', 'real', ...NET_FLAG_KEYS];

function settingsFromFlags(flags: FinetuneFlags): FinetuneSettings {
  if (!flags.data) throw new UsageError('--data is required (a dataset directory made by uirgen synthesize)');
  if (flags.init && flags.initWeights) throw new UsageError('give --init CKPT or --init-weights FILE, not both');
  const steps = parseIntOption('--steps', flags.steps, 1, 1e9);
  const split = flags.split;
  if (split !== undefined && split !== 'train' && split !== 'val' && split !== 'test') throw new UsageError(`--split must be train, val or test, got "${split}"`);
  const data: DataSettings = { dataset: resolve(flags.data), types: parseList(flags.types), levels: parseList(flags.levels), split: split ?? null, real: flags.real ?? null };
  const init: InitSource = flags.init ? { checkpoint: resolve(flags.init) } : flags.initWeights ? { weights: resolve(flags.initWeights) } : null;
  return defaultFinetuneSettings({
    steps,
    batch: parseIntOption('--batch', flags.batch, 1, 4096),
    patch: parseIntOption('--patch', flags.patch, 1, 4096),
    seed: flags.seed,
    lr: parseNumber('--lr', flags.lr, 0, 1, true),
    warmup: flags.warmup === undefined ? defaultWarmup(steps) : parseIntOption('--warmup', flags.warmup, 0, steps),
    weightDecay: parseNumber('--weight-decay', flags.weightDecay, 0, 1),
    emaDecay: parseNumber('--ema-decay', flags.emaDecay, 0, 0.999999),
    spn: flags.spn
      ? {
          weight: parseNumber('--spn-weight', flags.spnWeight, 0, 100),
          every: parseIntOption('--spn-every', flags.spnEvery, 1, 1e9),
          decay: parseNumber('--spn-decay', flags.spnDecay, 0, 0.999999),
        }
      : null,
    net: netFromFlags(flags),
    init,
    data: data as unknown as Json,
  });
}

/** `uirgen finetune`: all-in-one fine-tuning of the restoration network on a dataset's pairs. */
export function register(program: Command): void {
  const cmd = program
    .command('finetune')
    .description('fine-tune the restoration network (NAFNet, no mask) on all degradation types together, from pre-trained weights or from scratch')
    .option('--data <DS>', 'dataset directory (manifest.sqlite + shards/)')
    .requiredOption('--out <CKPT>', 'checkpoint directory: model.json + weights, log.jsonl, loss.svg')
    .option('--init <CKPT>', 'start from this checkpoint\'s restoration network (pretrain --out: encoder and decoder; or any uirgen checkpoint)')
    .option('--init-weights <FILE>', 'start from PyTorch NAFNet weights (.pth or .safetensors, e.g. a published MaskDCPT model)');
  addNetOptions(cmd, 'nafnet-tiny')
    .option('--steps <N>', 'training steps', '10000')
    .option('--batch <B>', 'images per step', '16')
    .option('--patch <P>', 'square crop side in pixels (a multiple of the network\'s downsampling)', '64')
    .option('--lr <LR>', 'peak learning rate (AdamW; cosine decay after a linear warm-up)', '1e-3')
    .option('--warmup <N>', 'warm-up steps (default 5% of --steps, at most 1000)')
    .option('--weight-decay <W>', 'AdamW decoupled weight decay', '0')
    .option('--ema-decay <D>', 'EMA decay of the weights (0: no EMA); eval and export use the EMA', String(DEFAULT_EMA_DECAY))
    .option('--spn', "add MCLIR's Self-Prior guided Negative loss (an earlier state of the model as the negative)")
    .option('--spn-weight <W>', 'weight of the negative term', String(DEFAULT_SPN.weight))
    .option('--spn-every <N>', 'steps between refreshes of the negative (MCLIR neg_iter)', String(DEFAULT_SPN.every))
    .option('--spn-decay <D>', 'share of the old negative kept at a refresh (MCLIR neg_decay)', String(DEFAULT_SPN.decay))
    .option('--seed <S>', 'seed of the initial weights (from scratch) and the data order', '0')
    .option('--types <IDS>', 'only these degradation types (comma-separated)')
    .option('--levels <IDS>', 'only these levels (comma-separated level ids or indices)')
    .option('--split <S>', 'train | val | test')
    .option('--real', 'only real (captured) pairs')
    .option('--workers <N>', 'loader threads')
    .option('--resume', 'continue the checkpoint in --out (its settings are used)')
    .option('--backend <B>', `TensorFlow.js backend: ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .option('--checkpoint-every <N>', 'steps between checkpoints (one is always written at the end)', '500')
    .option('--log-every <N>', 'steps between log.jsonl lines', '1')
    .option('--json', 'print a JSON summary at the end')
    .addHelpText(
      'after',
      '\nLoss: L1(output, gt); with --spn minus --spn-weight times the mean absolute difference between the output\n' +
        "and the negative model's output (MCLIR measures that distance with VGG features; uirgen, offline, in pixels).\n" +
        'With --init or --init-weights the network is the initial weights\' and the --net flags are not used.\n' +
        'Ctrl-C stops after the current step and writes a checkpoint; --resume continues it exactly.',
    )
    .action(
      action(async (flags: FinetuneFlags, command: Command) => {
        if (!isBackendName(flags.backend)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${flags.backend}"`);
        const checkpointEvery = parseIntOption('--checkpoint-every', flags.checkpointEvery, 1);
        const logEvery = parseIntOption('--log-every', flags.logEvery, 1);
        const workers = flags.workers === undefined ? undefined : parseIntOption('--workers', flags.workers, 1, 64);
        const out = resolve(flags.out);
        let settings: FinetuneSettings;
        let dataset: string | undefined;
        if (flags.resume) {
          const changed = RUN_FLAGS.filter((k) => command.getOptionValueSource(k) === 'cli');
          if (changed.length) throw new UsageError(`--resume continues the run with its own settings; leave out ${changed.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
          try {
            const info = await readCheckpointInfo(out);
            if (info.kind !== 'finetune') throw new UserError(`${out} holds a ${info.kind} checkpoint, not a fine-tuning run to --resume`);
            settings = info.run as unknown as FinetuneSettings;
          } catch (err) {
            if (err instanceof CheckpointError) throw new UserError(err.message);
            throw err;
          }
          dataset = flags.data ? resolve(flags.data) : undefined;
        } else {
          settings = settingsFromFlags(flags);
          const init = settings.init;
          if (init && 'checkpoint' in init && !existsSync(join(init.checkpoint, 'model.json'))) throw new UserError(`--init ${init.checkpoint}: no checkpoint there (model.json missing)`);
          if (init && 'weights' in init && !existsSync(init.weights)) throw new UserError(`--init-weights ${init.weights}: file not found`);
        }
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
          const result = await finetune({
            out,
            settings,
            resume: flags.resume === true,
            checkpointEvery,
            logEvery,
            signal: abort.signal,
            progress: process.stderr,
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
          const summary = {
            backend: backendName,
            steps: result.steps,
            started_at: result.startedAt,
            interrupted: result.interrupted,
            init: result.settings.init,
            spn: result.settings.spn,
            parameters: result.parameters,
            first_l1: result.first?.l1 ?? null,
            last_l1: result.last?.l1 ?? null,
            images_per_s: Math.round(result.imagesPerSecond * 100) / 100,
            checkpoint: result.checkpoint,
            log: result.log,
            plot: result.plot,
          };
          if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
          else {
            const what = result.interrupted ? `stopped at step ${result.steps}/${result.settings.steps}` : `${result.steps} steps`;
            const from = result.settings.init ? ('checkpoint' in result.settings.init ? `from ${result.settings.init.checkpoint}` : `from ${result.settings.init.weights}`) : 'from scratch';
            process.stdout.write(
              `finetune ${from} on ${backendName}: ${what}, ${result.parameters} parameters, ${result.imagesPerSecond.toFixed(1)} images/s\n` +
                (result.last ? `L1 ${result.first?.l1.toFixed(4)} at the first step, ${result.last.l1.toFixed(4)} at the last\n` : '') +
                `checkpoint ${result.checkpoint}\nlog ${result.log}\nplot ${result.plot}\n`,
            );
          }
        } catch (err) {
          if (err instanceof FinetuneError || err instanceof CheckpointError || err instanceof WeightsIoError) throw new UserError(err.message);
          if (err instanceof RangeError) throw new UsageError(err.message);
          throw err;
        } finally {
          process.off('SIGINT', onSigint);
        }
      }),
    );
}
