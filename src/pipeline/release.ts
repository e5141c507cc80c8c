import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { openUntrustedManifest } from '../core/untrusted/manifest.js';
import { unsafeMemberName } from '../core/untrusted/tar.js';
import { card, CARD_FILE } from './card.js';
import { formatSums, SUMS_FILE } from './checksums.js';
import { croissant, CROISSANT_FILE } from './croissant.js';
import { datasetCounts, levelCounts, planOfRuns, runsSoftware } from './dataset-info.js';
import { LOCK_FORMAT, LOCK_FORMAT_VERSION, RELEASE_LOCK_FILE, type LockSource, type ReleaseLock } from './lock.js';
import { MANIFEST_FILE } from './manifest.js';
import { shardName } from './plan.js';
import { defaultWorkers, hashFiles } from './pool.js';
import { silentProgress, type Progress } from './progress.js';
import { normalizeRecipe, type Recipe } from './recipe.js';
import { lockHolder, RECIPE_FILE, SHARDS_DIR } from './synthesize.js';
import { verifyDataset } from './verify.js';
import { softwareVersions } from './versions.js';

/**
 * `uirgen release DS --name NAME`: turn a finished dataset into a release. It refuses an incomplete one
 * (a run still going or interrupted, missing or half-written shards, a dataset made under several
 * rendering versions) saying what is missing; checks the whole dataset as verify does; then writes
 * release.lock.json, SHA256SUMS, croissant.json and the dataset card README.md, each atomically.
 */

export interface ReleaseOptions {
  name: string;
  version?: string;
  license?: string;
  /** The sources' licences as the publisher states them (quoted in the card). */
  sourcesLicense?: string;
  /** Folders holding the source files (default: the recipe's), for their sizes in the lock. */
  sources?: string[];
  workers?: number;
  progress?: Progress;
}

export interface ReleaseSummary {
  dataset: string;
  name: string;
  version: string;
  files: string[];
  samples: number;
  shards: number;
  bytes: number;
  /** Source files found (and matching) for the lock's sizes, of all. */
  sources: { total: number; found: number };
  notes: string[];
}

/** The dataset cannot be released as it is; the message says what is missing or wrong. */
export class ReleaseRefusal extends Error {
  override name = 'ReleaseRefusal';
}

const LICENSE_FILE = /^(licen[cs]es?|copying)(\.(md|txt))?$/i;
const MAX_LICENSE_BYTES = 64 * 1024;

async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
}

function list(items: readonly string[], max = 8): string {
  return items.slice(0, max).join(', ') + (items.length > max ? `, ... (${items.length} in all)` : '');
}

/** Everything that makes a dataset unfinished, in words; empty when it is complete. */
async function incompleteness(dir: string): Promise<string[]> {
  const out: string[] = [];
  const holder = await lockHolder(dir);
  if (holder) out.push(`it is being written by ${holder}; wait for that run to finish`);
  if (existsSync(join(dir, `${MANIFEST_FILE}-wal`))) out.push(`${MANIFEST_FILE}-wal exists: a run has the manifest open or was killed; run the same synthesize again to finish it`);
  let partials: string[] = [];
  try {
    partials = readdirSync(join(dir, SHARDS_DIR)).filter((n) => n.endsWith('.partial'));
  } catch {
    out.push(`${SHARDS_DIR}/ is missing`);
  }
  if (partials.length > 0) out.push(`half-written shards in ${SHARDS_DIR}/: ${list(partials)} (a synthesize or merge is running or was interrupted; run it again to finish)`);
  const db = openUntrustedManifest(join(dir, MANIFEST_FILE));
  try {
    const runs = runsSoftware(db);
    for (const r of runs.unfinished) out.push(`run ${r.id} (started ${r.started}) never finished: a synthesize is still running or was interrupted; run the same command again to complete it`);
    for (const c of runs.conflicts) out.push(`made by more than one rendering setup: ${c}; no one toolkit can rebuild it, so make it again in one setup`);
    const plan = planOfRuns(db);
    if (plan) {
      const have = new Set(db.prepare('SELECT name FROM shards').pluck().all() as string[]);
      const missing: string[] = [];
      for (let s = 0; s < plan.shards; s++) {
        const name = `${shardName(plan.prefix, s)}.tar`;
        if (!have.has(name)) missing.push(name);
      }
      if (missing.length > 0) {
        out.push(
          `${missing.length} of ${plan.shards} planned shards are not made: ${list(missing)} ` +
            '(a part of a --shard-count run not made or not merged, or a run interrupted; run the missing parts and merge them)',
        );
      }
    }
    const files = new Set(existsSync(join(dir, SHARDS_DIR)) ? readdirSync(join(dir, SHARDS_DIR)) : []);
    const absent = (db.prepare('SELECT name FROM shards ORDER BY name').pluck().all() as string[]).filter((n) => !files.has(n));
    if (absent.length > 0) out.push(`shards listed in the manifest are missing from ${SHARDS_DIR}/: ${list(absent)} (rerun the synthesize: it redoes them)`);
    if ((db.prepare('SELECT count(*) FROM samples').pluck().get() as number) === 0) out.push('it has no samples');
  } finally {
    db.close();
  }
  return out;
}

