import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { getDegradation, resolveLevel } from '../degradations/registry.js';
import { softwareVersions } from './versions.js';
import { Manifest, MANIFEST_FILE, type SampleRow } from './manifest.js';
import { attachDepthMaps } from './depth-maps.js';
import { Plan, type PlanSource, type PlanTask, type PlanType } from './plan.js';
import { assignTypes } from './affinity.js';
import { createPool, defaultWorkers, mapLimit, type TaskPool } from './pool.js';
import { silentProgress, type Progress } from './progress.js';
import { DEFAULT_PER_SOURCE, normalizeRecipe, planIdentity, RecipeError, type Recipe } from './recipe.js';
import { checkPlanned, readPlanMeta } from './plan-meta.js';
import { ShardWriter } from './shards.js';
import { discoverRecipeSources, InterruptedError, sourceFolders, type Discovered, type ErrorSink } from './discover.js';
import type { WorkerResult, WorkerTask } from './worker.js';

/**
 * `uirgen synthesize`: folders of photos -> WebDataset shards + SQLite manifest.
 *
 * The main thread walks and fingerprints the sources, builds the plan (plan.ts), and streams its
 * tasks through the worker pool with at most `maxInFlight` tasks submitted but not yet written.
 * Results are written strictly in plan order (a reorder window bounded by that same limit), so
 * shard bytes do not depend on which worker finishes first. A shard is the unit of resumption:
 * it is written under a temporary name, renamed when complete, then committed with its rows in one
 * transaction; on start, shards with a committed row are kept and everything else is redone.
 */

/** Crops per task: enough to amortize a decode, small enough to keep memory and balance. */
export const DEFAULT_TASK_SAMPLES = 8;

export const RECIPE_FILE = 'recipe.json';
export const SHARDS_DIR = 'shards';

export interface SynthesizeOptions {
  recipe: Recipe;
  out: string;
  workers?: number;
  /** This process makes shards s with s % shardCount === shardIndex. */
  shardIndex?: number;
  shardCount?: number;
  /** Abort (Ctrl-C): stop, drop the open shard, close the manifest, reject with InterruptedError. */
  signal?: AbortSignal;
  progress?: Progress;
  taskSamples?: number;
  maxInFlight?: number;
  /**
   * Rebuilding a release (rebuild.ts): choose the usable sources the release used (and check their paths),
   * then check the plan against the release's before anything is made. Both throw RecipeError to refuse.
   */
  expect?: {
    sources(found: PlanSource[]): PlanSource[];
    plan(plan: Plan): void;
  };
}

export interface SynthesizeSummary {
  /** Totals of the dataset (or this part of it) after the run. */
  samples: number;
  shards: number;
  errors: number;
  sources: number;
  seconds: number;
  /** Samples made by this run per second of its wall time. */
  pairs_per_s: number;
  out: string;
  /** Samples made by this run (resumed shards excluded). */
  made: number;
  /** Shards found complete and kept. */
  resumed_shards: number;
  planned: { samples: number; shards: number };
  part: { index: number; count: number };
}

/** What a run records about its plan (in the run's versions JSON), for merge and audits. */
export interface PlanRecord {
  /** Plan.fingerprint: equal for runs that make the same samples. */
  fingerprint: string;
  samples: number;
  shards: number;
  prefix: string;
  part: { index: number; count: number };
}

export { InterruptedError } from './discover.js';

/** Nothing to make from: every source was skipped (or none found). */
export class NoSourcesError extends Error {
  override name = 'NoSourcesError';
}

/** The recipe's types as plan types: level ids resolved against the registry. */
export function planTypes(recipe: Recipe): PlanType[] {
  const out: PlanType[] = [];
  for (const [id, spec] of Object.entries(recipe.types)) {
    const d = getDegradation(id);
    let indices: number[];
    try {
      indices = spec.levels ? [...new Set(spec.levels.map((l) => resolveLevel(d, l)))].sort((a, b) => a - b) : d.levels.map((_, i) => i);
    } catch (err) {
      throw new RecipeError(`types.${id}.levels: ${(err as Error).message}`);
    }
    const type: PlanType = { id: d.id, share: spec.count ?? spec.weight ?? 1, levels: indices.map((index) => ({ index, id: d.levels[index].id })) };
    if (spec.collections) type.collections = spec.collections;
    out.push(type);
  }
  return out;
}

