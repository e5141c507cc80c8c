import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { unsafeMemberName } from '../core/untrusted/tar.js';
import { isTypeId, TYPE_IDS, type Params, type TypeId } from '../degradations/types.js';
import { runsSoftware } from './dataset-info.js';
import { compareSoftware, RELEASE_LOCK_FILE, type ReleaseLock } from './lock.js';
import { MANIFEST_FILE } from './manifest.js';
import { createPool, hashFiles } from './pool.js';
import type { ProblemList } from './problems.js';
import type { Recipe, SplitName } from './recipe.js';
import { DEFAULT_TASK_SAMPLES, SHARDS_DIR } from './synthesize.js';
import { softwareVersions } from './versions.js';
import type { WorkerResult, WorkerSample, WorkerTask } from './worker.js';

/**
 * `verify --regenerate N | --regenerate-all`: render samples again from the source files and the params
 * the manifest recorded (the synthesize worker, replaying instead of drawing), and compare both PNGs' bytes
 * with the dataset's. Before any pixel is made it refuses, saying what to do, when a source file is missing
 * or is not the one the dataset was made from (sha256), or when sharp/libvips or a type's rendering
 * version differs from what made the dataset: those would give other bytes for reasons that are not damage.
 */

export interface RegenerateOptions {
  dir: string;
  count: number | 'all';
  recipe: Recipe | null;
  lock: ReleaseLock | null;
  /** Folders holding the source files (default: the recipe's). */
  sources?: string[];
  workers: number;
  problems: ProblemList;
  notes: string[];
}

export interface RegenerateReport {
  requested: number | 'all';
  samples: number;
  matched: number;
  by_type: Record<string, number>;
  sources: number;
}

/** Regenerate refused: the message lists every reason and what to do. */
export class RegenerateRefusal extends Error {
  override name = 'RegenerateRefusal';
}

interface Row {
  key: string;
  type: string;
  level: number;
  level_id: string;
  params: string;
  seed: string;
  source_id: string;
  crop_x: number;
  crop_y: number;
  width: number;
  height: number;
  split: string;
  shard: string;
  lq_sha256: string;
  gt_sha256: string;
  type_version: number | null;
}

const COLUMNS = 'key, type, level, level_id, params, seed, source_id, crop_x, crop_y, width, height, split, shard, lq_sha256, gt_sha256, type_version';
const SYNTHESIZED = 'real = 0 AND seed IS NOT NULL AND source_id IS NOT NULL';

