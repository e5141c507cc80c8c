import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  BenchmarkError,
  DEFAULT_SIGMAS,
  loadItem,
  pairFolders,
  recognizeBenchmark,
  TASKS,
  type BenchmarkSet,
  type Task,
} from '../pipeline/benchmarks.js';
import { BACKEND_NAMES, isBackendName } from '../train/backend.js';
import { CheckpointError, readCheckpointInfo } from '../train/checkpoint.js';
import { loadCheckpointRestorer, type CheckpointRestorerOptions } from '../train/checkpoint-restorer.js';
import { datasetSets, EvalDataError } from '../train/eval-data.js';
import { evaluate, type EvalReport, type EvalSet, type Means } from '../train/evaluate.js';
import { identityRestorer, type Restorer } from '../train/restorer.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';
import { startBackend, webgpuBackendOption } from './start-backend.js';
import { addTilingOptions, tilingFromFlags, type TilingFlags } from './tiling-options.js';

interface EvalFlags extends TilingFlags {
  model: string;
  lq?: string;
  gt?: string;
  bench: string[];
  data?: string;
  split: string;
  sigma?: string;
  task?: string;
  save?: string;
  yChannel?: boolean;
  cropBorder: string;
  piqe?: boolean;
  backend: string;
  webgpuBackend?: string;
  json?: boolean;
}

export const IDENTITY_MODEL = 'identity';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parseSigmas(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((s) => s.trim());
  const sigmas = parts.map(Number);
  if (parts.some((p) => p === '') || sigmas.some((s) => !Number.isFinite(s) || s < 0 || s > 255)) {
    throw new UsageError(`--sigma must list numbers in 0..255 (of 255), e.g. 15,25,50, got "${value}"`);
  }
  return sigmas;
}

/** `NAME=DIR` or a bare `DIR` (named after its folder). */
function parseBench(spec: string): { name?: string; dir: string } {
  const eq = spec.indexOf('=');
  if (eq > 0 && !spec.slice(0, eq).includes('/')) {
    const name = spec.slice(0, eq);
    const dir = spec.slice(eq + 1);
    if (!dir) throw new UsageError(`--bench ${spec}: the folder after "=" is missing`);
    return { name, dir };
  }
  return { dir: spec };
}

function toEvalSet(set: BenchmarkSet): EvalSet {
  return { name: set.name, task: set.task, items: set.items.map((item) => ({ name: item.name, load: () => loadItem(set, item) })) };
}

async function gatherSets(flags: EvalFlags): Promise<{ sets: EvalSet[]; unmatched: string[] }> {
  const sources = [flags.lq !== undefined, flags.bench.length > 0, flags.data !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('give exactly one of --lq DIR [--gt DIR], --bench NAME=DIR ..., --data DS');
  if (flags.gt !== undefined && flags.lq === undefined) throw new UsageError('--gt needs --lq');
  if (flags.task !== undefined && !(TASKS as readonly string[]).includes(flags.task)) {
    throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got "${flags.task}"`);
  }
  const task = flags.task as Task | undefined;
  const sigmas = parseSigmas(flags.sigma);
  try {
    if (flags.data !== undefined) return { sets: datasetSets(flags.data, flags.split), unmatched: [] };
    const found: BenchmarkSet[] = [];
    if (flags.lq !== undefined) {
      found.push(await pairFolders(flags.lq, flags.gt ?? null, task ? { task } : {}));
    } else {
      for (const spec of flags.bench) {
        const { name, dir } = parseBench(spec);
        found.push(...(await recognizeBenchmark(dir, { ...(name ? { name } : {}), ...(task ? { task } : {}), ...(sigmas ? { sigmas } : {}) })));
      }
    }
    const names = found.map((s) => s.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new UsageError(`two sets are named "${twice}"; name them apart with --bench NAME=DIR`);
    return { sets: found.map(toEvalSet), unmatched: found.flatMap((s) => s.unmatched) };
  } catch (err) {
    if (err instanceof BenchmarkError || err instanceof EvalDataError) throw new UserError(err.message);
    throw err;
  }
}

async function openRestorer(model: string, backend: string, webgpuBackend: string | undefined, options: CheckpointRestorerOptions): Promise<Restorer> {
  if (model === IDENTITY_MODEL) return identityRestorer();
  const dir = resolve(model);
  try {
    await readCheckpointInfo(dir); // a wrong --model is reported before a backend is started
  } catch (err) {
    if (err instanceof CheckpointError) throw new UserError(`${err.message} (--model takes a checkpoint directory or "${IDENTITY_MODEL}")`);
    throw err;
  }
  if (!isBackendName(backend)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${backend}"`);
  await startBackend(backend, webgpuBackend);
  try {
    return await loadCheckpointRestorer(dir, options);
  } catch (err) {
    if (err instanceof CheckpointError) throw new UserError(err.message);
    if (err instanceof RangeError) throw new UsageError(`--tile/--overlap: ${err.message}`);
    throw err;
  }
}

const num = (v: number | null, digits: number): string => (v === null ? '-' : Number.isFinite(v) ? v.toFixed(digits) : 'inf');
/** JSON has no Infinity: identical images (PSNR inf) are written as null, like `uirgen metrics`. */
const finite = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : v);
const jsonMeans = (m: Means): Means => ({ psnr: finite(m.psnr), ssim: m.ssim, piqe: m.piqe });

