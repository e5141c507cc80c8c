import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_NAMES, isBackendName } from '../train/backend.js';
import { CheckpointError, readCheckpointInfo, type Json } from '../train/checkpoint.js';
import { openTrainingStream, type DataPosition, type Split } from '../train/data.js';
import { defaultSettings, pretrain, PretrainError, type BatchSource, type RunSettings } from '../train/pretrain.js';
import { defaultWarmup } from '../train/schedule.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';
import { startBackend, webgpuBackendOption } from './start-backend.js';

interface PretrainFlags {
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
  width: string;
  blocks: string;
  clsExpand: string;
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
const RUN_FLAGS = ['steps', 'batch', 'patch', 'maskRatio', 'method', 'seed', 'lr', 'width', 'blocks', 'clsExpand', 'warmup', 'weightDecay', 'lambda', 'types', 'levels', 'split', 'real'];

function parseNumber(name: string, value: string, lo: number, hi: number, loOpen = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (loOpen ? n <= lo : n < lo) || n > hi) {
    throw new UsageError(`${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got "${value}"`);
  }
  return n;
}

function parseList(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : null;
}

function parseBlocks(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const blocks = parts.map((p) => Number(p));
  if (parts.length < 2 || parts.length > 7 || blocks.some((b) => !Number.isInteger(b) || b < 0 || b > 64)) {
    throw new UsageError(`--blocks must list 2..7 integers 0..64 (encoder stages, then the middle), got "${value}"`);
  }
  return blocks;
}

function settingsFromFlags(flags: PretrainFlags): RunSettings {
  if (!flags.data) throw new UsageError('--data is required (a dataset directory made by uirgen synthesize)');
  const steps = parseIntOption('--steps', flags.steps, 1, 1e9);
  const method = flags.method;
  if (method !== 'maskdcpt' && method !== 'dcpt') throw new UsageError(`--method must be maskdcpt or dcpt, got "${method}"`);
  const blocks = parseBlocks(flags.blocks);
  const enc = blocks.slice(0, -1);
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
  const factor = 2 ** enc.length;
  if (patch % factor !== 0) {
    throw new UsageError(`--patch must be a multiple of ${factor} (the encoder downsamples ${enc.length} times), got ${patch}`);
  }
  return defaultSettings({
    method,
    steps,
    batch: parseIntOption('--batch', flags.batch, 1, 4096),
    patch,
    seed: flags.seed,
    maskRatio: parseNumber('--mask-ratio', flags.maskRatio, 0, 0.95),
    lr: parseNumber('--lr', flags.lr, 0, 1, true),
    warmup: flags.warmup === undefined ? defaultWarmup(steps) : parseIntOption('--warmup', flags.warmup, 0, steps),
    weightDecay: parseNumber('--weight-decay', flags.weightDecay, 0, 1),
    lambda: parseNumber('--lambda', flags.lambda, 0, 1000),
    net: {
      width: parseIntOption('--width', flags.width, 1, 512),
      encBlocks: enc,
      middleBlocks: blocks[blocks.length - 1],
      decBlocks: [...enc].reverse(),
      clsBlocks: 1,
      clsExpand: parseNumber('--cls-expand', flags.clsExpand, 0, 8, true),
    },
    data: data as unknown as Json,
  });
}

/** `uirgen pretrain`: MaskDCPT (or DCPT) pre-training on a uirgen dataset, streamed from its shards. */
export function register(program: Command): void {
  program
    .command('pretrain')
    .description('MaskDCPT pre-training (masked degradation classification + reconstruction) on a dataset')
    .option('--data <DS>', 'dataset directory (manifest.sqlite + shards/)')
    .requiredOption('--out <CKPT>', 'checkpoint directory: model.json + weights, log.jsonl, loss.svg')
    .option('--steps <N>', 'training steps', '10000')
    .option('--batch <B>', 'images per step', '16')
    .option('--patch <P>', 'square crop side in pixels (a multiple of the encoder downsampling, 8 by default)', '64')
    .option('--mask-ratio <R>', 'fraction of patches masked (maskdcpt)', '0.5')
    .option('--backend <B>', `TensorFlow.js backend: ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .addOption(webgpuBackendOption())
    .option('--method <M>', 'maskdcpt | dcpt (no mask, classification only)', 'maskdcpt')
    .option('--resume', 'continue the checkpoint in --out (its settings are used)')
    .option('--seed <S>', 'seed of the weights, masks and data order', '0')
    .option('--lr <LR>', 'peak learning rate (AdamW; cosine decay after a linear warm-up)', '1e-3')
    .option('--width <C>', 'encoder width (channels after the intro conv)', '16')
    .option('--blocks <LIST>', 'NAF blocks per encoder stage, then the middle blocks', '1,1,1,1')
    .option('--cls-expand <X>', 'classifier bottleneck width / feature channels (the released code uses 2)', '1')
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
      '\nThe encoder is a NAFNet U-Net encoder; the LQ input is cut into patches of its total downsampling\n' +
        '(8 with the default --blocks) and --mask-ratio of them are zeroed. Ctrl-C stops after the current step\n' +
        'and writes a checkpoint; --resume continues it exactly (same loss curve as an uninterrupted run).',
    )
    .action(
      action(async (flags: PretrainFlags, cmd: Command) => {
        if (!isBackendName(flags.backend)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${flags.backend}"`);
        const checkpointEvery = parseIntOption('--checkpoint-every', flags.checkpointEvery, 1);
        const logEvery = parseIntOption('--log-every', flags.logEvery, 1);
        const workers = flags.workers === undefined ? undefined : parseIntOption('--workers', flags.workers, 1, 64);
        const out = resolve(flags.out);

        let settings: RunSettings;
        let dataset: string | undefined;
        if (flags.resume) {
          const changed = RUN_FLAGS.filter((k) => cmd.getOptionValueSource(k) === 'cli');
          if (changed.length) {
            throw new UsageError(`--resume continues the run with its own settings; leave out ${changed.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
          }
          try {
            settings = (await readCheckpointInfo(out)).run as unknown as RunSettings;
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
        const backendName = (await startBackend(flags.backend, flags.webgpuBackend)).name;

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