interface SourceFile {
  id: string;
  path: string;
  sha256: string;
  width: number | null;
  height: number | null;
}

/** Each source's size in bytes, where its file is found under `dirs` with the recorded content. */
async function sourceSizes(sources: readonly SourceFile[], dirs: readonly string[], workers: number): Promise<Map<string, number>> {
  const found: { sha256: string; path: string; size: number }[] = [];
  for (const s of sources) {
    // Imported pairs record their ground truth's absolute path; synthesized ones a path under a source folder.
    const candidates = isAbsolute(s.path) ? [s.path] : unsafeMemberName(s.path) ? [] : dirs.map((d) => join(d, s.path));
    for (const p of candidates) {
      const st = (() => {
        try {
          return lstatSync(p);
        } catch {
          return null;
        }
      })();
      if (st?.isFile()) {
        found.push({ sha256: s.sha256, path: p, size: st.size });
        break;
      }
    }
  }
  const sizes = new Map<string, number>();
  const outs = await hashFiles(found.map((f) => f.path), workers);
  outs.forEach((out, i) => {
    if (out.ok && out.sha256 === found[i].sha256) sizes.set(found[i].sha256, out.bytes);
  });
  return sizes;
}

/** Licence statements: the publisher's words, then licence files at the top of each source folder. */
function sourceLicenses(given: string | undefined, dirs: readonly string[]): { from: string; text: string }[] {
  const out: { from: string; text: string }[] = [];
  if (given) out.push({ from: 'the publisher', text: given });
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names.filter((x) => LICENSE_FILE.test(x)).sort()) {
      const p = join(d, n);
      try {
        const st = lstatSync(p);
        if (!st.isFile() || st.size > MAX_LICENSE_BYTES) continue;
        out.push({ from: `${n} in the source folder`, text: readFileSync(p, 'utf8') });
      } catch {
        /* unreadable: nothing to quote */
      }
    }
  }
  return out;
}

