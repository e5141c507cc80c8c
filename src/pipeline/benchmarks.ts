import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Image } from '../core/image.js';
import { decodeImage } from '../core/io.js';
import { seededGaussianNoise } from '../core/numpy-random.js';
import { classify, matchPairs, type Classified } from './pairs.js';
import { walkSources } from './sources.js';

/**
 * The standard restoration test sets, recognised by pointing at their folder:
 *
 * | layout   | task     | what is on disk                                                                   |
 * |----------|----------|-----------------------------------------------------------------------------------|
 * | rain100l | derain   | rainy/ + norain/ (or input/ + target/), rain-001.png / norain-001.png             |
 * | sots     | dehaze   | hazy/ + gt/ (or clear/), hazy 0001_0.8_0.2.jpg -> gt 0001.png                     |
 * | lol      | lowlight | low/ + high/ (LOL-v1 eval15), or LOL-v2 low00001 / normal00001                     |
 * | gopro    | deblur   | <sequence>/blur/ + <sequence>/sharp/ per sequence, or input/ + groundtruth/target/ |
 * | clean    | denoise  | clean images only (CBSD68, Kodak24, McMaster, Urban100): noise added at test time |
 * | paired   | (named)  | any other lq/gt folder pair that pairs.ts matches                                  |
 * | nogt     | (named)  | degraded images only (real captures): no-reference PIQE                            |
 *
 * Matching is pairs.ts, the same rules `uirgen import` uses. Denoising sets get their noise the way the
 * all-in-one papers' test code adds it (MaskDCPT's BasicSR PairedImageDenoiseDataset): for each image
 * `np.random.seed(0)` then `normal(0, sigma / 255)` on the float image, clipped, never quantized.
 *
 * A benchmark folder made by `uirgen bench build` carries a `bench.json` naming its sets, their tasks and
 * sigmas; pointing at that folder yields all of them.
 */

export type Task = 'denoise' | 'derain' | 'dehaze' | 'deblur' | 'lowlight' | 'restore';
export const TASKS: readonly Task[] = ['denoise', 'derain', 'dehaze', 'deblur', 'lowlight', 'restore'];
export type LayoutId = 'rain100l' | 'sots' | 'lol' | 'gopro' | 'clean' | 'paired' | 'nogt';

/** The sigmas the denoising benchmarks are reported at (of 255). */
export const DEFAULT_SIGMAS: readonly number[] = [15, 25, 50];
/** np.random.seed of the denoising protocol. */
export const DENOISE_SEED = 0;
export const BENCH_FILE = 'bench.json';
export const BENCH_FORMAT = 'uirgen-benchmark';

export interface BenchmarkItem {
  /** The input's path relative to the set's root, '/'-separated: how results are named and saved. */
  name: string;
  /** The degraded image; null for a clean-only denoising set (made from gt at load time). */
  lq: string | null;
  /** The ground truth; null for a set without one. */
  gt: string | null;
}

export interface BenchmarkSet {
  name: string;
  task: Task;
  layout: LayoutId;
  root: string;
  /** Gaussian noise sigma (of 255) of a clean-only denoising set; null otherwise. */
  sigma: number | null;
  items: BenchmarkItem[];
  /** Degraded images without a ground truth, in a set that has ground truths (reported, not measured). */
  unmatched: string[];
}

export interface LoadedItem {
  lq: Image;
  gt: Image | null;
}

export class BenchmarkError extends Error {
  override name = 'BenchmarkError';
}

/** Role folder or naming convention -> the task it means; absent = says nothing about the task. */
const TASK_OF_MARKER: Record<string, Task> = {
  rain: 'derain',
  rainy: 'derain',
  rain100: 'derain',
  raindrop: 'derain',
  hazy: 'dehaze',
  haze: 'dehaze',
  reside: 'dehaze',
  low: 'lowlight',
  'lol-v2': 'lowlight',
  blur: 'deblur',
  blur_gamma: 'deblur',
  noisy: 'denoise',
  sidd: 'denoise',
};

/** Words in a set's name or folder that tell its task where the files do not (input/ + target/). */
const TASK_HINTS: Array<[RegExp, Task]> = [
  [/rain/i, 'derain'],
  [/sots|reside|haz[ey]|fog|ots\b/i, 'dehaze'],
  [/lol|low.?light|dark|exdark|lime|mef|npe|dicm|vv\b/i, 'lowlight'],
  [/gopro|hide|realblur|blur/i, 'deblur'],
  [/bsd|kodak|mcmaster|urban|set12|noise|denois|sidd|dnd/i, 'denoise'],
];

