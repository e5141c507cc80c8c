import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { TYPE_IDS, isTypeId, type TypeId } from '../degradations/types.js';

/**
 * A synthesis recipe: what `uirgen synthesize` makes, saved as DS/recipe.json.
 *
 * The file a user writes may leave most fields out; `normalizeRecipe` fills the defaults and
 * returns the canonical form (every field present, types in the registry's order), which is what
 * gets saved and compared on resume and merge, so two runs agree exactly when their normalized
 * recipes are equal.
 */

export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** A type's share of the dataset: a relative weight or an absolute count, and optionally a subset of its levels. */
export interface TypeSpec {
  weight?: number;
  count?: number;
  /** Level indices or stable ids (e.g. "gaussian:25"); default: all the type's levels. */
  levels?: (string | number)[];
}

export interface Recipe {
  name: string;
  description?: string;
  notes?: string;
  /** Source folders; relative ones are resolved against the recipe file's folder when read from a file. */
  sources: string[];
  /** Side of the square crops, in pixels. */
  crop: number;
  seed: string;
  /** Total samples (distributed evenly over the usable sources), or null. */
  samples: number | null;
  /** Samples per usable source, or null. */
  per_source: number | null;
  /** Types in TYPE_IDS order; absent types are not made. */
  types: Partial<Record<TypeId, TypeSpec>>;
  /** How each type's samples are spread over its levels ("even": counts differ by at most one). */
  level_spread: 'even';
  /** Fractions of sources per split; sum to 1. */
  splits: Record<SplitName, number>;
  shard_samples: number;
  /** Shard names are `<prefix>-NNNNNN.tar`. */
  prefix: string;
  /**
   * Deflate level of the PNGs (src/core/deflate.ts; lossless at every level; it changes bytes, so it
   * is part of the recipe): 0 stored, 1 runs (the default: the smallest and fastest for photographs,
   * and the one with a native twin), 2..9 LZ77 for content with long repeats.
   */
  png_level: number;
}

export const DEFAULT_CROP = 256;
export const DEFAULT_PER_SOURCE = 10;
export const DEFAULT_SHARD_SAMPLES = 1000;
export const DEFAULT_PREFIX = 'uir';
export const DEFAULT_SEED = '0';
export const DEFAULT_PNG_LEVEL = 1;
export const DEFAULT_SPLITS: Record<SplitName, number> = { train: 0.9, val: 0.05, test: 0.05 };

/** A recipe file or option that cannot be used; the message names the field and what it accepts. */
export class RecipeError extends Error {
  override name = 'RecipeError';
}

