import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { decodeImage } from '../core/io.js';
import { ssim } from '../core/metrics.js';
import { getDegradation } from '../degradations/registry.js';
import { isTypeId, TYPE_IDS } from '../degradations/types.js';
import { pickExamples, readPair } from './examples.js';
import { importCommand } from './import-layouts.js';
import { Manifest, MANIFEST_FILE, SCHEMA_VERSION } from './manifest.js';
import { latestPlan } from './merge.js';
import { hasPlanTable, PLAN_TABLE, readPlanMeta } from './plan-meta.js';
import { normalizeRecipe, SPLIT_NAMES, type Recipe } from './recipe.js';
import { lockHolder, RECIPE_FILE } from './synthesize.js';

/**
 * `uirgen stats`: what a dataset holds, from SQL aggregates over its manifest.
 *
 * Every figure comes from a GROUP BY or an indexed ORDER BY ... LIMIT/OFFSET; no query returns
 * more than a few hundred rows (types x levels, shards), so a manifest of millions of samples never
 * passes through JavaScript. The covering indexes (manifest.ts samples_type_level, samples_type_psnr,
 * samples_split_source; planned.ts for the plan table) keep the scans off the wide sample rows; on
 * a manifest made before they existed the same queries scan the table, slower but the same figures.
 * The manifest is opened read-only, so it works while synthesize is still writing (WAL readers see
 * the last committed shard) and never changes the file.
 *
 * The field names of DatasetStats are the `--json` contract (README "uirgen stats --json").
 */

export const STATS_FORMAT = 'uirgen-stats/1';

/** PSNR at or above this is "identical" (stored as +Infinity, which SQLite keeps as a REAL). */
const FINITE = 1e308;
/** Histogram bins: 1 dB wide from 0 dB; the last bin holds everything from HISTOGRAM_TOP dB up. */
export const HISTOGRAM_TOP = 60;
/** Default pairs per type decoded for the sampled SSIM. */
export const DEFAULT_SSIM_SAMPLES = 16;
/** Sampled pairs above this many pixels are not measured (a 12 MP real capture takes seconds). */
export const SSIM_MAX_PIXELS = 4_000_000;

export interface StatsOptions {
  /** Pairs per type decoded for SSIM (spread over its levels); 0: no SSIM. Default DEFAULT_SSIM_SAMPLES. */
  ssimSamples?: number;
}

export interface Quantiles {
  /** Values that went into the figures (finite PSNR only). */
  n: number;
  median: number | null;
  p10: number | null;
  p90: number | null;
}

export interface PsnrStats extends Quantiles {
  /** Pairs whose lq equals gt (infinite PSNR), counted apart. */
  identical: number;
  /** Samples with no PSNR recorded. */
  missing: number;
}

export interface TypeStats {
  type: string;
  name: string;
  samples: number;
  synthetic: number;
  /** Imported real captures (samples.real = 1). */
  real: number;
  /** Imported pairs not marked real (level_id 'imported'). */
  imported_other: number;
  /** The registry's levels of this type. */
  levels_total: number;
  /** Levels with at least one synthetic sample. */
  levels_present: number;
  /** Synthetic samples per present level: the fewest and the most. */
  per_level_min: number;
  per_level_max: number;
  /** From the plan table; null when the dataset has no plan. */
  planned: number | null;
  /** Planned but not yet rendered; null without a plan. */
  missing: number | null;
  psnr: PsnrStats;
  /** SSIM(lq, gt) of a sampled subset decoded from the shards (stats --ssim-samples); null when not measured. */
  ssim: SsimStats | null;
}

export interface SsimStats extends Quantiles {
  /** Sampled pairs larger than SSIM_MAX_PIXELS, left out to keep stats quick (large real captures). */
  skipped_large: number;
}

export interface LevelStats {
  type: string;
  level: number;
  level_id: string;
  samples: number;
  planned: number | null;
}