const LAYOUT_OF_TASK: Record<Task, LayoutId> = {
  derain: 'rain100l',
  dehaze: 'sots',
  lowlight: 'lol',
  deblur: 'gopro',
  denoise: 'paired',
  restore: 'paired',
};

function hintedTask(...names: string[]): Task | null {
  for (const name of names) for (const [pattern, task] of TASK_HINTS) if (pattern.test(name)) return task;
  return null;
}

function isTask(v: unknown): v is Task {
  return typeof v === 'string' && (TASKS as readonly string[]).includes(v);
}

function checkSigma(s: unknown, where: string): number {
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 255) {
    throw new BenchmarkError(`${where}: sigma must be a number in 0..255, got ${JSON.stringify(s)}`);
  }
  return s;
}

async function imagesUnder(dir: string): Promise<string[]> {
  const walk = await walkSources([dir]);
  const missing = walk.skipped.find((s) => s.path === dir);
  if (missing) throw new BenchmarkError(`${dir}: ${missing.reason}`);
  return walk.files;
}

export interface RecognizeOptions {
  /** The set's name; default the folder's base name. */
  name?: string;
  /** The task, when the caller knows it better than the folder does. */
  task?: Task;
  /** Sigmas for a clean-only folder (one set each); default DEFAULT_SIGMAS. */
  sigmas?: readonly number[];
}

/**
 * The sets in a benchmark folder: those its bench.json lists, or the one its layout shows (a clean-only
 * folder gives one denoising set per sigma).
 */
export async function recognizeBenchmark(dir: string, options: RecognizeOptions = {}): Promise<BenchmarkSet[]> {
  const root = resolve(dir);
  if (existsSync(join(root, BENCH_FILE))) return readBenchFile(root, options);
  return recognizeFolder(root, options);
}

interface BenchFileSet {
  name: string;
  task: Task;
  dir: string;
  sigma?: number;
}

