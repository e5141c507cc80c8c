import { availableParallelism, loadavg } from 'node:os';
import type { Command } from 'commander';
import { BACKEND_NAMES, isBackendName } from '../train/backend.js';
import { BENCH_NETS, BENCH_STEPS_DEFAULT, BENCH_WARMUP_DEFAULT, benchSizeQuantum, benchTrain, type BenchNet } from '../train/bench.js';
import { action, parseIntOption, UsageError } from './errors.js';
import { startBackend, webgpuBackendOption } from './start-backend.js';

interface BenchTrainOptions {
  net: string;
  backend: string;
  steps: string;
  warmup: string;
  batch: string;
  size: string;
  seed: string;
  webgpuBackend?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('bench-train')
    .description('time training steps of a network on a TensorFlow.js backend (fixed random batch; reference: Adam 1e-3; nafnet-*: the MaskDCPT pre-training step of that network)')
    .option('--net <NET>', `network: ${BENCH_NETS.join(' | ')}`, 'reference')
    .option('--backend <B>', `backend: ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .addOption(webgpuBackendOption())
    .option('--steps <N>', 'measured steps (their median, mean and p90 are reported)', String(BENCH_STEPS_DEFAULT))
    .option('--warmup <N>', 'steps run first and not measured (V8 is still compiling during the first 20-40)', String(BENCH_WARMUP_DEFAULT))
    .option('--batch <N>', 'images per step', '16')
    .option('--size <PX>', 'square input side in pixels (even; a multiple of 16, the mask window, for the MaskDCPT nets)', '64')
    .option('--seed <N>', 'seed of the weights and the random batch', '0')
    .option('--json', 'print the result as JSON: {"backend", "ms_per_step", "images_per_s", ...}')
    .action(
      action(async (opts: BenchTrainOptions) => {
        if (!(BENCH_NETS as readonly string[]).includes(opts.net)) {
          throw new UsageError(`--net must be one of ${BENCH_NETS.join(', ')}, got "${opts.net}"`);
        }
        if (!isBackendName(opts.backend)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${opts.backend}"`);
        const steps = parseIntOption('--steps', opts.steps, 1, 100000);
        const warmup = parseIntOption('--warmup', opts.warmup, 0, 100000);
        const batch = parseIntOption('--batch', opts.batch, 1, 4096);
        const size = parseIntOption('--size', opts.size, 2, 4096);
        const multiple = benchSizeQuantum(opts.net as BenchNet);
        if (size % multiple) throw new UsageError(`--size must be a multiple of ${multiple} for --net ${opts.net} (its downsampling), got ${size}`);
        const seed = parseIntOption('--seed', opts.seed, 0, 2 ** 31 - 1);
        const choice = await startBackend(opts.backend, opts.webgpuBackend);
        const result = await benchTrain({ net: opts.net as BenchNet, steps, warmup, batch, size, seed });
        const [load1] = loadavg();
        if (opts.json) {
          const { backend, ms_per_step, images_per_s, ...rest } = result;
          const context = { backend_detail: choice.detail, cpus: availableParallelism(), load_avg_1m: Math.round(load1 * 100) / 100 };
          process.stdout.write(`${JSON.stringify({ backend, ms_per_step, images_per_s, ...rest, ...context })}\n`);
        } else {
          process.stdout.write(
            `${result.net} on ${result.backend} (${choice.detail}): ${result.ms_per_step} ms/step (mean ${result.mean_ms}, p90 ${result.p90_ms}), ${result.images_per_s} images/s, ` +
              `${result.cpu_ms_per_step} CPU-ms/step, ${result.parameters} parameters ` +
              `(median of ${steps} steps after ${warmup} warm-up; batch ${batch} at ${size}x${size}; ` +
              `loss ${result.loss_first.toFixed(3)} -> ${result.loss_last.toFixed(3)}; ${availableParallelism()} CPUs, load ${load1.toFixed(2)})\n`,
          );
        }
      }),
    );
}