export interface SplitStats {
  split: string;
  samples: number;
  sources: number;
  planned: number | null;
  /** Sources of the plan in this split; null without a plan. */
  planned_sources: number | null;
  /** The recipe's fraction of sources for this split; null when not in the recipe. */
  requested_fraction: number | null;
}

export interface ErrorStage {
  stage: string;
  count: number;
  /** Up to three rows, in the order recorded. */
  examples: { path: string; message: string }[];
}

export interface ShardStats {
  count: number;
  bytes: number;
  bytes_min: number;
  bytes_median: number;
  bytes_max: number;
  samples_min: number;
  samples_median: number;
  samples_max: number;
  /** Largest shard over the mean shard size (1 = perfectly even). */
  bytes_max_over_mean: number | null;
  by_prefix: { prefix: string; shards: number; samples: number; bytes: number }[];
  /** Shards the plan (or the last synthesize run) expects; null when unknown. */
  planned: number | null;
  /** Planned shards not yet written; null when unknown. */
  missing: number | null;
  /** Every shard's size, in name order (for the charts; one row per shard, never per sample). */
  sizes: { name: string; samples: number; bytes: number }[];
}

export interface ImportStats {
  type: string;
  datasets: string[];
  layout: string;
  real: boolean;
  expected: number;
  present: number;
  missing: number;
  command: string;
}

export interface RunStats {
  count: number;
  first_started: string | null;
  last_finished: string | null;
  /** How many runs of each kind: synthesize, import, merge, plan. */
  commands: Record<string, number>;
  toolkit_versions: string[];
  /** The versions JSON of the latest run (toolkit, node, sharp, libvips, ...), without its plan record. */
  latest_versions: Record<string, unknown>;
}

export interface DatasetStats {
  format: typeof STATS_FORMAT;
  dataset: string;
  manifest: { path: string; bytes: number; schema_version: number };
  /** A live synthesize/import holding the dataset's lock, or null. */
  writer: string | null;
  recipe: { name: string; seed: string; crop: number; shard_samples: number; prefix: string } | null;
  totals: {
    samples: number;
    synthetic: number;
    real: number;
    imported_other: number;
    types: number;
    levels_present: number;
    levels_total: number;
    planned: number | null;
    missing: number | null;
  };
  types: TypeStats[];
  levels: LevelStats[];
  splits: SplitStats[];
  sources: {
    /** Rows of the sources table (every usable source a run found). */
    known: number;
    /** Sources with at least one rendered sample. */
    used: number;
    /** Sources of the plan (null without a plan). */
    planned: number | null;
    by_collection: { collection: string; sources: number }[];
    /** Rows of the errors table with stage 'duplicate'. */
    duplicated: number;
    /** Other rows of the errors table: inputs skipped, with reasons. */
    skipped: number;
    errors: ErrorStage[];
  };
  shards: ShardStats;
  imports: ImportStats[];
  plan: { virtual: boolean; samples: number; shards: number; fingerprint: string; created: string } | null;
  runs: RunStats;
  /** Samples per 1 dB PSNR bin (index b: [b, b+1) dB; the last bin: HISTOGRAM_TOP dB and up), per type. */
  psnr_histograms: Record<string, number[]>;
}

/** numpy.percentile's default (linear between the two nearest ranks) of sorted values. */
export function quantile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const b = sorted[Math.min(lo + 1, sorted.length - 1)];
  return sorted[lo] + (h - lo) * (b - sorted[lo]);
}

/** SSIM of up to `perType` pairs of each type, decoded from the shards. */
async function sampledSsim(ds: string, db: Database.Database, types: readonly string[], perType: number): Promise<Map<string, SsimStats>> {
  const out = new Map<string, SsimStats>();
  for (const type of types) {
    const values: number[] = [];
    let skipped = 0;
    for (const row of pickExamples(db, { types: [type], perType })) {
      if (row.width * row.height > SSIM_MAX_PIXELS) {
        skipped++;
        continue;
      }
      const pair = readPair(ds, row);
      const [gt, lq] = await Promise.all([decodeImage(pair.gt), decodeImage(pair.lq)]);
      values.push(ssim(lq, gt));
    }
    values.sort((a, b) => a - b);
    out.set(type, { n: values.length, median: quantile(values, 0.5), p10: quantile(values, 0.1), p90: quantile(values, 0.9), skipped_large: skipped });
  }
  return out;
}

