import type { Command } from 'commander';
import { BACKEND_NAMES } from '../train/backend.js';
import { CheckpointError, type Json } from '../train/checkpoint.js';
import { DEFAULT_FOCAL_GAMMA } from '../train/losses.js';
import { DEFAULT_EMA_DECAY } from '../train/ema.js';
import { MASKDCPT_DEFAULTS, patchQuantum } from '../train/models/maskdcpt-net.js';
import { defaultSettings, pretrain, PretrainError, type RunSettings } from '../train/pretrain.js';
import { defaultWarmup } from '../train/schedule.js';
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

interface PretrainFlags extends NetFlags {
  data?: string;
  out: string;
  steps: string;
  batch: string;
  patch: string;
  maskRatio: string;
  backend: string;
  webgpuBackend?: string;
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

/** Flags that define the run: with --resume they come from the checkpoint and may not be changed. */
const RUN_FLAGS = [
  'steps', 'batch', 'patch', 'maskRatio', 'method', 'seed', 'lr', ...NET_FLAG_KEYS, 'maskWindow', 'clsBlocks', 'clsExpand',
  'clsLoss', 'focalGamma', 'emaDecay', 'dcptL1', 'warmup', 'weightDecay', 'lambda', 'types', 'levels', 'split', 'real',
];

function settingsFromFlags(flags: PretrainFlags): RunSettings {
  const data = dataSettingsFromFlags(flags);
  const steps = parseIntOption('--steps', flags.steps, 1, 1e9);
  const method = flags.method;
  if (method !== 'maskdcpt' && method !== 'dcpt') throw new UsageError(`--method must be maskdcpt or dcpt, got "${method}"`);
  const nafnet = netFromFlags(flags);
  const patch = parseIntOption('--patch', flags.patch, 1, 4096);
  const maskRatio = parseNumberOption('--mask-ratio', flags.maskRatio, 0, 0.95);
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
  const dcptL1 = parseNumberOption('--dcpt-l1', flags.dcptL1, 0, 1000);
  if (dcptL1 > 0 && method !== 'dcpt') throw new UsageError('--dcpt-l1 is the DCPT pixel path: use it with --method dcpt');
  return defaultSettings({
    method,
    steps,
    batch: parseIntOption('--batch', flags.batch, 1, 4096),
    patch,
    seed: flags.seed,
    maskRatio,
    lr: parseNumberOption('--lr', flags.lr, 0, 1, true),
    warmup: flags.warmup === undefined ? defaultWarmup(steps) : parseIntOption('--warmup', flags.warmup, 0, steps),
    weightDecay: parseNumberOption('--weight-decay', flags.weightDecay, 0, 1),
    lambda: parseNumberOption('--lambda', flags.lambda, 0, 1000),
    clsLoss,
    focalGamma: parseNumberOption('--focal-gamma', flags.focalGamma, 0, 10),
    emaDecay: parseNumberOption('--ema-decay', flags.emaDecay, 0, 0.999999),
    dcptL1,
    net: {
      ...nafnet,
      maskWindow,
      clsBlocks: parseIntOption('--cls-blocks', flags.clsBlocks, 1, 16),
      clsExpand: parseNumberOption('--cls-expand', flags.clsExpand, 0, 8, true),
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
    .addOption(webgpuBackendOption())
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
    .option('--lambda <L>', 'weight of the classification loss', '1');
  addDataAndRunOptions(cmd)
    .addHelpText(
      'after',
      '\nThe network is a NAFNet U-Net of masked NAF blocks (MaskDCPT\'s MaskNAFNetBaseline); the LQ input is cut\n' +
        'into --mask-window patches and --mask-ratio of them are hidden. Its ending conv restores the clean image\n' +
        '(L1) and PromptIR_NoImg_DC classifies the degradation from the decoder stages (focal loss). Ctrl-C stops\n' +
        'after the current step and writes a checkpoint; --resume continues it exactly (same loss curve).',
    )
    .action(
      action(async (flags: PretrainFlags, command: Command) => {
        const { backend, out, settings, dataset, checkpointEvery, logEvery, workers } = await prepareRun<RunSettings>(
          flags,
          command,
          { kind: 'pretrain', what: 'a pre-training run', runFlags: RUN_FLAGS },
          () => settingsFromFlags(flags),
        );
        const backendName = (await startBackend(backend, flags.webgpuBackend)).name;

        try {
          const result = await withInterrupt((signal) => pretrain({
            out,
            settings,
            resume: flags.resume === true,
            checkpointEvery,
            logEvery,
            signal,
            openSource: (s, position) => openDataStream(s, position, dataset, workers),
          }));
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
        }
      }),
    );
}
