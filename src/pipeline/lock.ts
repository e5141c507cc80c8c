import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { checkReplayVersion, getDegradation, ReplayVersionError } from '../degradations/registry.js';
import { isTypeId, TYPE_IDS, type TypeId } from '../degradations/types.js';
import { normalizeRecipe, type Recipe } from './recipe.js';
import type { SoftwareVersions } from './versions.js';

/**
 * `release.lock.json`: everything needed to check a release and to make it again. The software that made
 * the bytes (from the dataset's runs, not from whoever writes the release), the recipe and seed, every
 * source file by content hash, and each shard's checksum with a digest of its manifest rows. Verify and
 * `synthesize --from-release` read it as untrusted input: `parseLock` validates every field they use.
 */

export const RELEASE_LOCK_FILE = 'release.lock.json';
export const LOCK_FORMAT = 'uirgen-release-lock';
export const LOCK_FORMAT_VERSION = 1;

export interface LockSource {
  /** Path relative to its source folder, as synthesize recorded it. */
  path: string;
  sha256: string;
  /** Size of the file in bytes; null when the file was not at hand when the release was made. */
  bytes: number | null;
  width: number | null;
  height: number | null;
}

export interface LockShard {
  name: string;
  samples: number;
  bytes: number;
  sha256: string;
  /** shardRowsDigest: sha256 of the shard's manifest rows, canonically written. */
  rows_sha256: string;
}

export interface LockPlan {
  fingerprint: string;
  samples: number;
  shards: number;
  prefix: string;
}

export interface LockCounts {
  samples: number;
  synthetic: number;
  real: number;
  sources: number;
  errors: number;
  by_split: Record<string, number>;
  by_type: Record<string, number>;
}

export interface ReleaseLock {
  format: typeof LOCK_FORMAT;
  format_version: typeof LOCK_FORMAT_VERSION;
  name: string;
  version: string;
  license: string;
  created: string;
  toolkit: { version: string; git_commit: string | null };
  /** The software that made the shards (the dataset's runs agree on it). */
  software: SoftwareVersions;
  /** The uirgen that wrote this release. */
  released_with: SoftwareVersions;
  /** Null for a dataset of imported pairs only (no synthesize run, no recipe.json). */
  recipe: Recipe | null;
  seed: string | null;
  plan: LockPlan | null;
  sources: LockSource[];
  shards: LockShard[];
  counts: LockCounts;
}

/** A lock that cannot be used; the message names the field. */
export class LockError extends Error {
  override name = 'LockError';
}

/** The samples columns a rows digest covers, in order. */
export const ROW_COLUMNS = [
  'key', 'type', 'level', 'level_id', 'params', 'seed', 'source_id', 'crop_x', 'crop_y', 'width', 'height', 'split', 'real',
  'shard', 'offset_gt', 'offset_lq', 'lq_sha256', 'gt_sha256', 'psnr', 'type_version',
] as const;

/** One row as the digest writes it: a JSON array, psnr as text so Infinity survives. */
export function canonicalRow(row: Record<string, unknown>): string {
  return JSON.stringify(ROW_COLUMNS.map((c) => (c === 'psnr' && row[c] !== null ? String(row[c]) : row[c] ?? null)));
}

/**
 * sha256 over a shard's manifest rows, one canonical line each in key order: equal digests, equal rows
 * (every column, params as stored). Streams the rows, so memory does not grow with the shard.
 */
