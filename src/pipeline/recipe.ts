import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEPTH_KINDS, isDepthKind, type DepthKind } from '../core/depthmap.js';
import { TYPE_IDS, isTypeId, type TypeId } from '../degradations/types.js';
import { IMPORT_LAYOUT_NAMES, isImportLayout, type ImportLayoutName } from './import-layouts.js';

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
  /** Draw only from sources of these collections (names in Recipe.collections); default: every source. */
  collections?: string[];
}

/** A named collection of clean photos (LSDIR, DF2K, ...) that a user maps to a local folder. */
export interface CollectionSpec {
  /** The published number of images: what --virtual-sources stands in with. */
  images: number;
  /** A typical image size, for virtual sources. */
  width: number;
  height: number;
  /** The local folder; relative ones resolve against the recipe's folder. Set it here or with --collection NAME=DIR. */
  path?: string;
  /** Where the figures come from, and how sure they are. */
  citation?: string;
}

/** A paired dataset the composition expects to be added with `uirgen import` (not synthesized). */
export interface ImportSpec {
  type: TypeId;
  /** The datasets of this row of the composition (each imported on its own). */
  datasets: string[];
  /** Pairs expected in all. */
  count: number;
  /** Real captures (import --real). */
  real: boolean;
  /** The import layout that fits the datasets' folders (import-layouts.ts). */
  layout: ImportLayoutName;
  notes?: string;
}

/**
 * Real depth maps for the sources: a folder of greyscale PNGs (16-bit, as MiDaS / Depth Anything write them),
 * each named like its source (same path below the folder, same stem, `.png`), used by the types that need
 * scene depth instead of the estimate.
 */
export interface DepthSpec {
  dir: string;
  /** `inverse`: larger = nearer (relative inverse depth, MiDaS and Depth Anything); `depth`: larger = farther. */
  kind: DepthKind;
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
  /** Named collections of sources, in the order given (the first holding an image keeps it); absent: none. */
  collections?: Record<string, CollectionSpec>;
  /** Types in TYPE_IDS order; absent types are not made. */
  types: Partial<Record<TypeId, TypeSpec>>;
  /** Paired datasets to add with `uirgen import`; absent: none. */
  imports?: ImportSpec[];
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
  /** Per-source depth maps; absent: the types that need depth estimate it from each crop. */
  depth?: DepthSpec;
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
  'name', 'description', 'notes', 'sources', 'collections', 'crop', 'seed', 'samples', 'per_source', 'types', 'imports',
  'level_spread', 'splits', 'shard_samples', 'prefix', 'png_level', 'depth', 'version',
]);

const COLLECTION_NAME = /^[A-Za-z0-9_.-]{1,40}$/;

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
    if (k !== 'weight' && k !== 'count' && k !== 'levels' && k !== 'collections') {
      throw new RecipeError(`types.${id}: unknown field "${k}" (accepted: weight, count, levels, collections)`);
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
  if (v.collections !== undefined) {
    if (!Array.isArray(v.collections) || v.collections.length === 0 || v.collections.some((c) => typeof c !== 'string')) {
      throw new RecipeError(`types.${id}.collections must be a non-empty list of collection names, got ${JSON.stringify(v.collections)}`);
    }
    spec.collections = [...new Set(v.collections as string[])];
  }
  return spec;
}

function pngLevel(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 9) {
    throw new RecipeError(`png_level must be an integer in 0..9 (deflate level), got ${JSON.stringify(v)}`);
  }
  return v;
}

