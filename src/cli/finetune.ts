import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_NAMES } from '../train/backend.js';
import { CheckpointError, type Json } from '../train/checkpoint.js';
import { DEFAULT_EMA_DECAY } from '../train/ema.js';
import { DEFAULT_SPN, defaultFinetuneSettings, finetune, FinetuneError, type FinetuneSettings, type InitSource } from '../train/finetune-run.js';
import { defaultWarmup } from '../train/schedule.js';
import { WeightsIoError } from '../train/torch/weights.js';
import { action, parseIntOption, parseNumberOption, UsageError, UserError } from './errors.js';
import { addNetOptions, NET_FLAG_KEYS, netFromFlags, type NetFlags } from './net-options.js';
import { startBackend, webgpuBackendOption } from './start-backend.js';
import {
  addDataAndRunOptions,
  dataSettingsFromFlags,
  openDataStream,
  prepareRun,
  withInterrupt,
} from './training-run.js';

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
  webgpuBackend?: string;
  checkpointEvery: string;
  logEvery: string;
  json?: boolean;
}

/** Flags that define the run: with --resume they come from the checkpoint. */
const RUN_FLAGS = ['init', 'initWeights', 'steps', 'batch', 'patch', 'lr', 'warmup', 'weightDecay', 'emaDecay', 'spn', 'spnWeight', 'spnEvery', 'spnDecay', 'seed', 'types', 'levels', 'split', 'real', ...NET_FLAG_KEYS];

function settingsFromFlags(flags: FinetuneFlags): FinetuneSettings {
  const data = dataSettingsFromFlags(flags);
  if (flags.init && flags.initWeights) throw new UsageError('give --init CKPT or --init-weights FILE, not both');
  const steps = parseIntOption('--steps', flags.steps, 1, 1e9);
  const init: InitSource = flags.init ? { checkpoint: resolve(flags.init) } : flags.initWeights ? { weights: resolve(flags.initWeights) } : null;
  return defaultFinetuneSettings({
    steps,
    batch: parseIntOption('--batch', flags.batch, 1, 4096),
    patch: parseIntOption('--patch', flags.patch, 1, 4096),
    seed: flags.seed,
    lr: parseNumberOption('--lr', flags.lr, 0, 1, true),
    warmup: flags.warmup === undefined ? defaultWarmup(steps) : parseIntOption('--warmup', flags.warmup, 0, steps),
    weightDecay: parseNumberOption('--weight-decay', flags.weightDecay, 0, 1),
    emaDecay: parseNumberOption('--ema-decay', flags.emaDecay, 0, 0.999999),
    spn: flags.spn
      ? {
          weight: parseNumberOption('--spn-weight', flags.spnWeight, 0, 100),
          every: parseIntOption('--spn-every', flags.spnEvery, 1, 1e9),
          decay: parseNumberOption('--spn-decay', flags.spnDecay, 0, 0.999999),
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
    .option('--resume', 'continue the checkpoint in --out (its settings are used)')
    .option('--backend <B>', `TensorFlow.js backend: ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .addOption(webgpuBackendOption());
  addDataAndRunOptions(cmd)
    .addHelpText(
      'after',
      '\nLoss: L1(output, gt); with --spn minus --spn-weight times the mean absolute difference between the output\n' +
        "and the negative model's output (MCLIR measures that distance with VGG features; uirgen, offline, in pixels).\n" +
        'With --init or --init-weights the network is the initial weights\' and the --net flags are not used.\n' +
        'Ctrl-C stops after the current step and writes a checkpoint; --resume continues it exactly.',
    )
    .action(
      action(async (flags: FinetuneFlags, command: Command) => {
        const { backend, out, settings, dataset, checkpointEvery, logEvery, workers } = await prepareRun<FinetuneSettings>(
          flags,
          command,
          { kind: 'finetune', what: 'a fine-tuning run', runFlags: RUN_FLAGS },
          () => {
            const fresh = settingsFromFlags(flags);
            const init = fresh.init;
            if (init && 'checkpoint' in init && !existsSync(join(init.checkpoint, 'model.json'))) throw new UserError(`--init ${init.checkpoint}: no checkpoint there (model.json missing)`);
            if (init && 'weights' in init && !existsSync(init.weights)) throw new UserError(`--init-weights ${init.weights}: file not found`);
            return fresh;
          },
        );
        const backendName = (await startBackend(backend, flags.webgpuBackend)).name;
        try {
          const result = await withInterrupt((signal) => finetune({
            out,
            settings,
            resume: flags.resume === true,
            checkpointEvery,
            logEvery,
            signal,
            progress: process.stderr,
            openSource: (s, position) => openDataStream(s, position, dataset, workers),
          }));
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
        }
      }),
    );
}