export function shardRowsDigest(db: Database.Database, shard: string): string {
  const hash = createHash('sha256');
  const stmt = db.prepare(`SELECT ${ROW_COLUMNS.join(', ')} FROM samples WHERE shard = ? ORDER BY key`);
  for (const row of stmt.iterate(shard) as Iterable<Record<string, unknown>>) hash.update(`${canonicalRow(row)}\n`);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Validation

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const HEX64 = /^[0-9a-f]{64}$/;

function str(o: Obj, key: string, where: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || (pattern && !pattern.test(v))) {
    throw new LockError(`${where}.${key} must be ${pattern === HEX64 ? 'a sha256 (64 hex digits)' : 'a non-empty string'}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  }
  return v;
}

function nullableStr(o: Obj, key: string, where: string): string | null {
  return o[key] === null || o[key] === undefined ? null : str(o, key, where);
}

function count(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new LockError(`${where}.${key} must be an integer >= 0, got ${JSON.stringify(v)}`);
  return v as number;
}

function nullableCount(o: Obj, key: string, where: string): number | null {
  return o[key] === null || o[key] === undefined ? null : count(o, key, where);
}

function obj(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (!isObj(v)) throw new LockError(`${where}.${key} must be an object`);
  return v;
}

function list(o: Obj, key: string, where: string): Obj[] {
  const v = o[key];
  if (!Array.isArray(v) || v.some((x) => !isObj(x))) throw new LockError(`${where}.${key} must be a list of objects`);
  return v as Obj[];
}

function counts(o: Obj, where: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(o)) out[k] = count(o, k, where);
  return out;
}

/** A recorded software record (a run's versions JSON or a lock's), validated. */
export function parseSoftware(v: unknown, where: string): SoftwareVersions {
  if (!isObj(v)) throw new LockError(`${where} must be an object`);
  const typesIn = obj(v, 'types', where);
  const types = {} as Record<TypeId, number>;
  for (const [id, version] of Object.entries(typesIn)) {
    if (!isTypeId(id)) throw new LockError(`${where}.types: unknown type ${JSON.stringify(id)}`);
    types[id] = count(typesIn, id, `${where}.types`);
  }
  return {
    uirgen: str(v, 'uirgen', where),
    git_commit: nullableStr(v, 'git_commit', where),
    node: str(v, 'node', where),
    sharp: str(v, 'sharp', where),
    vips: str(v, 'vips', where),
    'better-sqlite3': str(v, 'better-sqlite3', where),
    registry: str(v, 'registry', where),
    types,
  };
}

/** Parse and validate a lock's text; throws LockError naming the first bad field. */
export function parseLock(text: string): ReleaseLock {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new LockError(`not JSON (${(err as Error).message})`);
  }
  if (!isObj(v)) throw new LockError('must be a JSON object');
  if (v.format !== LOCK_FORMAT) throw new LockError(`format must be "${LOCK_FORMAT}", got ${JSON.stringify(v.format)}`);
  if (v.format_version !== LOCK_FORMAT_VERSION) {
    throw new LockError(`format_version ${JSON.stringify(v.format_version)} is not one this uirgen reads (${LOCK_FORMAT_VERSION})`);
  }
  const toolkit = obj(v, 'toolkit', 'lock');
  let recipe: Recipe | null = null;
  if (v.recipe !== null) {
    try {
      recipe = normalizeRecipe(v.recipe);
    } catch (err) {
      throw new LockError(`recipe: ${(err as Error).message}`);
    }
  }
  const planIn = v.plan;
  let plan: LockPlan | null = null;
  if (planIn !== null && planIn !== undefined) {
    if (!isObj(planIn)) throw new LockError('plan must be an object or null');
    plan = { fingerprint: str(planIn, 'fingerprint', 'plan', HEX64), samples: count(planIn, 'samples', 'plan'), shards: count(planIn, 'shards', 'plan'), prefix: str(planIn, 'prefix', 'plan') };
  }
  const c = obj(v, 'counts', 'lock');
  return {
    format: LOCK_FORMAT,
    format_version: LOCK_FORMAT_VERSION,
    name: str(v, 'name', 'lock'),
    version: str(v, 'version', 'lock'),
    license: str(v, 'license', 'lock'),
    created: str(v, 'created', 'lock'),
    toolkit: { version: str(toolkit, 'version', 'toolkit'), git_commit: nullableStr(toolkit, 'git_commit', 'toolkit') },
    software: parseSoftware(v.software, 'software'),
    released_with: parseSoftware(v.released_with, 'released_with'),
    recipe,
    seed: recipe === null ? nullableStr(v, 'seed', 'lock') : str(v, 'seed', 'lock'),
    plan,
    sources: list(v, 'sources', 'lock').map((s, i) => {
      const w = `sources[${i}]`;
      return { path: str(s, 'path', w), sha256: str(s, 'sha256', w, HEX64), bytes: nullableCount(s, 'bytes', w), width: nullableCount(s, 'width', w), height: nullableCount(s, 'height', w) };
    }),
    shards: list(v, 'shards', 'lock').map((s, i) => {
      const w = `shards[${i}]`;
      return { name: str(s, 'name', w), samples: count(s, 'samples', w), bytes: count(s, 'bytes', w), sha256: str(s, 'sha256', w, HEX64), rows_sha256: str(s, 'rows_sha256', w, HEX64) };
    }),
    counts: {
      samples: count(c, 'samples', 'counts'),
      synthetic: count(c, 'synthetic', 'counts'),
      real: count(c, 'real', 'counts'),
      sources: count(c, 'sources', 'counts'),
      errors: count(c, 'errors', 'counts'),
      by_split: counts(obj(c, 'by_split', 'counts'), 'counts.by_split'),
      by_type: counts(obj(c, 'by_type', 'counts'), 'counts.by_type'),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Software comparison

export interface SoftwareCheck {
  /** Differences that may change pixels: replaying or rebuilding must be refused. */
  refusals: string[];
  /** Differences that should not (the toolkit's own version, Node, SQLite bindings). */
  notes: string[];
}

function toolkitText(s: SoftwareVersions): string {
  return `uirgen ${s.uirgen}${s.git_commit ? ` (git commit ${s.git_commit.slice(0, 12)})` : ''}`;
}

/**
 * What differs between the software that made a dataset (`recorded`) and the running one (`current`), for
 * the types the dataset uses. libvips (through sharp) decodes sources, resamples and encodes every PNG, and
 * each type's version pins its rendering: either differing may change bytes, so it is refused, with what
 * to install. The toolkit's version, Node and better-sqlite3 only get a note.
 */
export function compareSoftware(recorded: SoftwareVersions, current: SoftwareVersions, typesUsed: readonly TypeId[]): SoftwareCheck {
  const refusals: string[] = [];
  const notes: string[] = [];
  if (recorded.sharp !== current.sharp) {
    refusals.push(
      `sharp ${recorded.sharp} (libvips ${recorded.vips}) made the release, this uirgen has sharp ${current.sharp} (libvips ${current.vips}): ` +
        `install it with \`npm install sharp@${recorded.sharp}\` in uirgen's folder`,
    );
  } else if (recorded.vips !== current.vips) {
    refusals.push(
      `libvips ${recorded.vips} made the release, sharp ${current.sharp} here uses libvips ${current.vips} (a system libvips?): ` +
        `reinstall sharp@${recorded.sharp} with its bundled libvips (SHARP_IGNORE_GLOBAL_LIBVIPS=1 npm install sharp@${recorded.sharp})`,
    );
  }
  for (const id of typesUsed) {
    // The registry's own rule and wording for replaying another version's params (this uirgen's registry).
    try {
      checkReplayVersion(getDegradation(id), recorded.types[id] ?? null, 'the release');
    } catch (err) {
      if (!(err instanceof ReplayVersionError)) throw err;
      refusals.push(`${err.message.split('; ')[0]}: install the uirgen that made it (${toolkitText(recorded)})`);
    }
  }
  if (recorded.uirgen !== current.uirgen || (recorded.git_commit && current.git_commit && recorded.git_commit !== current.git_commit)) {
    notes.push(`made by ${toolkitText(recorded)}, checked with ${toolkitText(current)}; every type's rendering version agrees`);
  }
  if (recorded.node !== current.node) notes.push(`made with Node ${recorded.node}, running Node ${current.node}`);
  if (recorded.registry !== current.registry && refusals.length === 0) {
    notes.push(`the degradation registry differs (${recorded.registry} then, ${current.registry} now) in types this dataset does not use`);
  }
  return { refusals, notes };
}

/** The dataset's types, as registry ids, from the type column (imported rows included). */
export function typesOf(byType: Record<string, number>): TypeId[] {
  return TYPE_IDS.filter((id) => (byType[id] ?? 0) > 0);
}
