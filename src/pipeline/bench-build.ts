import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import { cloneImage, type Image } from '../core/image.js';
import { cropRaster8, decodeRaster8, encodePng, type Raster8 } from '../core/io.js';
import { psnr } from '../core/metrics.js';
import { createRng, deriveSeed } from '../core/random.js';
import { getDegradation, resolveLevel } from '../degradations/registry.js';
import type { Params, TypeId } from '../degradations/types.js';
import { TOOLKIT_VERSION } from '../version.js';
import { BENCH_FILE, BENCH_FORMAT, DENOISE_SEED, type Task } from './benchmarks.js';
import { MANIFEST_FILE } from './manifest.js';
import { walkSources } from './sources.js';

/**
 * `uirgen bench build`: a small held-out benchmark synthesized from clean photos, laid out as the real test
 * sets are, so `uirgen eval --bench BENCH` reads it like the real thing.
 *
 * Preset `5d` mirrors the five-task all-in-one protocol (PromptIR / AirNet / MaskDCPT "5D"): Gaussian
 * denoising at sigma 25 (CBSD68 layout: clean images only; the noise is added at test time with
 * np.random.seed(0), as the papers' test code does), deraining (Rain100L: light streaks, RS), dehazing
 * (SOTS outdoor: scattering-model haze, H), motion deblurring (GoPro: camera-shake kernels, MB) and low-light
 * enhancement (LOL: LL). Each photo gives `perSource` crops per task, chosen from a grid of non-overlapping
 * cells by a seeded shuffle of (seed, task, photo); each pair's degradation seed is derived from (seed, task,
 * photo hash, index), its level cycles through the task's levels. Everything that made a pair (photo hash,
 * crop, type, level, params, seed, type version) is recorded in bench.json, and the same sources, preset and
 * seed give the same bytes.
 */

export type PresetName = '5d';
export const PRESETS: readonly PresetName[] = ['5d'];