/**
 * PSNR figures of one type from two index range scans: the 1 dB histogram (which also counts the
 * finite values), then each percentile by an ORDER BY ... OFFSET that starts at the histogram bin
 * holding its rank, so it steps over one bin's rows, not the type's.
 */
function psnrOf(db: Database.Database, type: string): { psnr: PsnrStats; histogram: number[] } {
  const bins = new Array<number>(HISTOGRAM_TOP + 1).fill(0);
  const rows = db
    .prepare(
      `SELECT min(max(CAST(psnr AS INTEGER), 0), ${HISTOGRAM_TOP}) AS bin, count(*) AS n FROM samples
       WHERE type = ? AND psnr < ${FINITE} GROUP BY bin`,
    )
    .all(type) as { bin: number; n: number }[];
  for (const r of rows) bins[r.bin] += r.n;
  const n = bins.reduce((a, b) => a + b, 0);
  const count = (where: string): number => db.prepare(`SELECT count(*) FROM samples WHERE type = ? AND ${where}`).pluck().get(type) as number;
  const fromBin = db.prepare(`SELECT psnr FROM samples WHERE type = ? AND psnr >= ? AND psnr < ${FINITE} ORDER BY psnr LIMIT 2 OFFSET ?`).pluck();
  const percentile = (p: number): number | null => {
    if (n === 0) return null;
    // numpy.percentile's default: linear between the two nearest ranks.
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    let bin = 0;
    let below = 0;
    while (below + bins[bin] <= lo) below += bins[bin++];
    const start = bin === 0 ? -FINITE : bin;
    const [a, b = a] = fromBin.all(type, start, lo - below) as number[];
    return a + (h - lo) * (b - a);
  };
  return {
    psnr: {
      n,
      identical: count(`psnr >= ${FINITE}`),
      missing: count('psnr IS NULL'),
      median: percentile(0.5),
      p10: percentile(0.1),
      p90: percentile(0.9),
    },
    histogram: bins,
  };
}