/** N rows spread evenly over the types (as even as their counts allow), each type's evenly over its keys. */
function spreadRows(db: Database.Database, n: number): Row[] {
  const counts = new Map((db.prepare(`SELECT type, count(*) FROM samples WHERE ${SYNTHESIZED} GROUP BY type`).raw().all() as [string, number][]));
  const types = [...counts.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  const quota = new Map(types.map((t) => [t, 0]));
  // Hand out one at a time, round robin over the types that still have rows: even, and exact in total.
  let left = Math.min(n, [...counts.values()].reduce((a, b) => a + b, 0));
  while (left > 0) {
    for (const t of types) {
      if (left === 0) break;
      if ((quota.get(t) as number) < (counts.get(t) as number)) {
        quota.set(t, (quota.get(t) as number) + 1);
        left--;
      }
    }
  }
  const pick = db.prepare(
    `SELECT ${COLUMNS} FROM (SELECT ${COLUMNS}, row_number() OVER (ORDER BY key) AS rn FROM samples WHERE type = ? AND ${SYNTHESIZED})
     WHERE (rn - 1) % ? = 0 ORDER BY key LIMIT ?`,
  );
  const out: Row[] = [];
  for (const t of types) {
    const q = quota.get(t) as number;
    if (q === 0) continue;
    const step = Math.max(1, Math.floor((counts.get(t) as number) / q));
    out.push(...(pick.all(t, step, q) as Row[]));
  }
  return out;
}

function rank(t: string): number {
  const i = (TYPE_IDS as readonly string[]).indexOf(t);
  return i < 0 ? TYPE_IDS.length : i;
}

/** All synthesized rows, a page at a time, ordered by source so each source is decoded once per task. */
function* allRows(db: Database.Database): Generator<Row> {
  const page = db.prepare(`SELECT ${COLUMNS} FROM samples WHERE ${SYNTHESIZED} AND (source_id, key) > (?, ?) ORDER BY source_id, key LIMIT 512`);
  let after: [string, string] = ['', ''];
  for (;;) {
    const rows = page.all(after[0], after[1]) as Row[];
    yield* rows;
    if (rows.length < 512) return;
    const last = rows[rows.length - 1];
    after = [last.source_id, last.key];
  }
}

/** Group consecutive rows of one source into worker-sized tasks. */
function* tasksOf(rows: Iterable<Row>, max: number): Generator<Row[]> {
  let current: Row[] = [];
  for (const r of rows) {
    if (current.length > 0 && (current[0].source_id !== r.source_id || current.length >= max)) {
      yield current;
      current = [];
    }
    current.push(r);
  }
  if (current.length > 0) yield current;
}

interface Located {
  path: string;
  sha256: string;
  rel: string;
}

/** Find every needed source under `dirs` and check its bytes against the dataset's record; refuse otherwise. */
async function locateSources(
  db: Database.Database,
  ids: readonly string[],
  dirs: readonly string[],
  lock: ReleaseLock | null,
  workers: number,
): Promise<Map<string, Located>> {
  const rowOf = db.prepare('SELECT path, sha256 FROM sources WHERE id = ?');
  const locked = lock ? new Set(lock.sources.map((s) => s.sha256)) : null;
  const reasons: string[] = [];
  const found: { id: string; located: Located }[] = [];
  for (const id of ids) {
    const r = rowOf.get(id) as { path: string; sha256: string } | undefined;
    if (!r) {
      reasons.push(`source ${id} is named by samples but not in the manifest's sources table`);
      continue;
    }
    if (locked && !locked.has(r.sha256)) reasons.push(`source ${r.path} (sha256 ${r.sha256}) is not in ${RELEASE_LOCK_FILE}`);
    const unsafe = unsafeMemberName(r.path);
    if (unsafe) {
      reasons.push(`source path ${JSON.stringify(r.path)} has ${unsafe}; not looked up`);
      continue;
    }
    const path = dirs.map((d) => join(d, r.path)).find((p) => {
      try {
        return lstatSync(p).isFile();
      } catch {
        return false;
      }
    });
    if (!path) reasons.push(`source ${r.path} (sha256 ${r.sha256.slice(0, 16)}...) is not under ${dirs.join(', ') || '(no folder given)'}`);
    else found.push({ id, located: { path, sha256: r.sha256, rel: r.path } });
  }
  const outs = await hashFiles(found.map((f) => f.located.path), workers);
  outs.forEach((out, i) => {
    const f = found[i];
    if (!out.ok) reasons.push(`source ${f.located.path} ${out.message}`);
    else if (out.sha256 !== f.located.sha256) {
      reasons.push(
        `source ${f.located.path} has sha256 ${out.sha256}, the dataset was made from ${f.located.sha256}` +
          `${lock ? ` (as ${RELEASE_LOCK_FILE} records)` : ''}: it is not the same file; restore the original`,
      );
    }
  });
  if (reasons.length > 0) {
    const list = reasons.slice(0, 10).map((r) => `  - ${r}`).join('\n');
    const more = reasons.length > 10 ? `\n  ... ${reasons.length} problems in all` : '';
    throw new RegenerateRefusal(
      `cannot regenerate: the source files do not match the dataset's\n${list}${more}\n` +
        'give --sources with the folders that hold the original source files (matched by their path under each folder)',
    );
  }
  return new Map(found.map((f) => [f.id, f.located]));
}

function sampleOf(r: Row): WorkerSample {
  return {
    key: r.key,
    type: r.type as TypeId,
    level: r.level,
    level_id: r.level_id,
    seed: r.seed,
    crop: { x: r.crop_x, y: r.crop_y, w: r.width, h: r.height },
    split: r.split as SplitName,
    params: JSON.parse(r.params) as Params,
    type_version: r.type_version,
  };
}

export async function regenerate(db: Database.Database, o: RegenerateOptions): Promise<RegenerateReport> {
  if (db.prepare(`SELECT 1 FROM samples WHERE ${SYNTHESIZED} LIMIT 1`).get() === undefined) {
    o.notes.push('nothing to regenerate: every sample was imported (uirgen import), none synthesized');
    return { requested: o.count, samples: 0, matched: 0, by_type: {}, sources: 0 };
  }
  if (!o.recipe) throw new RegenerateRefusal('cannot regenerate: the dataset has no readable recipe.json (it fixes the PNG level)');
  const recorded = o.lock?.software ?? runsSoftware(db).software;
  if (!recorded) throw new RegenerateRefusal(`cannot regenerate: ${MANIFEST_FILE} records no software versions (no runs)`);
  const used = TYPE_IDS.filter((t) => db.prepare(`SELECT 1 FROM samples WHERE type = ? AND ${SYNTHESIZED} LIMIT 1`).get(t));
  const check = compareSoftware(recorded, softwareVersions(), used);
  if (check.refusals.length > 0) {
    throw new RegenerateRefusal(
      `cannot regenerate: this uirgen would render other bytes than the one that made the dataset\n${check.refusals.map((r) => `  - ${r}`).join('\n')}`,
    );
  }
  o.notes.push(...check.notes);
  const unknown = db.prepare(`SELECT DISTINCT type FROM samples WHERE ${SYNTHESIZED}`).pluck().all() as string[];
  for (const t of unknown) if (!isTypeId(t)) o.problems.add('row-invalid', MANIFEST_FILE, `samples of type ${JSON.stringify(t)}, which this uirgen does not know; not regenerated`);

  const chosen = o.count === 'all' ? null : spreadRows(db, o.count).filter((r) => isTypeId(r.type));
  const ids = chosen
    ? [...new Set(chosen.map((r) => r.source_id))].sort()
    : (db.prepare(`SELECT DISTINCT source_id FROM samples WHERE ${SYNTHESIZED} ORDER BY source_id`).pluck().all() as string[]);
  const sources = await locateSources(db, ids, o.sources ?? o.recipe.sources, o.lock, o.workers);
  const rows: Iterable<Row> = chosen ? [...chosen].sort((a, b) => (a.source_id < b.source_id ? -1 : a.source_id > b.source_id ? 1 : a.key < b.key ? -1 : 1)) : allRows(db);

  const report: RegenerateReport = { requested: o.count, samples: 0, matched: 0, by_type: {}, sources: sources.size };
  const pool = createPool(o.workers);
  const pngLevel = o.recipe.png_level;
  const compare = (batch: Row[], result: WorkerResult): void => {
    const file = (r: Row): string => `${SHARDS_DIR}/${r.shard}`;
    if (result.sourceError) {
      for (const r of batch) o.problems.add('regenerate-failed', file(r), `sample ${r.key}: its source could not be used (${result.sourceError.message})`, r.key);
      return;
    }
    for (const f of result.failures) {
      const r = batch.find((x) => x.key === f.key) as Row;
      o.problems.add('regenerate-failed', file(r), `sample ${f.key}: ${f.stage}: ${f.message}`, f.key);
    }
    for (const out of result.outputs) {
      const r = batch.find((x) => x.key === out.key) as Row;
      report.samples++;
      report.by_type[r.type] = (report.by_type[r.type] ?? 0) + 1;
      let same = true;
      for (const [what, made, recordedSha] of [['gt.png', out.gt_sha256, r.gt_sha256], ['lq.png', out.lq_sha256, r.lq_sha256]] as const) {
        if (made !== recordedSha) {
          same = false;
          o.problems.add(
            'regenerate-mismatch',
            file(r),
            `sample ${r.key} (${r.type} ${r.level_id}): the regenerated ${what} differs from the dataset's (sha256 ${made}, recorded ${recordedSha})`,
            r.key,
          );
        }
      }
      if (same) report.matched++;
    }
  };
  try {
    const inFlight = new Set<Promise<void>>();
    const limit = o.workers * 2 + 1;
    for (const batch of tasksOf(rows, DEFAULT_TASK_SAMPLES)) {
      let task: WorkerTask;
      const src = sources.get(batch[0].source_id) as Located;
      try {
        task = { path: src.path, sha256: src.sha256, rel: src.rel, pngLevel, samples: batch.map(sampleOf) };
      } catch (err) {
        for (const r of batch) o.problems.add('row-invalid', MANIFEST_FILE, `sample ${r.key}: its params are not JSON (${(err as Error).message})`, r.key);
        continue;
      }
      const p = pool.run(task).then((result) => compare(batch, result));
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await pool.destroy();
  }
  return report;
}