interface PresetSet {
  name: string;
  task: Task;
  /** Folder of the set under the benchmark root. */
  dir: string;
  /** Synthesized by this type at these levels (cycled); absent for a clean-only denoising set. */
  type?: TypeId;
  levels?: string[];
  sigma?: number;
  /** File paths (relative to dir) of pair `i` (0-based) from photo `seq` (its file stem). */
  files(i: number, seq: string, frame: number, params: Params | null): { lq: string | null; gt: string };
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

const PRESET_5D: PresetSet[] = [
  { name: 'CBSD68', task: 'denoise', dir: 'CBSD68', sigma: 25, files: (i) => ({ lq: null, gt: `${pad(i + 1, 4)}.png` }) },
  {
    name: 'Rain100L',
    task: 'derain',
    dir: 'Rain100L',
    type: 'RS',
    levels: ['density:14', 'density:18', 'density:22'],
    files: (i) => ({ lq: `rainy/rain-${pad(i + 1, 3)}.png`, gt: `norain/norain-${pad(i + 1, 3)}.png` }),
  },
  {
    name: 'SOTS',
    task: 'dehaze',
    dir: 'SOTS-outdoor',
    type: 'H',
    levels: ['beta:0.6', 'beta:0.75', 'beta:0.9', 'beta:1.05'],
    // SOTS names a hazy image <scene>_<airlight>_<beta>; its clear image is <scene>.
    files: (i, _seq, _frame, p) => ({
      lq: `hazy/${pad(i + 1, 4)}_${Number(p?.airlight).toFixed(2)}_${String(p?.beta)}.png`,
      gt: `gt/${pad(i + 1, 4)}.png`,
    }),
  },
  {
    name: 'GoPro',
    task: 'deblur',
    dir: 'GoPro/test',
    type: 'MB',
    levels: ['trajectory:16', 'trajectory:20', 'trajectory:25', 'trajectory:31'],
    // One "sequence" per photo, frames numbered within it, as GoPro's test set is laid out.
    files: (_i, seq, frame) => ({ lq: `${seq}/blur/${pad(frame + 1, 6)}.png`, gt: `${seq}/sharp/${pad(frame + 1, 6)}.png` }),
  },
  {
    name: 'LOL',
    task: 'lowlight',
    dir: 'LOL/eval15',
    type: 'LL',
    levels: ['gamma:3.3', 'gamma:3.7', 'gamma:4.1', 'gamma:4.5'],
    files: (i) => ({ lq: `low/${i + 1}.png`, gt: `high/${i + 1}.png` }),
  },
];

export interface BenchBuildOptions {
  preset: PresetName;
  sources: readonly string[];
  out: string;
  seed?: string;
  /** Square crop side; default 256. */
  crop?: number;
  /** Crops per photo per task; default 4. */
  perSource?: number;
  /** Datasets whose source photos must not be used (the benchmark stays held out). */
  exclude?: readonly string[];
  onSet?(event: { set: string; pairs: number; done: number; total: number }): void;
}

export interface BuiltSet {
  name: string;
  task: Task;
  dir: string;
  sigma?: number;
  pairs: number;
  /** Mean PSNR of the degraded inputs against their ground truth (null for denoising: noise is added at test time). */
  input_psnr: number | null;
}

export interface BenchBuildResult {
  out: string;
  preset: PresetName;
  seed: string;
  sources: number;
  sets: BuiltSet[];
}

export class BenchBuildError extends Error {
  override name = 'BenchBuildError';
}

interface Source {
  path: string;
  rel: string;
  sha256: string;
  stem: string;
  raster: Raster8;
}

function check(o: BenchBuildOptions): { crop: number; perSource: number; seed: string } {
  if (!(PRESETS as readonly string[]).includes(o.preset)) throw new RangeError(`preset must be one of ${PRESETS.join(', ')}, got ${JSON.stringify(o.preset)}`);
  const crop = o.crop ?? 256;
  if (!Number.isInteger(crop) || crop < 16 || crop > 4096 || crop % 16 !== 0) throw new RangeError(`crop must be a multiple of 16 in 16..4096, got ${String(crop)}`);
  const perSource = o.perSource ?? 4;
  if (!Number.isInteger(perSource) || perSource < 1 || perSource > 1000) throw new RangeError(`perSource must be an integer in 1..1000, got ${String(perSource)}`);
  const seed = o.seed ?? '0';
  if (typeof seed !== 'string' || seed.length === 0) throw new RangeError('seed must be a non-empty string');
  return { crop, perSource, seed };
}

/** sha256 of every source photo used by the datasets (their manifests' sources table). */
function excludedHashes(datasets: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const ds of datasets) {
    const path = join(resolve(ds), MANIFEST_FILE);
    if (!existsSync(path)) throw new BenchBuildError(`${ds}: no ${MANIFEST_FILE} there; --exclude takes uirgen dataset directories`);
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      for (const sha of db.prepare('SELECT sha256 FROM sources').pluck().all() as string[]) out.add(sha);
    } finally {
      db.close();
    }
  }
  return out;
}

async function loadSources(dirs: readonly string[], exclude: Set<string>, crop: number): Promise<Source[]> {
  const walk = await walkSources(dirs);
  const missing = walk.skipped.find((s) => dirs.includes(s.path));
  if (missing) throw new BenchBuildError(`${missing.path}: ${missing.reason}`);
  const out: Source[] = [];
  const seen = new Set<string>();
  for (const path of walk.files) {
    const bytes = await readFile(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (exclude.has(sha256)) throw new BenchBuildError(`${path} is a source photo of an --exclude dataset; a benchmark must be held out from training`);
    if (seen.has(sha256)) continue;
    seen.add(sha256);
    const raster = await decodeRaster8(bytes);
    if (raster.width < crop || raster.height < crop) continue;
    const root = dirs.map((d) => resolve(d)).find((d) => resolve(path).startsWith(d + sep)) ?? dirname(resolve(path));
    const rel = relative(root, resolve(path)).split(sep).join('/');
    const stem = rel.replace(/\.[^./]+$/, '').replace(/[^A-Za-z0-9_-]+/g, '_');
    out.push({ path, rel, sha256, stem, raster });
  }
  if (out.length === 0) throw new BenchBuildError(`no usable photo (at least ${crop}x${crop}) under ${dirs.join(', ')}`);
  // By content, not path: the same photos give the same benchmark wherever they live.
  return out.sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
}

/** `count` distinct non-overlapping crop cells of a photo, by a seeded shuffle of its grid. */
function cropCells(source: Source, crop: number, count: number, seed: string): Array<{ x: number; y: number }> {
  const cols = Math.floor(source.raster.width / crop);
  const rows = Math.floor(source.raster.height / crop);
  // The grid is centred, so the margins are equal.
  const x0 = Math.floor((source.raster.width - cols * crop) / 2);
  const y0 = Math.floor((source.raster.height - rows * crop) / 2);
  const cells = Array.from({ length: cols * rows }, (_, i) => ({ x: x0 + (i % cols) * crop, y: y0 + Math.floor(i / cols) * crop }));
  const rng = createRng(seed);
  for (let i = cells.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [cells[i], cells[j]] = [cells[j], cells[i]];
  }
  return cells.slice(0, count);
}

interface PairRecord {
  set: string;
  lq: string | null;
  gt: string;
  source: string;
  crop: { x: number; y: number; w: number; h: number };
  type: TypeId | null;
  level_id: string | null;
  type_version: number | null;
  seed: string | null;
  params: Params | null;
  psnr: number | null;
}

async function writePng(path: string, image: Image): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, await encodePng(image));
}

