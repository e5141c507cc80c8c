import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { discoverRecipeSources, InterruptedError } from './discover.js';
import { Manifest, MANIFEST_FILE, manifestError } from './manifest.js';
import { latestPlan } from './merge.js';
import type { Plan, PlanSource } from './plan.js';
import { silentProgress, type Progress } from './progress.js';
import { RecipeError, SPLIT_NAMES, type Recipe, type SplitName } from './recipe.js';
import { buildPlan, claimDataset, settleRecipe, sourceId, type PlanRecord } from './synthesize.js';
import { softwareVersions } from './versions.js';
import { PLAN_META_KEY, PLAN_TABLE, readPlanMeta, type PlanMeta } from './plan-meta.js';
import { virtualSources } from './virtual-sources.js';

/**
 * `uirgen plan`: the manifest rows of a whole plan, without rendering a pixel.
 *
 * Planned rows live in their own table, `plan`, beside `samples`; `samples` keeps its contract
 * (a row there is a rendered sample: its shard, offsets, hashes and PSNR are real, every column
 * the readers rely on is filled). A planned row has what the plan decides and nothing that only
 * rendering knows:
 *
 *   plan(idx INTEGER PRIMARY KEY, key UNIQUE, type, level, level_id, seed, source_id,
 *        crop_x, crop_y, width, height, split, shard)
 *
 * `idx` is the sample's position in the plan (its shard is idx / shard_samples), `shard` the
 * file name synthesize will give it. The plan's identity is in `meta` under 'plan' (PlanMeta).
 * A later synthesize over the same folders and recipe makes exactly these rows into `samples`
 * (same keys, seeds, levels, crops, splits, shards): both come from one Plan (plan.ts) over the
 * sources discover.ts finds. A plan over virtual sources (--virtual-sources) has the shape of the
 * real one but not its keys; synthesize refuses to render into it (checkPlanned).
 *
 * Memory stays bounded at any size: rows are generated one at a time from the Plan (which holds
 * 4 bytes per sample) and inserted by one prepared statement in transactions of ROWS_PER_COMMIT;
 * the secondary indexes are built once, after the rows.
 */

const ROWS_PER_COMMIT = 50_000;

const PLAN_SCHEMA = `
CREATE TABLE IF NOT EXISTS plan (
  idx INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  level INTEGER NOT NULL,
  level_id TEXT NOT NULL,
  seed TEXT NOT NULL,
  source_id TEXT NOT NULL,
  crop_x INTEGER NOT NULL,
  crop_y INTEGER NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  split TEXT NOT NULL,
  shard TEXT NOT NULL
);
`;

/** Built after the rows: one pass each instead of a B-tree update per insert. */
const PLAN_INDEXES = `
CREATE INDEX IF NOT EXISTS plan_type_level ON plan(type, level);
CREATE INDEX IF NOT EXISTS plan_split_source ON plan(split, source_id);
CREATE INDEX IF NOT EXISTS plan_shard ON plan(shard);
`;