export async function release(dirIn: string, o: ReleaseOptions): Promise<ReleaseSummary> {
  const dir = resolve(dirIn);
  if (typeof o.name !== 'string' || o.name.trim().length === 0) throw new ReleaseRefusal('--name must be a non-empty name for the dataset');
  if (!existsSync(join(dir, MANIFEST_FILE))) throw new ReleaseRefusal(`${dir} is not a uirgen dataset (no ${MANIFEST_FILE} there)`);
  const workers = o.workers ?? defaultWorkers();
  const missing = await incompleteness(dir);
  if (missing.length > 0) throw new ReleaseRefusal(`${dir} is not complete, so it cannot be released:\n${missing.map((m) => `  - ${m}`).join('\n')}`);

  const report = await verifyDataset(dir, { workers, datasetOnly: true, progress: o.progress ?? silentProgress() });
  if (!report.ok) {
    const lines = report.problems.slice(0, 10).map((p) => `  - ${p.file}${p.sample ? ` [${p.sample}]` : ''}: ${p.message}`);
    throw new ReleaseRefusal(
      `${dir} does not check out (${report.problem_count} problem(s)), so it cannot be released:\n${lines.join('\n')}` +
        `${report.problem_count > 10 ? '\n  ...' : ''}\nrun \`uirgen verify ${dirIn}\` for the full list`,
    );
  }

  // A dataset of imported pairs only has no recipe (verify above refuses a synthesized one without it).
  const hasRecipe = existsSync(join(dir, RECIPE_FILE));
  const recipe: Recipe | null = hasRecipe ? normalizeRecipe(JSON.parse(readFileSync(join(dir, RECIPE_FILE), 'utf8'))) : null;
  const sourceDirs = o.sources ?? recipe?.sources ?? [];
  const db = openUntrustedManifest(join(dir, MANIFEST_FILE));
  let lock: ReleaseLock;
  let levels;
  let shardSplits: Map<string, Record<string, number>>;
  const notes: string[] = [...report.notes.filter((n) => !n.startsWith('no release files'))];
  let found = 0;
  let manifestSha: { sha256: string; bytes: number };
  try {
    const software = runsSoftware(db).software ?? softwareVersions();
    const plan = planOfRuns(db);
    const counts = datasetCounts(db);
    levels = levelCounts(db);
    shardSplits = new Map();
    for (const r of db.prepare('SELECT shard, split, count(*) AS n FROM samples GROUP BY shard, split').all() as { shard: string; split: string; n: number }[]) {
      shardSplits.set(r.shard, { ...(shardSplits.get(r.shard) ?? {}), [r.split]: r.n });
    }
    const sources = db.prepare('SELECT id, path, sha256, width, height FROM sources ORDER BY sha256').all() as SourceFile[];
    const sizes = await sourceSizes(sources, sourceDirs, workers);
    found = sizes.size;
    if (found < sources.length) {
      notes.push(`${sources.length - found} of ${sources.length} source files were not found under ${list(sourceDirs, 3) || '(no folder given)'} with their recorded content; their sizes are left out of the lock (give --sources)`);
    }
    const lockSources: LockSource[] = sources.map((s) => ({ path: s.path, sha256: s.sha256, bytes: sizes.get(s.sha256) ?? null, width: s.width, height: s.height }));
    lock = {
      format: LOCK_FORMAT,
      format_version: LOCK_FORMAT_VERSION,
      name: o.name.trim(),
      version: o.version ?? '1.0.0',
      license: o.license ?? 'unknown',
      created: new Date().toISOString(),
      toolkit: { version: software.uirgen, git_commit: software.git_commit },
      software,
      released_with: softwareVersions(),
      recipe,
      seed: recipe?.seed ?? null,
      plan: plan ? { fingerprint: plan.fingerprint, samples: plan.samples, shards: plan.shards, prefix: plan.prefix } : null,
      sources: lockSources,
      shards: report.shards.map((s) => ({ name: s.name, samples: s.samples, bytes: s.bytes, sha256: s.sha256, rows_sha256: s.rows_sha256 })),
      counts,
    };
    if (report.shards.length === 0) throw new ReleaseRefusal(`${dir} has no shards to release`);
  } finally {
    db.close();
  }
  // The manifest, recipe and lock are hashed here, after the lock is final.
  const hashTop = async (paths: string[]): Promise<Map<string, { sha256: string; bytes: number }>> => {
    const outs = await hashFiles(paths.map((p) => join(dir, p)), workers);
    return new Map(
      outs.map((out, i) => {
        if (!out.ok) throw new ReleaseRefusal(`${paths[i]} ${out.message}`);
        return [paths[i], { sha256: out.sha256, bytes: out.bytes }];
      }),
    );
  };
  await writeAtomic(join(dir, RELEASE_LOCK_FILE), `${JSON.stringify(lock, null, 2)}\n`);
  const topFiles = hasRecipe ? [MANIFEST_FILE, RECIPE_FILE, RELEASE_LOCK_FILE] : [MANIFEST_FILE, RELEASE_LOCK_FILE];
  const top = await hashTop(topFiles);
  manifestSha = top.get(MANIFEST_FILE) as { sha256: string; bytes: number };
  const sums = [
    ...topFiles.map((p) => ({ path: p, sha256: (top.get(p) as { sha256: string }).sha256 })),
    ...lock.shards.map((s) => ({ path: `${SHARDS_DIR}/${s.name}`, sha256: s.sha256 })),
  ];
  await writeAtomic(join(dir, SUMS_FILE), formatSums(sums));
  const description =
    `${lock.counts.samples} paired (degraded, clean) images over ${Object.keys(lock.counts.by_type).length} degradation types for image restoration, ` +
    'synthesized by uirgen with every parameter recorded; WebDataset shards with a SQLite manifest.';
  const doc = croissant({
    name: lock.name,
    description,
    version: lock.version,
    license: lock.license,
    datePublished: lock.created.slice(0, 10),
    keywords: ['image restoration', 'all-in-one restoration', 'paired images', 'synthetic degradations', ...Object.keys(lock.counts.by_type)],
    shards: lock.shards,
    splits: Object.keys(lock.counts.by_split),
    manifest: manifestSha,
  });
  await writeAtomic(join(dir, CROISSANT_FILE), `${JSON.stringify(doc, null, 2)}\n`);
  await writeAtomic(join(dir, CARD_FILE), card({ lock, levels, shardSplits, sourceLicenses: sourceLicenses(o.sourcesLicense, sourceDirs) }));
  return {
    dataset: dir,
    name: lock.name,
    version: lock.version,
    files: [CARD_FILE, CROISSANT_FILE, SUMS_FILE, RELEASE_LOCK_FILE],
    samples: lock.counts.samples,
    shards: lock.shards.length,
    bytes: lock.shards.reduce((a, s) => a + s.bytes, 0),
    sources: { total: lock.sources.length, found },
    notes,
  };
}
