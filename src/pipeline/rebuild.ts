import { lstatSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openUntrustedManifest } from '../core/untrusted/manifest.js';
import { compareSoftware, LockError, parseLock, shardRowsDigest, typesOf, type ReleaseLock } from './lock.js';
import { MANIFEST_FILE } from './manifest.js';
import type { PlanSource } from './plan.js';
import type { Progress } from './progress.js';
import { RecipeError } from './recipe.js';
import { synthesize, type SynthesizeSummary } from './synthesize.js';
import { softwareVersions } from './versions.js';

/**
 * `uirgen synthesize --from-release DS/release.lock.json --sources DIR... [--depth DIR] --out DS2`: make a
 * release again (--depth: the folder of its real depth maps, where it rendered with them).
 *
 * The lock's recipe and seed, with the given source folders, through the ordinary synthesize, after three
 * refusals that keep "same bytes" honest: this uirgen must render as the one that made the release (sharp,
 * libvips, every used type's version), every source the release used must be found with the same content
 * and the same path under its folder (the JSON members record it), and the plan made from them must be
 * the release's (its fingerprint). Afterwards every shard's bytes and manifest rows are compared with the
 * lock's checksums; any difference fails the command.
 */

export interface RebuildOptions {
  lock: string;
  sources: string[];
  /** The folder of the release's depth maps, where its recipe rendered with real ones (recipe `depth`). */
  depth?: string;
  out: string;
  workers?: number;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface RebuildSummary extends SynthesizeSummary {
  /** Shards whose bytes and rows equal the release's. */
  identical: number;
  /** Shards that differ, with how. */
  differing: string[];
}

/** The release cannot be rebuilt here as asked; the message says why and what to do. */
export class RebuildRefusal extends Error {
  override name = 'RebuildRefusal';
}

const MAX_LOCK_BYTES = 256 * 1024 * 1024;

export function readLockFile(path: string): ReleaseLock {
  let text: string;
  try {
    const st = lstatSync(path);
    if (!st.isFile()) throw new RebuildRefusal(`${path} is not a regular file`);
    if (st.size > MAX_LOCK_BYTES) throw new RebuildRefusal(`${path} is ${st.size} bytes, more than a release lock can be`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof RebuildRefusal) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new RebuildRefusal(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`}`);
  }
  try {
    return parseLock(text);
  } catch (err) {
    if (err instanceof LockError) throw new RebuildRefusal(`${path}: not a usable release lock: ${err.message}`);
    throw err;
  }
}

/** The release's sources among those found, each at its recorded path; refuses when any is missing or moved. */
function chooseSources(lock: ReleaseLock, found: readonly PlanSource[]): PlanSource[] {
  const bySha = new Map(found.map((s) => [s.sha256, s]));
  const missing: string[] = [];
  const moved: string[] = [];
  const chosen: PlanSource[] = [];
  for (const s of lock.sources) {
    const f = bySha.get(s.sha256);
    if (!f) missing.push(`${s.path} (sha256 ${s.sha256.slice(0, 16)}...)`);
    else if (f.rel !== s.path) moved.push(`${s.path} is at ${f.rel} here`);
    else chosen.push(f);
  }
  const reasons: string[] = [];
  if (missing.length > 0) {
    reasons.push(
      `${missing.length} of the release's ${lock.sources.length} source files are not among the usable images found ` +
        `(by content): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
    );
  }
  if (moved.length > 0) {
    reasons.push(`${moved.length} source file(s) are under another path than in the release, which each sample's JSON records: ${moved.slice(0, 5).join('; ')}`);
  }
  if (reasons.length > 0) {
    throw new RecipeError(`cannot rebuild the release: ${reasons.join('; ')}. Give --sources the folders that hold the release's source files, laid out as they were.`);
  }
  return chosen;
}

export async function rebuildFromRelease(o: RebuildOptions): Promise<RebuildSummary> {
  const lockPath = resolve(o.lock);
  const lock = readLockFile(lockPath);
  const check = compareSoftware(lock.software, softwareVersions(), typesOf(lock.counts.by_type));
  if (check.refusals.length > 0) {
    throw new RebuildRefusal(`cannot rebuild ${lockPath}: this uirgen would render other bytes\n${check.refusals.map((r) => `  - ${r}`).join('\n')}`);
  }
  for (const n of check.notes) o.progress?.note(n);
  if (lock.counts.real > 0) {
    throw new RebuildRefusal(
      `cannot rebuild ${lockPath}: ${lock.counts.real} of its samples are real pairs added by \`uirgen import\`, which --from-release does not redo; ` +
        'rebuild the synthetic part into one folder and import the real datasets again',
    );
  }
  if (o.sources.length === 0) throw new RebuildRefusal('give --sources: the folders holding the release\'s source files');
  if (!lock.recipe) throw new RebuildRefusal(`cannot rebuild ${lockPath}: it records no recipe (a release of imported pairs only)`);
  const recorded = lock.recipe.depth;
  if (recorded && o.depth === undefined) {
    throw new RebuildRefusal(
      `cannot rebuild ${lockPath}: the release rendered with real depth maps (${recorded.kind}, from ${recorded.dir} where it was made); ` +
        'give --depth DIR: the folder holding those maps, laid out as the sources',
    );
  }
  if (!recorded && o.depth !== undefined) throw new RebuildRefusal(`cannot rebuild ${lockPath} with --depth: the release estimated depth from each crop; drop --depth`);
  // The lock's recipe with this machine's folders; the maps' kind stays the release's.
  const recipe = { ...lock.recipe, sources: o.sources, ...(recorded && o.depth !== undefined ? { depth: { dir: resolve(o.depth), kind: recorded.kind } } : {}) };
  const summary = await synthesize({
    recipe,
    out: o.out,
    workers: o.workers,
    progress: o.progress,
    signal: o.signal,
    expect: {
      sources: (found) => chooseSources(lock, found),
      plan: (plan) => {
        if (lock.plan && plan.fingerprint !== lock.plan.fingerprint) {
          const hint = recorded ? ' (the fingerprint covers every depth map\'s sha256: are the maps in --depth the release\'s?)' : '';
          throw new RecipeError(`cannot rebuild the release: the plan made here (fingerprint ${plan.fingerprint}) is not the release's (${lock.plan.fingerprint})${hint}`);
        }
      },
    },
  });
  const db = openUntrustedManifest(join(resolve(o.out), MANIFEST_FILE));
  const differing: string[] = [];
  let identical = 0;
  try {
    const made = new Map((db.prepare('SELECT name, bytes, sha256 FROM shards').all() as { name: string; bytes: number; sha256: string }[]).map((r) => [r.name, r]));
    for (const s of lock.shards) {
      const m = made.get(s.name);
      if (!m) differing.push(`${s.name}: not made`);
      else if (m.sha256 !== s.sha256) differing.push(`${s.name}: sha256 ${m.sha256}, the release has ${s.sha256}`);
      else if (shardRowsDigest(db, s.name) !== s.rows_sha256) differing.push(`${s.name}: same bytes, but its manifest rows differ from the release's`);
      else identical++;
    }
    for (const name of made.keys()) if (!lock.shards.some((s) => s.name === name)) differing.push(`${name}: made here, not in the release`);
  } finally {
    db.close();
  }
  return { ...summary, identical, differing };
}