function median(sorted: readonly number[]): number {
  if (sorted.length === 0) return 0;
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

function shardPrefix(name: string): string {
  return name.replace(/-\d+\.tar$/, '');
}

function readRecipeOf(ds: string): Recipe | null {
  const path = join(ds, RECIPE_FILE);
  if (!existsSync(path)) return null;
  try {
    return normalizeRecipe(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return null;
  }
}

function runsOf(db: Database.Database): RunStats {
  const rows = db.prepare('SELECT started, finished, recipe, toolkit_version, versions FROM runs ORDER BY id').all() as {
    started: string;
    finished: string | null;
    recipe: string;
    toolkit_version: string;
    versions: string;
  }[];
  const commands: Record<string, number> = {};
  let latest: Record<string, unknown> = {};
  for (const r of rows) {
    const recipe = JSON.parse(r.recipe) as { command?: unknown };
    const v = JSON.parse(r.versions) as Record<string, unknown>;
    const kind = typeof v.command === 'string' ? v.command : recipe.command === 'import' ? 'import' : v.merged_from ? 'merge' : 'synthesize';
    commands[kind] = (commands[kind] ?? 0) + 1;
    const { plan: _p, merged_from: _m, command: _c, ...rest } = v;
    latest = rest;
  }
  const finished = rows.map((r) => r.finished).filter((f): f is string => f !== null).sort();
  return {
    count: rows.length,
    first_started: rows[0]?.started ?? null,
    last_finished: finished.at(-1) ?? null,
    commands,
    toolkit_versions: [...new Set(rows.map((r) => r.toolkit_version))],
    latest_versions: latest,
  };
}

function typeOrder(a: string, b: string): number {
  const ia = isTypeId(a) ? TYPE_IDS.indexOf(a) : TYPE_IDS.length;
  const ib = isTypeId(b) ? TYPE_IDS.indexOf(b) : TYPE_IDS.length;
  return ia - ib || (a < b ? -1 : a > b ? 1 : 0);
}

/** The statistics of the dataset in `dir` (see the module comment). */
export async function computeStats(dir: string, options: StatsOptions = {}): Promise<DatasetStats> {
  const ds = resolve(dir);
  const path = join(ds, MANIFEST_FILE);
  const perType = options.ssimSamples ?? DEFAULT_SSIM_SAMPLES;
  if (!Number.isInteger(perType) || perType < 0) throw new RangeError(`ssimSamples must be an integer >= 0, got ${String(perType)}`);
  const m = Manifest.open(path, { readonly: true });
  try {
    const writer = await lockHolder(ds);
    const stats = collect(m, ds, path, writer);
    if (perType > 0) {
      const measured = await sampledSsim(ds, m.db, stats.types.filter((t) => t.samples > 0).map((t) => t.type), perType);
      for (const t of stats.types) t.ssim = measured.get(t.type) ?? null;
    }
    return stats;
  } finally {
    m.close();
  }
}

function collect(m: Manifest, ds: string, path: string, writer: string | null): DatasetStats {
  const { db } = m;
  const recipe = readRecipeOf(ds);
  const planMeta = readPlanMeta(db);
  const planned = planMeta !== null && hasPlanTable(db);

  // Types x levels (covering index samples_type_level): every count below is a sum over these rows.
  const cells = db
    .prepare('SELECT type, level, level_id, real, count(*) AS n FROM samples GROUP BY type, level, level_id, real')
    .all() as { type: string; level: number; level_id: string; real: number; n: number }[];
  const plannedCells = planned
    ? (db.prepare(`SELECT type, level, count(*) AS n FROM ${PLAN_TABLE} GROUP BY type, level`).all() as { type: string; level: number; n: number }[])
    : [];

  const typeIds = [
    ...new Set([
      ...cells.map((c) => c.type),
      ...plannedCells.map((c) => c.type),
      ...Object.keys(recipe?.types ?? {}),
      ...(recipe?.imports ?? []).map((e) => e.type),
    ]),
  ].sort(typeOrder);
  const levelRows = new Map<string, LevelStats>();
  const levelKey = (type: string, level: number): string => `${type}\u0000${level}`;
  for (const c of cells) {
    if (c.real === 1 || c.level_id === 'imported') continue;
    const k = levelKey(c.type, c.level);
    const row = levelRows.get(k) ?? { type: c.type, level: c.level, level_id: c.level_id, samples: 0, planned: planned ? 0 : null };
    row.samples += c.n;
    levelRows.set(k, row);
  }
  for (const c of plannedCells) {
    const k = levelKey(c.type, c.level);
    const id = isTypeId(c.type) ? (getDegradation(c.type).levels[c.level]?.id ?? String(c.level)) : String(c.level);
    const row = levelRows.get(k) ?? { type: c.type, level: c.level, level_id: id, samples: 0, planned: 0 };
    row.planned = (row.planned ?? 0) + c.n;
    levelRows.set(k, row);
  }
  const levels = [...levelRows.values()].sort((a, b) => typeOrder(a.type, b.type) || a.level - b.level);

  const psnrs = new Map(typeIds.map((type) => [type, psnrOf(db, type)]));
  const types: TypeStats[] = typeIds.map((type) => {
    const mine = cells.filter((c) => c.type === type);
    const synthetic = mine.filter((c) => c.real === 0 && c.level_id !== 'imported').reduce((a, c) => a + c.n, 0);
    const real = mine.filter((c) => c.real === 1).reduce((a, c) => a + c.n, 0);
    const importedOther = mine.filter((c) => c.real === 0 && c.level_id === 'imported').reduce((a, c) => a + c.n, 0);
    const perLevel = levels.filter((l) => l.type === type && l.samples > 0).map((l) => l.samples);
    const plannedN = planned ? plannedCells.filter((c) => c.type === type).reduce((a, c) => a + c.n, 0) : null;
    const d = isTypeId(type) ? getDegradation(type) : null;
    return {
      type,
      name: d?.name ?? type,
      samples: synthetic + real + importedOther,
      synthetic,
      real,
      imported_other: importedOther,
      levels_total: d?.levels.length ?? 0,
      levels_present: perLevel.length,
      per_level_min: perLevel.length ? Math.min(...perLevel) : 0,
      per_level_max: perLevel.length ? Math.max(...perLevel) : 0,
      planned: plannedN,
      missing: plannedN === null ? null : Math.max(0, plannedN - synthetic),
      psnr: (psnrs.get(type) as { psnr: PsnrStats }).psnr,
      ssim: null,
    };
  });

  // Splits, and the distinct sources in each (a source is in one split): grouped by (split, source)
  // along the covering index samples_split_source / plan_split_source, which needs no temporary B-tree.
  const bySplit = (table: string) =>
    db
      .prepare(`SELECT split, sum(n) AS n, count(*) AS sources FROM (SELECT split, source_id, count(*) AS n FROM ${table} GROUP BY split, source_id) GROUP BY split`)
      .all() as { split: string; n: number; sources: number }[];
  const splitRows = bySplit('samples');
  const plannedSplits = planned ? bySplit(PLAN_TABLE) : [];
  const splitNames = [...new Set([...SPLIT_NAMES.filter((s) => (recipe?.splits[s] ?? 0) > 0), ...splitRows.map((r) => r.split), ...plannedSplits.map((r) => r.split)])];
  const splits: SplitStats[] = splitNames.map((split) => {
    const r = splitRows.find((x) => x.split === split);
    const p = plannedSplits.find((x) => x.split === split);
    const frac = recipe && (SPLIT_NAMES as readonly string[]).includes(split) ? recipe.splits[split as (typeof SPLIT_NAMES)[number]] : null;
    return {
      split,
      samples: r?.n ?? 0,
      sources: r?.sources ?? 0,
      planned: planned ? (p?.n ?? 0) : null,
      planned_sources: planned ? (p?.sources ?? 0) : null,
      requested_fraction: frac,
    };
  });

  // Sources and the reasons inputs were skipped.
  const known = db.prepare('SELECT count(*) FROM sources').pluck().get() as number;
  const used = splitRows.reduce((a, r) => a + r.sources, 0);
  const plannedSources = planned ? plannedSplits.reduce((a, r) => a + r.sources, 0) : null;
  const collections = recipe?.collections ? Object.keys(recipe.collections) : [];
  const byCollection = collections.map((c) => ({
    collection: c,
    // discover.ts records a collection's sources as <collection>/<path in its folder>.
    sources: db.prepare('SELECT count(*) FROM sources WHERE path >= ? AND path < ?').pluck().get(`${c}/`, `${c}0`) as number,
  }));
  const stages = db.prepare('SELECT stage, count(*) AS n FROM errors GROUP BY stage ORDER BY n DESC, stage').all() as { stage: string; n: number }[];
  const examples = db.prepare('SELECT path, message FROM errors WHERE stage = ? ORDER BY rowid LIMIT 3');
  const errors: ErrorStage[] = stages.map((s) => ({ stage: s.stage, count: s.n, examples: examples.all(s.stage) as { path: string; message: string }[] }));
  const duplicated = stages.find((s) => s.stage === 'duplicate')?.n ?? 0;
  const skipped = stages.reduce((a, s) => a + s.n, 0) - duplicated;

  // Shards: one row per shard.
  const sizes = db.prepare('SELECT name, samples, bytes FROM shards ORDER BY name').all() as { name: string; samples: number; bytes: number }[];
  const bytesSorted = sizes.map((s) => s.bytes).sort((a, b) => a - b);
  const samplesSorted = sizes.map((s) => s.samples).sort((a, b) => a - b);
  const totalBytes = bytesSorted.reduce((a, b) => a + b, 0);
  const prefixes = new Map<string, { prefix: string; shards: number; samples: number; bytes: number }>();
  for (const s of sizes) {
    const p = shardPrefix(s.name);
    const e = prefixes.get(p) ?? { prefix: p, shards: 0, samples: 0, bytes: 0 };
    e.shards++;
    e.samples += s.samples;
    e.bytes += s.bytes;
    prefixes.set(p, e);
  }
  const lastRun = latestPlan(m);
  const plannedShards = planMeta?.shards ?? lastRun?.shards ?? null;
  const prefix = planMeta?.prefix ?? lastRun?.prefix ?? null;
  let missingShards: number | null = null;
  if (plannedShards !== null && prefix !== null) {
    const have = new Set(sizes.map((s) => s.name));
    missingShards = 0;
    for (let s = 0; s < plannedShards; s++) if (!have.has(`${prefix}-${String(s).padStart(6, '0')}.tar`)) missingShards++;
  }
  const shards: ShardStats = {
    count: sizes.length,
    bytes: totalBytes,
    bytes_min: bytesSorted[0] ?? 0,
    bytes_median: median(bytesSorted),
    bytes_max: bytesSorted.at(-1) ?? 0,
    samples_min: samplesSorted[0] ?? 0,
    samples_median: median(samplesSorted),
    samples_max: samplesSorted.at(-1) ?? 0,
    bytes_max_over_mean: sizes.length ? (bytesSorted.at(-1) as number) / (totalBytes / sizes.length) : null,
    by_prefix: [...prefixes.values()],
    planned: plannedShards,
    missing: missingShards,
    sizes,
  };

  // Imports the recipe expects, against what is there (real or imported rows of the type).
  const imports: ImportStats[] = (recipe?.imports ?? []).map((e) => {
    const present = cells.filter((c) => c.type === e.type && (e.real ? c.real === 1 : c.real === 0 && c.level_id === 'imported')).reduce((a, c) => a + c.n, 0);
    return {
      type: e.type,
      datasets: e.datasets,
      layout: e.layout,
      real: e.real,
      expected: e.count,
      present,
      missing: Math.max(0, e.count - present),
      command: importCommand(e, ds),
    };
  });

  const totals = {
    samples: types.reduce((a, t) => a + t.samples, 0),
    synthetic: types.reduce((a, t) => a + t.synthetic, 0),
    real: types.reduce((a, t) => a + t.real, 0),
    imported_other: types.reduce((a, t) => a + t.imported_other, 0),
    types: types.filter((t) => t.samples > 0).length,
    levels_present: types.reduce((a, t) => a + t.levels_present, 0),
    levels_total: types.reduce((a, t) => a + t.levels_total, 0),
    planned: planned ? types.reduce((a, t) => a + (t.planned ?? 0), 0) : null,
    missing: planned ? types.reduce((a, t) => a + (t.missing ?? 0), 0) : null,
  };

  return {
    format: STATS_FORMAT,
    dataset: ds,
    manifest: { path, bytes: statSync(path).size, schema_version: SCHEMA_VERSION },
    writer,
    recipe: recipe ? { name: recipe.name, seed: recipe.seed, crop: recipe.crop, shard_samples: recipe.shard_samples, prefix: recipe.prefix } : null,
    totals,
    types,
    levels,
    splits,
    sources: { known, used, planned: plannedSources, by_collection: byCollection, duplicated, skipped, errors },
    shards,
    imports,
    plan: planMeta
      ? { virtual: planMeta.virtual, samples: planMeta.samples, shards: planMeta.shards, fingerprint: planMeta.fingerprint, created: planMeta.created }
      : null,
    runs: runsOf(db),
    psnr_histograms: Object.fromEntries(types.map((t) => [t.type, psnrs.get(t.type)?.histogram ?? []])),
  };
}