const KNOWN_FIELDS = new Set([
  'name', 'description', 'notes', 'sources', 'crop', 'seed', 'samples', 'per_source', 'types', 'level_spread',
  'splits', 'shard_samples', 'prefix', 'png_level', 'version',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new RecipeError(`${field} must be an integer in 1..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalCount(field: string, v: unknown): number | null {
  return v === undefined || v === null ? null : positiveInt(field, v);
}

function text(field: string, v: unknown, pattern?: RegExp, what?: string): string {
  if (typeof v !== 'string' || v.length === 0 || (pattern && !pattern.test(v))) {
    throw new RecipeError(`${field} must be ${what ?? 'a non-empty string'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function normalizeTypeSpec(id: TypeId, v: unknown): TypeSpec {
  if (v === true) return { weight: 1 };
  if (typeof v === 'number') return { weight: weightOf(`types.${id}`, v) };
  if (!isObject(v)) {
    throw new RecipeError(`types.${id} must be a weight (number > 0), true, or {"weight"|"count", "levels"}, got ${JSON.stringify(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (k !== 'weight' && k !== 'count' && k !== 'levels') {
      throw new RecipeError(`types.${id}: unknown field "${k}" (accepted: weight, count, levels)`);
    }
  }
  if (v.weight !== undefined && v.count !== undefined) {
    throw new RecipeError(`types.${id}: give a weight or a count, not both`);
  }
  const spec: TypeSpec = {};
  if (v.count !== undefined) spec.count = positiveInt(`types.${id}.count`, v.count);
  else spec.weight = v.weight === undefined ? 1 : weightOf(`types.${id}.weight`, v.weight);
  if (v.levels !== undefined) {
    if (!Array.isArray(v.levels) || v.levels.length === 0) {
      throw new RecipeError(`types.${id}.levels must be a non-empty list of level indices or ids, got ${JSON.stringify(v.levels)}`);
    }
    spec.levels = v.levels.map((l, i) => {
      if ((typeof l === 'number' && Number.isInteger(l) && l >= 0) || (typeof l === 'string' && l.length > 0)) return l;
      throw new RecipeError(`types.${id}.levels[${i}] must be a level index (integer >= 0) or a level id like "gaussian:25", got ${JSON.stringify(l)}`);
    });
  }
  return spec;
}

function pngLevel(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 9) {
    throw new RecipeError(`png_level must be an integer in 0..9 (deflate level), got ${JSON.stringify(v)}`);
  }
  return v;
}

function weightOf(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RecipeError(`${field} must be a finite number > 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

function normalizeTypes(v: unknown): Partial<Record<TypeId, TypeSpec>> {
  const out: Partial<Record<TypeId, TypeSpec>> = {};
  if (v === undefined || v === 'all') {
    for (const id of TYPE_IDS) out[id] = { weight: 1 };
    return out;
  }
  let entries: [string, unknown][];
  if (Array.isArray(v)) entries = v.map((id) => [String(id), true]);
  else if (isObject(v)) entries = Object.entries(v);
  else throw new RecipeError(`types must be "all", a list of type ids, or an object {TYPE: spec}, got ${JSON.stringify(v)}`);
  const given = new Map<TypeId, unknown>();
  for (const [raw, spec] of entries) {
    const id = raw.toUpperCase();
    if (!isTypeId(id)) throw new RecipeError(`types: unknown type "${raw}" (known: ${TYPE_IDS.join(' ')})`);
    if (given.has(id)) throw new RecipeError(`types: "${id}" is given twice`);
    given.set(id, spec);
  }
  if (given.size === 0) throw new RecipeError('types must name at least one type');
  for (const id of TYPE_IDS) if (given.has(id)) out[id] = normalizeTypeSpec(id, given.get(id));
  const withCount = Object.values(out).filter((s) => s.count !== undefined).length;
  if (withCount > 0 && withCount < given.size) {
    throw new RecipeError('types: give every type a count, or none (weights); a mix has no single meaning');
  }
  return out;
}

function normalizeSplits(v: unknown): Record<SplitName, number> {
  if (v === undefined) return { ...DEFAULT_SPLITS };
  if (!isObject(v)) throw new RecipeError(`splits must be an object like {"train": 0.9, "val": 0.05, "test": 0.05}, got ${JSON.stringify(v)}`);
  const out: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  for (const [k, f] of Object.entries(v)) {
    if (!(SPLIT_NAMES as readonly string[]).includes(k)) throw new RecipeError(`splits: unknown split "${k}" (accepted: train, val, test)`);
    if (typeof f !== 'number' || !Number.isFinite(f) || f < 0 || f > 1) {
      throw new RecipeError(`splits.${k} must be a fraction in [0, 1], got ${JSON.stringify(f)}`);
    }
    out[k as SplitName] = f;
  }
  const sum = out.train + out.val + out.test;
  if (Math.abs(sum - 1) > 1e-9) throw new RecipeError(`splits must sum to 1, got ${sum}`);
  return out;
}

/** Validate a parsed recipe object and fill every default. `base` resolves relative source folders. */
export function normalizeRecipe(input: unknown, base?: string): Recipe {
  if (!isObject(input)) throw new RecipeError(`a recipe must be a JSON object, got ${JSON.stringify(input)}`);
  for (const k of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(k)) throw new RecipeError(`unknown recipe field "${k}" (accepted: ${[...KNOWN_FIELDS].join(', ')})`);
  }
  if (input.version !== undefined && input.version !== 1) {
    throw new RecipeError(`version must be 1 (this toolkit's recipe format), got ${JSON.stringify(input.version)}`);
  }
  let sources: string[] = [];
  if (input.sources !== undefined) {
    if (!Array.isArray(input.sources)) throw new RecipeError(`sources must be a list of folders, got ${JSON.stringify(input.sources)}`);
    sources = input.sources.map((s, i) => {
      const dir = text(`sources[${i}]`, s, undefined, 'a folder path');
      return base && !isAbsolute(dir) ? resolve(base, dir) : dir;
    });
  }
  const samples = optionalCount('samples', input.samples);
  const perSource = optionalCount('per_source', input.per_source);
  if (samples !== null && perSource !== null) throw new RecipeError('give samples or per_source, not both');
  const seed = input.seed === undefined ? DEFAULT_SEED : typeof input.seed === 'number' && Number.isSafeInteger(input.seed)
    ? String(input.seed)
    : text('seed', input.seed, undefined, 'a string or an integer');
  if (input.level_spread !== undefined && input.level_spread !== 'even') {
    throw new RecipeError(`level_spread must be "even", got ${JSON.stringify(input.level_spread)}`);
  }
  const recipe: Recipe = {
    name: input.name === undefined ? 'dataset' : text('name', input.name),
    sources,
    crop: input.crop === undefined ? DEFAULT_CROP : positiveInt('crop', input.crop, 8192),
    seed,
    samples,
    per_source: perSource,
    types: normalizeTypes(input.types),
    level_spread: 'even',
    splits: normalizeSplits(input.splits),
    shard_samples: input.shard_samples === undefined ? DEFAULT_SHARD_SAMPLES : positiveInt('shard_samples', input.shard_samples, 1_000_000),
    prefix: input.prefix === undefined ? DEFAULT_PREFIX : text('prefix', input.prefix, /^[A-Za-z0-9_-]{1,40}$/, '1..40 characters of A-Z a-z 0-9 _ -'),
    png_level: input.png_level === undefined ? DEFAULT_PNG_LEVEL : pngLevel(input.png_level),
  };
  if (input.description !== undefined) recipe.description = text('description', input.description);
  if (input.notes !== undefined) recipe.notes = text('notes', input.notes);
  return canonical(recipe);
}

/** Field order fixed, so JSON.stringify of equal recipes gives equal text. */
function canonical(r: Recipe): Recipe {
  const out: Recipe = {
    name: r.name,
    ...(r.description !== undefined ? { description: r.description } : {}),
    ...(r.notes !== undefined ? { notes: r.notes } : {}),
    sources: r.sources,
    crop: r.crop,
    seed: r.seed,
    samples: r.samples,
    per_source: r.per_source,
    types: {},
    level_spread: r.level_spread,
    splits: { train: r.splits.train, val: r.splits.val, test: r.splits.test },
    shard_samples: r.shard_samples,
    prefix: r.prefix,
    png_level: r.png_level,
  };
  for (const id of TYPE_IDS) {
    const s = r.types[id];
    if (!s) continue;
    out.types[id] = {
      ...(s.count !== undefined ? { count: s.count } : { weight: s.weight ?? 1 }),
      ...(s.levels ? { levels: s.levels } : {}),
    };
  }
  return out;
}

export async function readRecipe(path: string): Promise<Recipe> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new RecipeError(`${path}: ${e.code === 'ENOENT' ? 'file not found' : `cannot read recipe (${e.message})`}`);
  }
  try {
    return normalizeRecipe(parsed, dirname(resolve(path)));
  } catch (err) {
    if (err instanceof RecipeError) throw new RecipeError(`${path}: ${err.message}`);
    throw err;
  }
}

/** What the command line can override; undefined leaves the recipe's value. */
export interface RecipeOverrides {
  sources?: string[];
  crop?: number;
  seed?: string;
  samples?: number;
  per_source?: number;
  types?: string[];
  shard_samples?: number;
}

/**
 * Command-line options over a recipe. --types keeps the recipe's spec for each listed type (a type
 * the recipe does not list gets weight 1, unless the recipe counts); --samples and --per-source
 * replace each other.
 */
export function applyOverrides(recipe: Recipe, o: RecipeOverrides): Recipe {
  if (o.samples !== undefined && o.per_source !== undefined) throw new RecipeError('give --samples or --per-source, not both');
  const next: Record<string, unknown> = { ...recipe };
  if (o.sources !== undefined) next.sources = o.sources;
  if (o.crop !== undefined) next.crop = o.crop;
  if (o.seed !== undefined) next.seed = o.seed;
  if (o.shard_samples !== undefined) next.shard_samples = o.shard_samples;
  if (o.samples !== undefined) {
    next.samples = o.samples;
    next.per_source = null;
  }
  if (o.per_source !== undefined) {
    next.per_source = o.per_source;
    next.samples = null;
  }
  if (o.types !== undefined) {
    const types: Record<string, unknown> = {};
    for (const raw of o.types) {
      const id = raw.trim().toUpperCase();
      if (!isTypeId(id)) throw new RecipeError(`--types: unknown type "${raw}" (known: ${TYPE_IDS.join(' ')})`);
      const spec = recipe.types[id];
      if (!spec && Object.values(recipe.types).some((s) => s.count !== undefined)) {
        throw new RecipeError(`--types: ${id} has no count in the recipe, which gives every type a count; add it there`);
      }
      types[id] = spec ?? { weight: 1 };
    }
    next.types = types;
  }
  return normalizeRecipe(next);
}

/** The recipe fields that decide the samples (everything but where the sources live and the prose). */
export function planIdentity(r: Recipe): string {
  const { sources: _s, description: _d, notes: _n, name: _m, ...rest } = r;
  return JSON.stringify(rest);
}