function table(report: EvalReport): string {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lpad = (s: string, n: number): string => s.padStart(n);
  const w = Math.max(8, ...report.sets.map((s) => s.name.length), ...report.tasks.map((t) => t.task.length)) + 2;
  const row = (a: string, b: string, n: string, m: Means): string =>
    `${pad(a, w)}${pad(b, 10)}${lpad(n, 7)}${lpad(num(m.psnr, 2), 9)}${lpad(num(m.ssim, 4), 9)}${lpad(num(m.piqe, 2), 9)}\n`;
  let out = `${pad('set', w)}${pad('task', 10)}${lpad('images', 7)}${lpad('PSNR', 9)}${lpad('SSIM', 9)}${lpad('PIQE', 9)}\n`;
  for (const s of report.sets) out += row(s.name, s.task, String(s.images.length), s);
  out += `\n${pad('task', w)}${pad('', 10)}${lpad('sets', 7)}${lpad('PSNR', 9)}${lpad('SSIM', 9)}${lpad('PIQE', 9)}\n`;
  for (const t of report.tasks) out += row(t.task, '', String(t.sets.length), t);
  out += row('mean', '', String(report.sets.length), report.mean);
  return out;
}

/** `uirgen eval`: restore benchmark images with a model and report PSNR / SSIM (and PIQE without gt). */
export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate a restoration model on benchmarks: PSNR / SSIM as BasicSR, PIQE where there is no ground truth')
    .requiredOption('--model <CKPT>', `checkpoint directory (model.json), or "${IDENTITY_MODEL}" to measure the inputs themselves`)
    .option('--lq <DIR>', 'degraded images')
    .option('--gt <DIR>', 'their ground truths, paired by name (without --gt: PIQE only)')
    .option('--bench <NAME=DIR>', 'a benchmark folder, layout recognised (repeatable; NAME defaults to the folder name)', collect, [])
    .option('--data <DS>', 'a uirgen dataset: its --split samples, one set per degradation type')
    .option('--split <S>', 'split of --data', 'test')
    .option('--sigma <LIST>', `Gaussian noise sigmas (of 255) for clean-only denoising folders (default ${DEFAULT_SIGMAS.join(',')}; a bench.json sets its own)`)
    .option('--task <T>', `the task of --lq/--bench sets when their names do not tell it: ${TASKS.join(' | ')}`)
    .option('--save <OUTDIR>', 'write the restored images as PNG: OUTDIR/<set>/<input name>.png')
    .option('--y-channel', 'measure the Y channel of YCbCr (BasicSR test_y_channel)')
    .option('--crop-border <N>', 'pixels dropped from every edge before measuring', '0')
    .option('--piqe', 'PIQE of every restored image, also where there is ground truth');
  addTilingOptions(cmd, 'restore in tiles of this side (a multiple of the network\'s downsampling), as `uirgen restore`')
    .option('--backend <B>', `TensorFlow.js backend: ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .addOption(webgpuBackendOption())
    .option('--json', 'print the report as JSON: per set and mean psnr / ssim / piqe, and per image')
    .addHelpText(
      'after',
      '\nLayouts known by --bench (point at the folder): Rain100L (rainy/ + norain/, rain-001 / norain-001),\n' +
        'SOTS outdoor (hazy/ + gt/, 0001_0.8_0.2.jpg -> 0001.png), LOL (low/ + high/), GoPro (<seq>/blur/ +\n' +
        '<seq>/sharp/, or input/ + groundtruth/), and clean-only folders (CBSD68, Kodak) for Gaussian denoising:\n' +
        'for each image np.random.seed(0), then normal(0, sigma/255) added to the float image and clipped, as\n' +
        "MaskDCPT's test code does. A folder made by `uirgen bench build` lists its sets in bench.json.\n" +
        'PSNR / SSIM per image on the 8-bit output (the numbers `uirgen metrics` gives for the saved PNG),\n' +
        'averaged per set; per task the mean of its sets; "mean" over all sets.',
    )
    .action(
      action(async (flags: EvalFlags) => {
        const cropBorder = parseIntOption('--crop-border', flags.cropBorder, 0, 1000);
        const tiling = tilingFromFlags(flags);
        const { sets, unmatched } = await gatherSets(flags);
        if (unmatched.length) process.stderr.write(`uirgen: ${unmatched.length} degraded image(s) without a ground truth left out, e.g. ${unmatched[0]}\n`);
        const restorer = await openRestorer(flags.model, flags.backend, flags.webgpuBackend, tiling);
        let last = 0;
        let report: EvalReport;
        try {
          report = await evaluate(restorer, sets, {
            metrics: { crop_border: cropBorder, test_y_channel: flags.yChannel === true },
            ...(flags.save ? { save: resolve(flags.save) } : {}),
            piqeAlways: flags.piqe === true,
            onImage({ set, index, total }) {
              const now = performance.now();
              if (index + 1 === total || now - last > 5000) {
                last = now;
                process.stderr.write(`eval ${set} ${index + 1}/${total}\n`);
              }
            },
          });
        } catch (err) {
          if (err instanceof RangeError && /crop_border/.test(err.message)) throw new UsageError(err.message.replace('crop_border', '--crop-border'));
          throw err;
        } finally {
          restorer.dispose();
        }
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({
              model: report.restorer,
              metrics: report.metrics,
              sets: report.sets.map((s) => ({
                name: s.name,
                task: s.task,
                count: s.images.length,
                ...jsonMeans(s),
                images: s.images.map((i) => ({ name: i.name, psnr: finite(i.psnr), ssim: i.ssim, piqe: i.piqe, saved: i.saved })),
              })),
              tasks: report.tasks.map((t) => ({ task: t.task, sets: t.sets, ...jsonMeans(t) })),
              mean: jsonMeans(report.mean),
            })}\n`,
          );
        } else {
          process.stdout.write(`model ${report.restorer}\n${table(report)}`);
        }
      }),
    );
}
