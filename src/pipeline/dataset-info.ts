import type Database from 'better-sqlite3';
import { LockError, parseSoftware, type LockCounts } from './lock.js';
import type { PlanRecord } from './synthesize.js';
import type { SoftwareVersions } from './versions.js';

/**
 * Facts about a dataset read from its manifest with SQL aggregates (never all rows into JS): the counts a
 * lock and a card report, and the software its runs recorded. Shared by release, verify and rebuild.
 */

export function datasetCounts(db: Database.Database): LockCounts {
  const one = (sql: string): number => db.prepare(sql).pluck().get() as number;
  const grouped = (sql: string): Record<string, number> =>
    Object.fromEntries((db.prepare(sql).raw().all() as [string, number][]).map(([k, n]) => [String(k), n]));
  return {
    samples: one('SELECT count(*) FROM samples'),
    synthetic: one('SELECT count(*) FROM samples WHERE real = 0'),
    real: one('SELECT count(*) FROM samples WHERE real = 1'),
    sources: one('SELECT count(*) FROM sources'),
    errors: one('SELECT count(*) FROM errors'),
    by_split: grouped('SELECT split, count(*) FROM samples GROUP BY split ORDER BY split'),
    by_type: grouped('SELECT type, count(*) FROM samples GROUP BY type ORDER BY type'),
  };
}

export interface LevelCount {
  type: string;
  level: number;
  level_id: string;
  samples: number;
}

/** Samples per (type, level), in type and level order. */
export function levelCounts(db: Database.Database): LevelCount[] {
  return db
    .prepare('SELECT type, level, level_id, count(*) AS samples FROM samples GROUP BY type, level, level_id ORDER BY type, level')
    .all() as LevelCount[];
}

export interface RunsSoftware {
  /** What the runs agree on (the latest run's record); null when no run recorded one. */
  software: SoftwareVersions | null;
  /** Runs whose pixel-relevant software differs from the latest's, in words. */
  conflicts: string[];
  /** Runs that never finished (interrupted, or still going). */
  unfinished: { id: number; started: string }[];
}

const PIXEL_FIELDS = ['sharp', 'vips'] as const;

/**
 * The software recorded by the dataset's runs. A dataset resumed or merged under other versions of sharp,
 * libvips or the degradation types has shards made by both, which no single toolkit can rebuild: that is
 * reported as a conflict.
 */
export function runsSoftware(db: Database.Database): RunsSoftware {
  const runs = db.prepare('SELECT id, started, finished, versions FROM runs ORDER BY id').all() as {
    id: number;
    started: string;
    finished: string | null;
    versions: string;
  }[];
  const unfinished = runs.filter((r) => r.finished === null).map((r) => ({ id: r.id, started: r.started }));
  const parsed: { id: number; software: SoftwareVersions }[] = [];
  const conflicts: string[] = [];
  for (const r of runs) {
    try {
      const v = JSON.parse(r.versions) as Record<string, unknown>;
      // Runs recorded before the git commit was, have none.
      parsed.push({ id: r.id, software: parseSoftware({ git_commit: null, ...v }, `runs[${r.id}].versions`) });
    } catch (err) {
      conflicts.push(`run ${r.id}: its versions record cannot be read (${err instanceof LockError || err instanceof SyntaxError ? err.message : String(err)})`);
    }
  }
  const latest = parsed[parsed.length - 1]?.software ?? null;
  if (latest) {
    for (const { id, software } of parsed) {
      for (const f of PIXEL_FIELDS) {
        if (software[f] !== latest[f]) conflicts.push(`run ${id} recorded ${f} ${software[f]}, the latest run ${latest[f]}`);
      }
      for (const [t, v] of Object.entries(software.types)) {
        if (latest.types[t as keyof typeof latest.types] !== v) conflicts.push(`run ${id} rendered ${t} as version ${v}, the latest run as ${latest.types[t as keyof typeof latest.types]}`);
      }
    }
  }
  return { software: latest, conflicts, unfinished };
}

/** The plan record of the latest run that made one (synthesize writes it into the run's versions). */
export function planOfRuns(db: Database.Database): PlanRecord | null {
  const rows = db.prepare('SELECT versions FROM runs ORDER BY id DESC').pluck().all() as string[];
  for (const text of rows) {
    let v: { plan?: PlanRecord };
    try {
      v = JSON.parse(text) as { plan?: PlanRecord };
    } catch {
      continue;
    }
    const p = v.plan;
    if (p && typeof p.fingerprint === 'string' && Number.isSafeInteger(p.shards) && Number.isSafeInteger(p.samples) && typeof p.prefix === 'string') return p;
  }
  return null;
}