export function buildPlan(recipe: Recipe, sources: readonly PlanSource[]): Plan {
  const types = planTypes(recipe);
  const counts = Object.values(recipe.types).every((s) => s.count !== undefined);
  const perSource = recipe.samples === null && recipe.per_source === null && !counts ? DEFAULT_PER_SOURCE : recipe.per_source;
  return new Plan(sources, types, {
    seed: recipe.seed,
    crop: recipe.crop,
    total: recipe.samples,
    perSource,
    counts,
    shardSamples: recipe.shard_samples,
    prefix: recipe.prefix,
    splits: recipe.splits,
  });
}

export function sourceId(sha256: string): string {
  return sha256.slice(0, 16);
}

async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.partial`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Save the recipe, or check that an existing dataset was made with an equivalent one. */
export async function settleRecipe(out: string, recipe: Recipe, hasShards: boolean): Promise<void> {
  const path = join(out, RECIPE_FILE);
  // Nothing made yet (say, a first attempt that found no usable source): the new recipe simply applies.
  if (existsSync(path) && hasShards) {
    let saved: Recipe;
    try {
      saved = normalizeRecipe(JSON.parse(await readFile(path, 'utf8')));
    } catch (err) {
      throw new RecipeError(`${path}: cannot read the saved recipe (${(err as Error).message}); use a new --out`);
    }
    if (planIdentity(saved) !== planIdentity(recipe)) {
      throw new RecipeError(
        `${out} was made with a different recipe (compare ${path}); rerun with the same options to resume, or use a new --out`,
      );
    }
    return;
  }
  await writeFileAtomic(path, `${JSON.stringify(recipe, null, 2)}\n`);
}

/** Committed shards are only kept if they were made from these very sources. */
function checkSameSources(m: Manifest, plan: Plan, out: string): void {
  const rows = m.db.prepare('SELECT id, sha256, width, height FROM sources').all() as { id: string; sha256: string; width: number; height: number }[];
  const had = new Map(rows.map((r) => [r.sha256, r]));
  const now = new Set(plan.sources.map((s) => s.sha256));
  const changed =
    had.size !== now.size ||
    plan.sources.some((s) => {
      const r = had.get(s.sha256);
      return !r || r.width !== s.width || r.height !== s.height;
    });
  if (changed) {
    throw new RecipeError(
      `${out} has shards made from a different set of sources (${had.size} then, ${now.size} now); ` +
        'restore the sources to resume, or use a new --out',
    );
  }
}

async function removePartials(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (name.endsWith('.partial')) {
      await unlink(join(dir, name));
      n++;
    }
  }
  return n;
}

export async function synthesize(options: SynthesizeOptions): Promise<SynthesizeSummary> {
  const t0 = performance.now();
  const recipe = options.recipe;
  const out = resolve(options.out);
  const progress = options.progress ?? silentProgress();
  const workers = options.workers ?? defaultWorkers();
  const shardIndex = options.shardIndex ?? 0;
  const shardCount = options.shardCount ?? 1;
  const taskSamples = options.taskSamples ?? DEFAULT_TASK_SAMPLES;
  const maxInFlight = options.maxInFlight ?? workers * 3 + 2;
  sourceFolders(recipe); // no folder to read (or an unmapped collection): say so before creating anything
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RecipeError(`shard count must be an integer >= 1, got ${shardCount}`);
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= shardCount) {
    throw new RecipeError(`shard index must be an integer in 0..${shardCount - 1}, got ${shardIndex}`);
  }
  if (!Number.isInteger(workers) || workers < 1) throw new RecipeError(`workers must be an integer >= 1, got ${workers}`);
  options.signal?.throwIfAborted();

  const lock = await claimDataset(out);
  try {
    return await synthesizeLocked(options, { t0, out, recipe, progress, workers, shardIndex, shardCount, taskSamples, maxInFlight });
  } finally {
    await lock.release();
  }
}

interface Settings {
  t0: number;
  out: string;
  recipe: Recipe;
  progress: Progress;
  workers: number;
  shardIndex: number;
  shardCount: number;
  taskSamples: number;
  maxInFlight: number;
}

async function synthesizeLocked(options: SynthesizeOptions, settings: Settings): Promise<SynthesizeSummary> {
  const { t0, out, recipe, progress, workers, shardIndex, shardCount, taskSamples, maxInFlight } = settings;
  const manifest = Manifest.open(join(out, MANIFEST_FILE));
  try {
    // A planned dataset keeps its recipe like one with shards: a different recipe is refused, never saved over it.
    await settleRecipe(out, recipe, manifest.completedShards().size > 0 || readPlanMeta(manifest.db) !== null);
  } catch (err) {
    manifest.close();
    throw err;
  }
  let pool: TaskPool | null = null;
  let writer: ShardWriter | null = null;
  const errors = new ErrorLog(manifest);
  try {
    // Threads start now and load their modules while this thread fingerprints the sources. Each
    // type's home thread follows from the recipe's shares, known before the plan (affinity.ts).
    pool = createPool(workers, assignTypes(new Map(planTypes(recipe).map((t) => [t.id, t.share])), workers));
    let found: Discovered;
    try {
      found = await discoverRecipeSources(recipe, errors.sink, options.signal);
      if (recipe.depth) found.sources = await attachDepthMaps(found.sources, recipe.depth, (s, message) => errors.sink(s.path, 'depth', message));
    } finally {
      errors.flush();
    }
    if (found.sources.length === 0) {
      const what = found.files === 0
        ? 'no image files found (png jpg jpeg webp tif tiff avif gif heic, any case)'
        : `${found.files} image file(s) found, none usable at crop ${recipe.crop} (reasons in the errors table of ${join(out, MANIFEST_FILE)})`;
      throw new NoSourcesError(`no usable source image in ${found.where}: ${what}`);
    }
    const plan = buildPlan(recipe, options.expect ? options.expect.sources(found.sources) : found.sources);
    options.expect?.plan(plan);
    checkPlanned(manifest, plan, out);
    if (plan.splitNote) progress.note(`splits: ${plan.splitNote}`);
    const record: PlanRecord = {
      fingerprint: plan.fingerprint,
      samples: plan.total,
      shards: plan.shardCount,
      prefix: recipe.prefix,
      part: { index: shardIndex, count: shardCount },
    };
    // The run row carries the plan's identity, so merge can check that parts belong together.
    const runId = manifest.startRun(recipe, { ...softwareVersions(), plan: record });
    const shardsDir = join(out, SHARDS_DIR);
    let completed = manifest.completedShards();
    if (completed.size > 0) checkSameSources(manifest, plan, out);
    const present = new Set(
      (manifest.db.prepare('SELECT id FROM sources').pluck().all() as string[]),
    );
    manifest.upsertSources(
      plan.sources
        .filter((s) => !present.has(sourceId(s.sha256)))
        .map((s) => ({ id: sourceId(s.sha256), path: s.rel, sha256: s.sha256, width: s.width, height: s.height })),
    );
    await removePartials(shardsDir);
    // A committed shard whose file went missing is redone, not trusted.
    for (const name of completed) {
      if (!existsSync(join(shardsDir, name))) manifest.dropShard(name);
    }
    completed = manifest.completedShards();

    const mine = plan.shardsOfPart(shardIndex, shardCount);
    const todo = mine.filter((s) => !completed.has(`${plan.shardName(s)}.tar`));
    const partTotal = mine.reduce((n, s) => n + (plan.shardRange(s)[1] - plan.shardRange(s)[0]), 0);
    let done = partTotal - todo.reduce((n, s) => n + (plan.shardRange(s)[1] - plan.shardRange(s)[0]), 0);
    const resumed = mine.length - todo.length;
    if (resumed > 0) progress.note(`resuming: ${resumed} of ${mine.length} shards already complete`);

    let made = 0;
    progress.start(partTotal, done);
    if (todo.length > 0) {
      const activePool = pool;
      const submit = (task: PlanTask): Promise<WorkerResult> => activePool.run(workerTask(plan, task, recipe.png_level));
      let rows: SampleRow[] = [];
      for await (const { task, result } of inPlanOrder(taskIterator(plan, todo, taskSamples), submit, maxInFlight, options.signal)) {
        writer ??= await ShardWriter.create(shardsDir, plan.shardName(task.shard));
        const written = await writeResult(writer, plan, task, result, errors.sink);
        rows.push(...written);
        made += written.length;
        done += task.samples.length;
        if (task.lastOfShard) {
          manifest.commitShard(await writer.close(), rows);
          writer = null;
          rows = [];
          errors.flush();
        }
        progress.update({ done, errors: errors.count });
      }
    }
    await pool.close();
    pool = null;
    progress.stop();
    manifest.finishRun(runId);
    const counts = manifest.counts();
    const seconds = (performance.now() - t0) / 1000;
    if (counts.samples === 0) {
      throw new NoSourcesError(
        `no sample could be made: all ${found.sources.length} source(s) failed (reasons in the errors table of ${join(out, MANIFEST_FILE)})`,
      );
    }
    return {
      samples: counts.samples,
      shards: counts.shards,
      errors: counts.errors,
      sources: counts.sources,
      seconds: round(seconds, 3),
      pairs_per_s: round(made / seconds, 2),
      out,
      made,
      resumed_shards: resumed,
      planned: { samples: plan.total, shards: plan.shardCount },
      part: { index: shardIndex, count: shardCount },
    };
  } catch (err) {
    progress.stop();
    if (writer) await writer.abort().catch(() => {});
    if (pool) await pool.destroy().catch(() => {});
    throw err;
  } finally {
    try {
      errors.flush();
    } finally {
      manifest.close();
    }
  }
}

/** Create the dataset folder (with shards/) and take its one-writer lock. */
export async function claimDataset(out: string): Promise<DatasetLock> {
  try {
    await mkdir(join(out, SHARDS_DIR), { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new RecipeError(`cannot create the output folder ${out}: ${e.code ?? e.message}`);
  }
  return lockDataset(out);
}

export const LOCK_FILE = '.uirgen.lock';
/** A lock not refreshed for this long belongs to a process that is gone (any host). */
const LOCK_STALE_MS = 120_000;
const LOCK_REFRESH_MS = 20_000;

export interface DatasetLock {
  release(): Promise<void>;
}

/**
 * One writer per dataset folder: two processes on one --out would write the same shards. The lock
 * file names its host and pid and is touched every 20 s; a lock whose process is dead (same host)
 * or that nobody touched for 2 minutes (a job that died on another node) is taken over, so resuming
 * after a kill or a requeue on another machine needs no manual step.
 */
export async function lockDataset(dir: string): Promise<DatasetLock> {
  const path = join(dir, LOCK_FILE);
  const me = JSON.stringify({ host: hostname(), pid: process.pid, started: new Date().toISOString() });
  if (!(await createExclusive(path, me))) {
    const holder = await describeHolder(path);
    if (holder) throw new RecipeError(`${dir} is being written by ${holder}; wait for it to finish or stop it (one process per dataset folder)`);
    await unlink(path).catch(() => {});
    if (!(await createExclusive(path, me))) throw new RecipeError(`${dir} was locked by another uirgen process at the same moment; try again`);
  }
  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, LOCK_REFRESH_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await unlink(path).catch(() => {});
    },
  };
}

/** Create `path` with `text` unless it exists; false if it does. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  try {
    await writeFile(path, text, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Who is writing the dataset in `dir` (a live lock), or null. */
export function lockHolder(dir: string): Promise<string | null> {
  return describeHolder(join(dir, LOCK_FILE));
}

/** Who holds the lock, or null when there is none or it is stale (its process is gone). */
async function describeHolder(path: string): Promise<string | null> {
  let info: { host?: unknown; pid?: unknown };
  let age: number;
  try {
    info = JSON.parse(await readFile(path, 'utf8')) as { host?: unknown; pid?: unknown };
    age = Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return null; // unreadable or half-written by a process killed while creating it
  }
  if (age > LOCK_STALE_MS) return null;
  if (info.host === hostname() && typeof info.pid === 'number') {
    try {
      process.kill(info.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return null;
    }
  }
  return `uirgen (pid ${String(info.pid)} on ${String(info.host)}, lock touched ${Math.round(age / 1000)} s ago)`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Number.isFinite(x) ? Math.round(x * f) / f : 0;
}

/**
 * Errors of this run: each fault kept once in the table (a rerun meets the same bad files again),
 * written in batches, one transaction each, so a folder of thousands of bad files does not cost
 * thousands of synchronous commits.
 */
class ErrorLog {
  /** Errors met by this run, repeats included. */
  count = 0;
  private readonly known: Set<string>;
  private pending: { path: string; stage: string; message: string }[] = [];

  constructor(private readonly manifest: Manifest) {
    const rows = manifest.db.prepare('SELECT path, stage, message FROM errors').all() as { path: string; stage: string; message: string }[];
    this.known = new Set(rows.map((e) => ErrorLog.id(e.path, e.stage, e.message)));
  }

  private static id(path: string, stage: string, message: string): string {
    return `${path}\u0000${stage}\u0000${message}`;
  }

  readonly sink: ErrorSink = (path, stage, message) => {
    this.count++;
    const id = ErrorLog.id(path, stage, message);
    if (this.known.has(id)) return;
    this.known.add(id);
    this.pending.push({ path, stage, message });
  };

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.manifest.recordErrors(batch);
  }
}

/**
 * Run tasks on the pool with at most `limit` submitted but not yet consumed, and yield results in
 * submission (plan) order: the reorder window is bounded by the same limit, so memory is too.
 */
async function* inPlanOrder(
  tasks: Iterator<PlanTask>,
  submit: (task: PlanTask) => Promise<WorkerResult>,
  limit: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ task: PlanTask; result: WorkerResult }> {
  const window: { task: PlanTask; result: Promise<WorkerResult> }[] = [];
  let exhausted = false;
  const fill = (): void => {
    while (!exhausted && window.length < limit) {
      const n = tasks.next();
      if (n.done) {
        exhausted = true;
        return;
      }
      const result = submit(n.value);
      // Awaited in order later; until then a failure must not count as unhandled.
      result.catch(() => {});
      window.push({ task: n.value, result });
    }
  };
  fill();
  while (window.length > 0) {
    const head = window.shift() as { task: PlanTask; result: Promise<WorkerResult> };
    const result = await untilAborted(head.result, signal);
    // Refill before the caller writes, so the workers stay busy meanwhile.
    fill();
    yield { task: head.task, result };
  }
}

/** Append one task's samples to the open shard; returns their manifest rows. */
export async function writeResult(writer: ShardWriter, plan: Plan, task: PlanTask, res: WorkerResult, error: ErrorSink): Promise<SampleRow[]> {
  const src = plan.sources[task.source];
  if (res.sourceError) error(src.path, res.sourceError.stage, res.sourceError.message);
  for (const f of res.failures) error(src.path, f.stage, `sample ${f.key}: ${f.message}`);
  const byKey = new Map(task.samples.map((s) => [s.key, s]));
  const rows: SampleRow[] = [];
  for (const o of res.outputs) {
    const s = byKey.get(o.key);
    if (!s) throw new Error(`internal error: worker returned unknown key ${o.key}`);
    const data = o.bytes ?? res.data;
    const view = (r: [number, number]): Buffer => Buffer.from(data.buffer, data.byteOffset + r[0], r[1]);
    const where = await writer.add({ key: o.key, members: { 'gt.png': view(o.gt), json: view(o.json), 'lq.png': view(o.lq) } });
    rows.push({
      key: o.key,
      type: s.type,
      level: s.level,
      level_id: s.level_id,
      params: o.params,
      seed: s.seed,
      source_id: sourceId(src.sha256),
      crop_x: s.crop.x,
      crop_y: s.crop.y,
      width: s.crop.w,
      height: s.crop.h,
      split: s.split,
      real: 0,
      shard: `${plan.shardName(task.shard)}.tar`,
      offset_gt: where.offsets['gt.png'].offset,
      offset_lq: where.offsets['lq.png'].offset,
      lq_sha256: o.lq_sha256,
      gt_sha256: o.gt_sha256,
      psnr: o.psnr,
      type_version: o.type_version,
    });
  }
  return rows;
}

function* taskIterator(plan: Plan, shards: readonly number[], taskSamples: number): Generator<PlanTask> {
  for (const s of shards) yield* plan.tasksOfShard(s, taskSamples);
}

/** What a worker is sent for one plan task. */
export function workerTask(plan: Plan, task: PlanTask, pngLevel: number): WorkerTask {
  const src = plan.sources[task.source];
  return {
    path: src.path,
    sha256: src.sha256,
    rel: src.rel,
    ...(src.depth ? { depth: src.depth } : {}),
    pngLevel,
    samples: task.samples.map((s) => ({ key: s.key, type: s.type, level: s.level, level_id: s.level_id, seed: s.seed, crop: s.crop, split: s.split })),
  };
}

/** Wait for `p`, or reject with InterruptedError as soon as `signal` aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new InterruptedError('interrupted'));
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = (): void => reject(new InterruptedError('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
