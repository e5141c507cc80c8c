import { stat } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { ImageInputError, probeImage } from '../core/io.js';
import type { PlanSource } from './plan.js';
import { mapLimit } from './pool.js';
import { RecipeError, type Recipe } from './recipe.js';
import { fingerprint, walkSources } from './sources.js';

/**
 * The usable source images of a recipe: its `sources` folders, or the folders its named
 * collections are mapped to (each image tagged with its collection). Walked, fingerprinted and
 * probed; an unusable file (unreadable, too small for the crop, a duplicate) goes to the error
 * sink with the reason and is left out. `synthesize` and `plan` both start here, so a plan over
 * the same folders sees exactly the sources a synthesize run will.
 */

/** The run stopped on request; what is committed stays, a rerun resumes. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

export type ErrorSink = (path: string, stage: string, message: string) => void;

export interface Discovered {
  sources: PlanSource[];
  /** Files looked at (images by extension). */
  files: number;
  /** The folders walked, for messages. */
  where: string;
}

/** A folder to walk, and the collection its images belong to (none without collections). */
export interface SourceFolder {
  dir: string;
  collection?: string;
}


function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/** Names of the collections the recipe's types draw from (all of them if a type draws from every source). */
export function collectionsInUse(recipe: Recipe): string[] {
  const all = Object.keys(recipe.collections ?? {});
  const specs = Object.values(recipe.types);
  if (specs.some((s) => !s.collections)) return all;
  const used = new Set(specs.flatMap((s) => s.collections ?? []));
  return all.filter((c) => used.has(c));
}

/** The folders a recipe's sources come from: its collections' folders when it has collections. */
export function sourceFolders(recipe: Recipe): SourceFolder[] {
  if (!recipe.collections) {
    if (recipe.sources.length === 0) throw new RecipeError('no source folders: give --sources DIR... or "sources" in the recipe');
    return recipe.sources.map((dir) => ({ dir }));
  }
  const names = collectionsInUse(recipe);
  const unmapped = names.filter((c) => !recipe.collections?.[c].path);
  if (unmapped.length > 0) {
    throw new RecipeError(
      `collection${unmapped.length === 1 ? '' : 's'} ${unmapped.join(', ')} ${unmapped.length === 1 ? 'has' : 'have'} no folder: ` +
        `map ${unmapped.length === 1 ? 'it' : 'each'} with --collection NAME=DIR (or "path" in the recipe), or plan with --virtual-sources`,
    );
  }
  return names.map((c) => ({ dir: recipe.collections?.[c].path as string, collection: c }));
}

/** Walk, fingerprint and probe every folder; unusable files go to `error`. */
export async function discoverSources(folders: readonly SourceFolder[], crop: number, error: ErrorSink, signal?: AbortSignal): Promise<Discovered> {
  const found: { path: string; rel: string; collection?: string }[] = [];
  for (const { dir, collection } of folders) {
    let st;
    try {
      st = await stat(dir);
    } catch {
      throw new RecipeError(`${collection ? `collection ${collection}: ` : ''}source folder ${dir} does not exist`);
    }
    if (!st.isDirectory()) throw new RecipeError(`${collection ? `collection ${collection}: ` : ''}source ${dir} is not a folder`);
    const walked = await walkSources([dir]);
    for (const s of walked.skipped) error(s.path, 'walk', s.reason);
    for (const f of walked.files) {
      // A collection's images are recorded as <collection>/<path in its folder>, so two collections' 0001.png stay apart.
      const rel = toPosix(relative(dir, f));
      found.push(collection === undefined ? { path: f, rel } : { path: f, rel: `${collection}/${rel}`, collection });
    }
  }
  const probed = await mapLimit(found, 4, async (f) => {
    if (signal?.aborted) throw new InterruptedError('interrupted');
    try {
      const [sha256, size] = await Promise.all([fingerprint(f.path), probeImage(f.path)]);
      return { ...f, sha256, ...size };
    } catch (err) {
      error(f.path, 'probe', err instanceof ImageInputError ? err.reason : err instanceof Error ? err.message : String(err));
      return null;
    }
  });
  const bySha = new Map<string, PlanSource>();
  for (const p of probed) {
    if (!p) continue;
    if (p.width < crop || p.height < crop) {
      error(p.path, 'size', `${p.width}x${p.height} is smaller than the ${crop}x${crop} crop; use a smaller --crop or a larger image`);
      continue;
    }
    const first = bySha.get(p.sha256);
    if (first) {
      error(p.path, 'duplicate', `same content as ${first.path}; used once`);
      continue;
    }
    const source: PlanSource = { sha256: p.sha256, path: p.path, rel: p.rel, width: p.width, height: p.height };
    if (p.collection !== undefined) source.collection = p.collection;
    bySha.set(p.sha256, source);
  }
  return { sources: [...bySha.values()], files: found.length, where: folders.map((f) => f.dir).join(', ') };
}

/** The usable sources of a recipe (see the module comment). */
export function discoverRecipeSources(recipe: Recipe, error: ErrorSink, signal?: AbortSignal): Promise<Discovered> {
  return discoverSources(sourceFolders(recipe), recipe.crop, error, signal);
}
