import type Database from 'better-sqlite3';
import type { Manifest } from './manifest.js';
import type { Plan } from './plan.js';
import { RecipeError } from './recipe.js';

/** Where a manifest keeps its planned rows (planned.ts) and what it says about them. */

export const PLAN_TABLE = 'plan';
export const PLAN_META_KEY = 'plan';

/** What `meta` says about the plan table (JSON under the key 'plan'). */
export interface PlanMeta {
  fingerprint: string;
  samples: number;
  shards: number;
  shard_samples: number;
  prefix: string;
  /** Made from --virtual-sources stand-ins, not real folders. */
  virtual: boolean;
  sources: number;
  created: string;
}

/** The plan meta of a manifest, or null when it holds no (complete) plan. */
export function readPlanMeta(db: Database.Database): PlanMeta | null {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!hasMeta) return null;
  const text = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(PLAN_META_KEY) as string | undefined;
  return text === undefined ? null : (JSON.parse(text) as PlanMeta);
}

export function hasPlanTable(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(PLAN_TABLE) !== undefined;
}

/**
 * Refuse to render into a dataset planned from other sources or another recipe (its planned rows
 * would not be the rendered ones), and into a virtual plan, whatever it matches.
 */
export function checkPlanned(m: Manifest, plan: Plan, out: string): void {
  const meta = readPlanMeta(m.db);
  if (!meta) return;
  if (meta.virtual) {
    throw new RecipeError(
      `${out} holds a plan made from virtual sources (uirgen plan --virtual-sources), for inspection only; ` +
        'synthesize into a new --out, or plan again over the real folders',
    );
  }
  if (meta.fingerprint !== plan.fingerprint) {
    throw new RecipeError(
      `${out} was planned from other sources or another recipe (plan fingerprint ${meta.fingerprint.slice(0, 12)}, ` +
        `now ${plan.fingerprint.slice(0, 12)}); restore them, or use a new --out`,
    );
  }
}