export interface PlanOptions {
  recipe: Recipe;
  out: string;
  /** Stand in for the recipe's collections with their published counts and sizes. */
  virtualSources?: boolean;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface PlanSummary {
  out: string;
  /** False when the same plan was already there and was kept. */
  written: boolean;
  virtual: boolean;
  samples: number;
  shards: number;
  sources: number;
  /** Sources by collection ('' without collections). */
  sources_by_collection: Record<string, number>;
  types: Record<string, number>;
  splits: Record<SplitName, { sources: number; samples: number }>;
  /** Set when the split fractions could not be met (too few sources). */
  split_note: string | null;
  skipped_sources: number;
  fingerprint: string;
  seconds: number;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Write the plan of `recipe` into `out` (see the module comment). Running it again keeps an equal plan. */
export async function writePlan(options: PlanOptions): Promise<PlanSummary> {
  const t0 = performance.now();
  const out = resolve(options.out);
  const progress = options.progress ?? silentProgress();
  const virtual = options.virtualSources === true;
  const lock = await claimDataset(out);
  try {
    const errors: { path: string; stage: string; message: string }[] = [];
    let sources: PlanSource[];
    if (virtual) {
      sources = virtualSources(options.recipe);
    } else {
      const found = await discoverRecipeSources(options.recipe, (path, stage, message) => errors.push({ path, stage, message }), options.signal);
      if (found.sources.length === 0) {
        throw new RecipeError(`no usable source image in ${found.where} (${found.files} image files found, ${errors.length} skipped)`);
      }
      sources = found.sources;
    }
    const plan = buildPlan(options.recipe, sources);
    const m = Manifest.open(join(out, MANIFEST_FILE));
    try {
      return await writeLocked(m, plan, options, { out, virtual, errors, progress, t0 });
    } finally {
      m.close();
    }
  } finally {
    await lock.release();
  }
}

interface Context {
  out: string;
  virtual: boolean;
  errors: { path: string; stage: string; message: string }[];
  progress: Progress;
  t0: number;
}

function summaryOf(plan: Plan, ctx: Context, written: boolean, splitSamples: Record<SplitName, number>, collections: readonly string[]): PlanSummary {
  // In the recipe's collection order (the sources are in sha256 order).
  const byCollection: Record<string, number> = Object.fromEntries(collections.map((c) => [c, 0]));
  for (const s of plan.sources) byCollection[s.collection ?? ''] = (byCollection[s.collection ?? ''] ?? 0) + 1;
  const splits = {} as PlanSummary['splits'];
  for (const name of SPLIT_NAMES) splits[name] = { sources: plan.splitSources[name], samples: splitSamples[name] };
  return {
    out: ctx.out,
    written,
    virtual: ctx.virtual,
    samples: plan.total,
    shards: plan.shardCount,
    sources: plan.sources.length,
    sources_by_collection: byCollection,
    types: Object.fromEntries(plan.types.map((t, i) => [t.id, plan.typeCounts[i]])),
    splits,
    split_note: plan.splitNote,
    skipped_sources: ctx.errors.length,
    fingerprint: plan.fingerprint,
    seconds: round((performance.now() - ctx.t0) / 1000, 3),
  };
}

/** Samples per split: the sources' split counts times their sample counts, without walking the rows. */
function samplesPerSplit(plan: Plan): Record<SplitName, number> {
  const out: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  for (let k = 0; k < plan.sources.length; k++) out[plan.splits[k]] += plan.samplesOfSource(k);
  return out;
}

async function writeLocked(m: Manifest, plan: Plan, options: PlanOptions, ctx: Context): Promise<PlanSummary> {
  const { db } = m;
  const meta = readPlanMeta(db);
  if (meta) {
    if (meta.fingerprint === plan.fingerprint && meta.virtual === ctx.virtual) {
      ctx.progress.note(`${ctx.out} already holds this plan; kept`);
      return summaryOf(plan, ctx, false, samplesPerSplit(plan), Object.keys(options.recipe.collections ?? {}));
    }
    throw new RecipeError(`${ctx.out} already holds another plan (fingerprint ${meta.fingerprint.slice(0, 12)}); use a new --out`);
  }
  const made = latestPlan(m);
  if (made && made.fingerprint !== plan.fingerprint) {
    throw new RecipeError(`${ctx.out} holds samples of another plan (fingerprint ${made.fingerprint.slice(0, 12)}); plan into a new --out`);
  }
  if (ctx.virtual && m.counts().samples > 0) {
    throw new RecipeError(`${ctx.out} holds rendered samples; a virtual plan goes into a new --out`);
  }
  await settleRecipe(ctx.out, options.recipe, m.counts().shards > 0);

  const record: PlanRecord & { virtual: boolean; rows: string } = {
    fingerprint: plan.fingerprint,
    samples: plan.total,
    shards: plan.shardCount,
    prefix: plan.options.prefix,
    part: { index: 0, count: 1 },
    virtual: ctx.virtual,
    rows: PLAN_TABLE,
  };
  const runId = m.startRun(options.recipe, { ...softwareVersions(), command: 'plan', plan: record });
  const known = new Set(
    (db.prepare('SELECT path, stage, message FROM errors').all() as { path: string; stage: string; message: string }[]).map(
      (e) => `${e.path}\u0000${e.stage}\u0000${e.message}`,
    ),
  );
  m.recordErrors(ctx.errors.filter((e) => !known.has(`${e.path}\u0000${e.stage}\u0000${e.message}`)));
  const present = new Set(db.prepare('SELECT id FROM sources').pluck().all() as string[]);
  m.upsertSources(
    plan.sources
      .filter((s) => !present.has(sourceId(s.sha256)))
      .map((s) => ({ id: sourceId(s.sha256), path: s.rel, sha256: s.sha256, width: s.width, height: s.height })),
  );

  try {
    db.exec(PLAN_SCHEMA);
    // Rows without a meta row are an interrupted earlier attempt: start over.
    db.exec('DELETE FROM plan');
    insertRows(db, plan, ctx.progress, options.signal);
    ctx.progress.note('indexing the plan');
    db.exec(PLAN_INDEXES);
    const value: PlanMeta = {
      fingerprint: plan.fingerprint,
      samples: plan.total,
      shards: plan.shardCount,
      shard_samples: plan.options.shardSamples,
      prefix: plan.options.prefix,
      virtual: ctx.virtual,
      sources: plan.sources.length,
      created: new Date().toISOString(),
    };
    db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(PLAN_META_KEY, JSON.stringify(value));
  } catch (err) {
    if (err instanceof InterruptedError) throw err;
    throw manifestError(err, m.path);
  }
  m.finishRun(runId);
  return summaryOf(plan, ctx, true, samplesPerSplit(plan), Object.keys(options.recipe.collections ?? {}));
}

function insertRows(db: Database.Database, plan: Plan, progress: Progress, signal: AbortSignal | undefined): void {
  const insert = db.prepare(
    'INSERT INTO plan (idx, key, type, level, level_id, seed, source_id, crop_x, crop_y, width, height, split, shard) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)',
  );
  const shardNames = Array.from({ length: plan.shardCount }, (_, s) => `${plan.shardName(s)}.tar`);
  const sourceIds = plan.sources.map((s) => sourceId(s.sha256));
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const s = plan.sample(i);
      insert.run(i, s.key, s.type, s.level, s.level_id, s.seed, sourceIds[s.source], s.crop.x, s.crop.y, s.crop.w, s.crop.h, s.split, shardNames[s.shard]);
    }
  });
  progress.start(plan.total, 0);
  for (let from = 0; from < plan.total; from += ROWS_PER_COMMIT) {
    if (signal?.aborted) throw new InterruptedError('interrupted');
    const to = Math.min(plan.total, from + ROWS_PER_COMMIT);
    batch(from, to);
    progress.update({ done: to, errors: 0 });
  }
  progress.stop();
}