async function readBenchFile(root: string, options: RecognizeOptions): Promise<BenchmarkSet[]> {
  const path = join(root, BENCH_FILE);
  let doc: { format?: unknown; sets?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch (err) {
    throw new BenchmarkError(`${path}: not readable JSON (${(err as Error).message})`);
  }
  if (doc.format !== BENCH_FORMAT || !Array.isArray(doc.sets)) {
    throw new BenchmarkError(`${path}: not a ${BENCH_FORMAT} file (expected "format": "${BENCH_FORMAT}" and a "sets" list)`);
  }
  const out: BenchmarkSet[] = [];
  for (const [i, s] of (doc.sets as BenchFileSet[]).entries()) {
    if (typeof s?.name !== 'string' || typeof s.dir !== 'string' || !isTask(s.task)) {
      throw new BenchmarkError(`${path}: sets[${i}] needs a name, a dir and a task (one of ${TASKS.join(', ')})`);
    }
    const name = options.name ? `${options.name}/${s.name}` : s.name;
    const sigmas = s.sigma === undefined ? options.sigmas : [checkSigma(s.sigma, `${path}: sets[${i}]`)];
    out.push(...(await recognizeFolder(resolve(root, s.dir), { name, task: s.task, ...(sigmas ? { sigmas } : {}) }, true)));
  }
  return out;
}

async function recognizeFolder(root: string, options: RecognizeOptions, fixedName = false): Promise<BenchmarkSet[]> {
  const name = options.name ?? basename(root);
  const files = await imagesUnder(root);
  if (files.length === 0) throw new BenchmarkError(`${root}: no images there`);
  const classified = files.map((f) => classify(root, f));
  const hasRole = (role: 'lq' | 'gt'): boolean => classified.some((c) => c.role === role);
  if (hasRole('lq') && hasRole('gt')) return [pairedSet(root, name, files, classified, options.task)];
  if (hasRole('lq')) return [noGtSet(root, name, classified.filter((c) => c.role === 'lq'), options.task)];
  // Clean images only: Gaussian denoising at each sigma.
  const sigmas = options.sigmas ?? DEFAULT_SIGMAS;
  if (sigmas.length === 0) throw new BenchmarkError(`${root}: a clean-only (denoising) folder needs at least one sigma`);
  const clean = classified.filter((c) => c.role !== 'aux');
  const task = options.task ?? 'denoise';
  return sigmas.map((sigma) => ({
    name: sigmas.length > 1 || !fixedName ? `${name}-sigma${sigma}` : name,
    task,
    layout: 'clean' as const,
    root,
    sigma: checkSigma(sigma, root),
    items: clean.map((c) => ({ name: c.rel, lq: null, gt: c.path })),
    unmatched: [],
  }));
}

/**
 * `hints` are the set's own names (its name, its folders): never the folders above them, which are the
 * user's (a home called /home/lola, a random temporary name) and say nothing of the task.
 */
function taskOf(lqs: readonly Classified[], hints: readonly string[], given: Task | undefined): Task {
  if (given) return given;
  for (const c of lqs) {
    const t = c.marker ? TASK_OF_MARKER[c.marker] : undefined;
    if (t) return t;
  }
  return hintedTask(...hints) ?? 'restore';
}

function pairedSet(root: string, name: string, files: string[], classified: Classified[], given: Task | undefined): BenchmarkSet {
  const match = matchPairs(root, files, root, files);
  if (match.pairs.length === 0) {
    throw new BenchmarkError(`${root}: degraded and ground-truth images are there but none pair by name (see uirgen import --help for the naming rules)`);
  }
  const lqs = classified.filter((c) => c.role === 'lq');
  const task = taskOf(lqs, [name, basename(root)], given);
  // GoPro's release has blur/ and blur_gamma/ beside sharp/; the benchmark is blur/ alone.
  const gamma = new Set(lqs.filter((c) => c.marker === 'blur_gamma').map((c) => c.path));
  const pairs = gamma.size && lqs.some((c) => c.marker === 'blur') ? match.pairs.filter((p) => !gamma.has(p.lq)) : match.pairs;
  return {
    name,
    task,
    layout: LAYOUT_OF_TASK[task],
    root,
    sigma: null,
    items: pairs.map((p) => ({ name: p.lqRel, lq: p.lq, gt: p.gt })),
    unmatched: [...match.unmatchedLq, ...match.ambiguous.map((a) => a.lq)],
  };
}

function noGtSet(root: string, name: string, lqs: Classified[], given: Task | undefined, hints: readonly string[] = [name, basename(root)]): BenchmarkSet {
  return {
    name,
    task: taskOf(lqs, hints, given),
    layout: 'nogt',
    root,
    sigma: null,
    items: lqs.map((c) => ({ name: c.rel, lq: c.path, gt: null })),
    unmatched: [],
  };
}

/** A set from explicit folders: `--lq DIR [--gt DIR]`. Without gt every image is measured by PIQE alone. */
export async function pairFolders(lqDir: string, gtDir: string | null, options: RecognizeOptions = {}): Promise<BenchmarkSet> {
  const lqRoot = resolve(lqDir);
  const lqFiles = await imagesUnder(lqRoot);
  if (lqFiles.length === 0) throw new BenchmarkError(`${lqRoot}: no images there`);
  const name = options.name ?? basename(lqRoot);
  const lqs = lqFiles.map((f) => classify(lqRoot, f));
  if (gtDir === null) return noGtSet(lqRoot, name, lqs, options.task, [name, basename(lqRoot), basename(dirname(lqRoot))]);
  const gtRoot = resolve(gtDir);
  const gtFiles = await imagesUnder(gtRoot);
  const match = matchPairs(lqRoot, lqFiles, gtRoot, gtFiles);
  if (match.pairs.length === 0) {
    throw new BenchmarkError(`no image in ${lqRoot} pairs with one in ${gtRoot} by name (see uirgen import --help for the naming rules)`);
  }
  // explicit folders are often a set's role folders (Rain100H/in, Rain100H/out): their parent names the set
  const task = taskOf(lqs, [name, basename(lqRoot), basename(gtRoot), basename(dirname(lqRoot))], options.task);
  return {
    name,
    task,
    layout: LAYOUT_OF_TASK[task],
    root: lqRoot,
    sigma: null,
    items: match.pairs.map((p) => ({ name: p.lqRel, lq: p.lq, gt: p.gt })),
    unmatched: [...match.unmatchedLq, ...match.ambiguous.map((a) => a.lq)],
  };
}

/** Decode one item; a clean-only denoising item gets its seeded noise here. */
export async function loadItem(set: Pick<BenchmarkSet, 'sigma'>, item: BenchmarkItem): Promise<LoadedItem> {
  const gt = item.gt === null ? null : await decodeImage(item.gt);
  if (item.lq === null) {
    if (gt === null || set.sigma === null) throw new BenchmarkError(`${item.name}: neither a degraded image nor a sigma to make one`);
    return { lq: seededGaussianNoise(gt, set.sigma, DENOISE_SEED), gt };
  }
  const lq = await decodeImage(item.lq);
  if (gt && (gt.width !== lq.width || gt.height !== lq.height)) {
    throw new BenchmarkError(`${item.lq} is ${lq.width}x${lq.height} but its ground truth ${item.gt} is ${gt.width}x${gt.height}`);
  }
  return { lq, gt };
}