export async function buildBenchmark(options: BenchBuildOptions): Promise<BenchBuildResult> {
  const { crop, perSource, seed } = check(options);
  const out = resolve(options.out);
  if (existsSync(join(out, BENCH_FILE))) throw new BenchBuildError(`${out} already holds a benchmark (${BENCH_FILE}); choose another --out or remove it`);
  const sources = await loadSources(options.sources, excludedHashes(options.exclude ?? []), crop);
  const preset = PRESET_5D;
  const pairs: PairRecord[] = [];
  const built: BuiltSet[] = [];
  for (const [s, set] of preset.entries()) {
    const d = set.type ? getDegradation(set.type) : null;
    let index = 0;
    const qualities: number[] = [];
    for (const source of sources) {
      const cells = cropCells(source, crop, perSource, deriveSeed(seed, set.name, 'crops', source.sha256));
      for (const [frame, cell] of cells.entries()) {
        const gt = cropRaster8(source.raster, cell.x, cell.y, crop, crop);
        const record: PairRecord = {
          set: set.name,
          lq: null,
          gt: '',
          source: source.sha256,
          crop: { x: cell.x, y: cell.y, w: crop, h: crop },
          type: null,
          level_id: null,
          type_version: null,
          seed: null,
          params: null,
          psnr: null,
        };
        let lq: Image | null = null;
        if (d && set.levels) {
          const levelId = set.levels[index % set.levels.length];
          const pairSeed = deriveSeed(seed, set.name, source.sha256, index);
          const params = d.sample(resolveLevel(d, levelId), createRng(pairSeed), { width: crop, height: crop });
          lq = await d.apply(cloneImage(gt), params);
          Object.assign(record, { type: d.id, level_id: levelId, type_version: d.version, seed: pairSeed, params, psnr: psnr(lq, gt) });
          qualities.push(record.psnr as number);
        }
        const files = set.files(index, source.stem, frame, record.params);
        record.gt = `${set.dir}/${files.gt}`;
        await writePng(join(out, set.dir, files.gt), gt);
        if (lq && files.lq) {
          record.lq = `${set.dir}/${files.lq}`;
          await writePng(join(out, set.dir, files.lq), lq);
        }
        pairs.push(record);
        index++;
      }
    }
    built.push({
      name: set.name,
      task: set.task,
      dir: set.dir,
      ...(set.sigma !== undefined ? { sigma: set.sigma } : {}),
      pairs: index,
      input_psnr: qualities.length ? qualities.reduce((a, b) => a + b, 0) / qualities.length : null,
    });
    options.onSet?.({ set: set.name, pairs: index, done: s + 1, total: preset.length });
  }
  const doc = {
    format: BENCH_FORMAT,
    version: 1,
    preset: options.preset,
    seed,
    crop,
    per_source: perSource,
    toolkit: TOOLKIT_VERSION,
    denoise_protocol: `np.random.seed(${DENOISE_SEED}) per image, then normal(0, sigma/255) added to the float image, clipped to [0, 1]`,
    sets: built.map((b) => ({ name: b.name, task: b.task, dir: b.dir, ...(b.sigma !== undefined ? { sigma: b.sigma } : {}), pairs: b.pairs })),
    sources: sources.map((s) => ({ sha256: s.sha256, path: s.rel, width: s.raster.width, height: s.raster.height })),
    pairs,
  };
  // bench.json last and by rename: its presence means the folder is complete.
  const tmp = join(out, `${BENCH_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(doc, null, 1)}\n`);
  await rename(tmp, join(out, BENCH_FILE));
  return { out, preset: options.preset, seed, sources: sources.length, sets: built };
}