/** `"DIR"` or `{"dir": "DIR", "kind": "inverse" | "depth"}` (kind defaults to inverse, what MiDaS writes). */
function normalizeDepth(v: unknown, base?: string): DepthSpec | undefined {
  if (v === undefined || v === null) return undefined;
  const spec = typeof v === 'string' ? { dir: v } : v;
  if (!isObject(spec)) throw new RecipeError(`depth must be a folder of depth maps or {"dir": DIR, "kind": "inverse"|"depth"}, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(spec)) {
    if (k !== 'dir' && k !== 'kind') throw new RecipeError(`depth: unknown field "${k}" (accepted: dir, kind)`);
  }
  const dir = text('depth.dir', spec.dir, undefined, 'a folder path');
  const kind = spec.kind ?? 'inverse';
  if (!isDepthKind(kind)) throw new RecipeError(`depth.kind must be ${DEPTH_KINDS.map((k) => `"${k}"`).join(' or ')}, got ${JSON.stringify(kind)}`);
  return { dir: base && !isAbsolute(dir) ? resolve(base, dir) : dir, kind };
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

function normalizeCollections(v: unknown, base: string | undefined): Record<string, CollectionSpec> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.keys(v).length === 0) {
    throw new RecipeError(`collections must be an object {NAME: {"images", "width", "height", "path"?, "citation"?}}, got ${JSON.stringify(v)}`);
  }
  const out: Record<string, CollectionSpec> = {};
  for (const [name, spec] of Object.entries(v)) {
    if (!COLLECTION_NAME.test(name)) throw new RecipeError(`collections: name "${name}" must be 1..40 characters of A-Z a-z 0-9 _ . -`);
    if (!isObject(spec)) throw new RecipeError(`collections.${name} must be an object, got ${JSON.stringify(spec)}`);
    for (const k of Object.keys(spec)) {
      if (!['images', 'width', 'height', 'path', 'citation'].includes(k)) {
        throw new RecipeError(`collections.${name}: unknown field "${k}" (accepted: images, width, height, path, citation)`);
      }
    }
    const c: CollectionSpec = {
      images: positiveInt(`collections.${name}.images`, spec.images),
      width: positiveInt(`collections.${name}.width`, spec.width, 100_000),
      height: positiveInt(`collections.${name}.height`, spec.height, 100_000),
    };
    if (spec.path !== undefined && spec.path !== null) {
      const dir = text(`collections.${name}.path`, spec.path, undefined, 'a folder path');
      c.path = base && !isAbsolute(dir) ? resolve(base, dir) : dir;
    }
    if (spec.citation !== undefined) c.citation = text(`collections.${name}.citation`, spec.citation);
    out[name] = c;
  }
  return out;
}

function normalizeImports(v: unknown): ImportSpec[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new RecipeError(`imports must be a list of {"type", "datasets", "count", "real", "layout"}, got ${JSON.stringify(v)}`);
  const seen = new Set<string>();
  return v.map((e, i): ImportSpec => {
    const at = `imports[${i}]`;
    if (!isObject(e)) throw new RecipeError(`${at} must be an object, got ${JSON.stringify(e)}`);
    for (const k of Object.keys(e)) {
      if (!['type', 'datasets', 'count', 'real', 'layout', 'notes'].includes(k)) {
        throw new RecipeError(`${at}: unknown field "${k}" (accepted: type, datasets, count, real, layout, notes)`);
      }
    }
    const type = typeof e.type === 'string' ? e.type.toUpperCase() : '';
    if (!isTypeId(type)) throw new RecipeError(`${at}.type: unknown type ${JSON.stringify(e.type)} (known: ${TYPE_IDS.join(' ')})`);
    if (!Array.isArray(e.datasets) || e.datasets.length === 0 || e.datasets.some((d) => typeof d !== 'string' || d.length === 0)) {
      throw new RecipeError(`${at}.datasets must be a non-empty list of dataset names, got ${JSON.stringify(e.datasets)}`);
    }
    const real = e.real === undefined ? true : e.real;
    if (typeof real !== 'boolean') throw new RecipeError(`${at}.real must be true or false, got ${JSON.stringify(e.real)}`);
    if (typeof e.layout !== 'string' || !isImportLayout(e.layout)) {
      throw new RecipeError(`${at}.layout must be one of ${IMPORT_LAYOUT_NAMES.join(', ')}, got ${JSON.stringify(e.layout)}`);
    }
    const id = `${type}/${real ? 'real' : 'imported'}`;
    if (seen.has(id)) throw new RecipeError(`${at}: a second ${real ? 'real' : 'non-real'} import of ${type}; list all its datasets in one entry`);
    seen.add(id);
    const spec: ImportSpec = { type, datasets: e.datasets as string[], count: positiveInt(`${at}.count`, e.count), real, layout: e.layout };
    if (e.notes !== undefined) spec.notes = text(`${at}.notes`, e.notes);
    return spec;
  });
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
  const collections = normalizeCollections(input.collections, base);
  if (collections && sources.length > 0) {
    throw new RecipeError('give sources or collections, not both (collections name their own folders)');
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
  if (collections) recipe.collections = collections;
  for (const [id, spec] of Object.entries(recipe.types)) {
    for (const c of spec.collections ?? []) {
      if (!collections || !(c in collections)) {
        throw new RecipeError(
          `types.${id}.collections: unknown collection "${c}" (${collections ? `recipe collections: ${Object.keys(collections).join(', ')}` : 'the recipe has no collections'})`,
        );
      }
    }
  }
  const imports = normalizeImports(input.imports);
  if (imports) recipe.imports = imports;
  const depth = normalizeDepth(input.depth, base);
  if (depth) recipe.depth = depth;
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
    ...(r.collections !== undefined ? { collections: canonicalCollections(r.collections) } : {}),
    crop: r.crop,
    seed: r.seed,
    samples: r.samples,
    per_source: r.per_source,
    types: {},
    ...(r.imports !== undefined ? { imports: r.imports.map(canonicalImport) } : {}),
    level_spread: r.level_spread,
    splits: { train: r.splits.train, val: r.splits.val, test: r.splits.test },
    shard_samples: r.shard_samples,
    prefix: r.prefix,
    png_level: r.png_level,
    ...(r.depth ? { depth: { dir: r.depth.dir, kind: r.depth.kind } } : {}),
  };
  for (const id of TYPE_IDS) {
    const s = r.types[id];
    if (!s) continue;
    out.types[id] = {
      ...(s.count !== undefined ? { count: s.count } : { weight: s.weight ?? 1 }),
      ...(s.levels ? { levels: s.levels } : {}),
      ...(s.collections ? { collections: s.collections } : {}),
    };
  }
  return out;
}

function canonicalCollections(c: Record<string, CollectionSpec>): Record<string, CollectionSpec> {
  const out: Record<string, CollectionSpec> = {};
  for (const [name, s] of Object.entries(c)) {
    out[name] = {
      images: s.images,
      width: s.width,
      height: s.height,
      ...(s.path !== undefined ? { path: s.path } : {}),
      ...(s.citation !== undefined ? { citation: s.citation } : {}),
    };
  }
  return out;
}

function canonicalImport(e: ImportSpec): ImportSpec {
  return { type: e.type, datasets: e.datasets, count: e.count, real: e.real, layout: e.layout, ...(e.notes !== undefined ? { notes: e.notes } : {}) };
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
  /** Folders of clean photos; on a recipe with collections they replace the collections (every type draws from them). */
  sources?: string[];
  /** Collection name -> local folder (--collection NAME=DIR). */
  collections?: Record<string, string>;
  crop?: number;
  seed?: string;
  samples?: number;
  per_source?: number;
  types?: string[];
  shard_samples?: number;
  /** A folder of depth maps (replaces the recipe's), and their kind. */
  depth?: string;
  depth_kind?: string;
}

/**
 * Command-line options over a recipe. --types keeps the recipe's spec for each listed type (a type
 * the recipe does not list gets weight 1, unless the recipe counts); --samples and --per-source
 * replace each other.
 */
export function applyOverrides(recipe: Recipe, o: RecipeOverrides): Recipe {
  if (o.samples !== undefined && o.per_source !== undefined) throw new RecipeError('give --samples or --per-source, not both');
  if (o.sources !== undefined && o.collections !== undefined) throw new RecipeError('give --sources or --collection, not both');
  const next: Record<string, unknown> = { ...recipe };
  if (o.sources !== undefined) {
    next.sources = o.sources;
    if (recipe.collections) {
      next.collections = undefined;
      next.types = withoutCollections(recipe.types);
    }
  }
  if (o.collections !== undefined) {
    if (!recipe.collections) throw new RecipeError('--collection: this recipe has no collections; give --sources DIR...');
    const mapped: Record<string, CollectionSpec> = { ...recipe.collections };
    for (const [name, dir] of Object.entries(o.collections)) {
      if (!(name in mapped)) throw new RecipeError(`--collection: unknown collection "${name}" (recipe collections: ${Object.keys(mapped).join(', ')})`);
      mapped[name] = { ...mapped[name], path: dir };
    }
    next.collections = mapped;
  }
  if (o.crop !== undefined) next.crop = o.crop;
  if (o.seed !== undefined) next.seed = o.seed;
  if (o.shard_samples !== undefined) next.shard_samples = o.shard_samples;
  if (o.depth_kind !== undefined && o.depth === undefined && !recipe.depth) {
    throw new RecipeError('--depth-kind says how to read the maps of --depth DIR; give --depth too');
  }
  if (o.depth !== undefined || o.depth_kind !== undefined) {
    next.depth = { dir: o.depth ?? recipe.depth?.dir, kind: o.depth_kind ?? recipe.depth?.kind ?? 'inverse' };
  }
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
    next.types = o.sources !== undefined && recipe.collections ? withoutCollections(types as Recipe['types']) : types;
  }
  return normalizeRecipe(next);
}

function withoutCollections(types: Recipe['types']): Recipe['types'] {
  const out: Recipe['types'] = {};
  for (const [id, spec] of Object.entries(types) as [TypeId, TypeSpec][]) {
    const { collections: _c, ...rest } = spec;
    out[id] = rest;
  }
  return out;
}

/**
 * The recipe fields that decide the samples: everything but where the sources and depth maps live, the prose,
 * the collections' published figures and the expected imports (which are not synthesized). Of the collections
 * only the names count, in order (the first holding an image keeps it); of the depth maps only their kind (their
 * contents are in the plan's fingerprint).
 */
export function planIdentity(r: Recipe): string {
  const { sources: _s, description: _d, notes: _n, name: _m, imports: _i, collections, depth, ...rest } = r;
  return JSON.stringify({
    ...rest,
    ...(collections ? { collections: Object.keys(collections) } : {}),
    ...(depth ? { depth: { kind: depth.kind } } : {}),
  });
}
