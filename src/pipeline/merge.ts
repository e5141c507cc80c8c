import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { unsafeShardName } from '../core/untrusted/rows.js';
import { TarScanner, type ScanResult } from '../core/untrusted/tar.js';
import { planOfRuns } from './dataset-info.js';
import { ProblemList } from './problems.js';
import { checkShard, type VerifyRow } from './verify-shard.js';
import { softwareVersions } from './versions.js';
import { Manifest, MANIFEST_FILE, type ErrorRow, type SampleRow, type ShardRow, type SourceRow } from './manifest.js';
import { shardName } from './plan.js';
import { normalizeRecipe, planIdentity, RecipeError, type Recipe } from './recipe.js';
import { storageError } from './shards.js';
import { lockDataset, lockHolder, RECIPE_FILE, SHARDS_DIR, type PlanRecord } from './synthesize.js';

/**
 * `uirgen merge DS PART...`: join the outputs of partitioned runs (--shard-index/--shard-count)
 * into one dataset. Shard names are global plan positions, so parts never collide; each shard is
 * copied (or moved) under a temporary name, checked against its recorded sha256, renamed, and
 * committed with its rows in one transaction, the same unit as synthesize, so an interrupted merge
 * is resumed by running it again. Parts must come from the same recipe and sources (plan
 * fingerprint); the merged samples are then exactly a single run's.
 */

export interface MergeOptions {
  /** Rename shard files out of the parts instead of copying (copies when on another file system). */
  move?: boolean;
}

export interface MergeSummary {
  out: string;
  parts: number;
  /** Shards copied or moved by this merge. */
  merged_shards: number;
  /** Shards already in the target (from an earlier merge or another part). */
  present_shards: number;
  samples: number;
  shards: number;
  sources: number;
  errors: number;
  /** Shards of the plan that no part has made (empty when complete). */
  missing: string[];
  planned_shards: number | null;
}

interface PartInfo {
  dir: string;
  recipe: Recipe;
  plan: PlanRecord | null;
}

async function readPart(dir: string): Promise<PartInfo> {
  const recipePath = join(dir, RECIPE_FILE);
  if (!existsSync(join(dir, MANIFEST_FILE)) || !existsSync(recipePath)) {
    throw new RecipeError(`${dir} is not a uirgen dataset (no ${MANIFEST_FILE} and ${RECIPE_FILE} there)`);
  }
  const busy = await lockHolder(dir);
  if (busy) throw new RecipeError(`${dir} is still being written by ${busy}; merge it when that run has finished`);
  let recipe: Recipe;
  try {
    recipe = normalizeRecipe(JSON.parse(await readFile(recipePath, 'utf8')));
  } catch (err) {
    throw new RecipeError(`${recipePath}: ${(err as Error).message}`);
  }
  const m = Manifest.open(join(dir, MANIFEST_FILE), { readonly: true });
  try {
    return { dir, recipe, plan: latestPlan(m) };
  } finally {
    m.close();
  }
}

/** The plan record of the latest run that made one (synthesize writes it into the run's versions). */
export function latestPlan(m: Manifest): PlanRecord | null {
  return planOfRuns(m.db);
}

/**
 * Copy into `to` (a temporary name) through the untrusted-tar scanner, which hashes the file and walks its
 * members on the way (a part made elsewhere is untrusted input: see checkPartShard).
 */
async function copyScanned(from: string, to: string): Promise<ScanResult> {
  const scanner = new TarScanner({ hashMembers: false, bodySuffixes: ['.json'], fileSize: statSync(from).size });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      scanner.push(chunk);
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(from), tap, createWriteStream(to, { flags: 'w', mode: 0o644, flush: true }));
  return scanner.end();
}

/** Rename, or false when source and target are on different file systems (then copy instead). */
async function renamed(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw err;
  }
}

async function scanFile(path: string): Promise<ScanResult> {
  const scanner = new TarScanner({ hashMembers: false, bodySuffixes: ['.json'], fileSize: statSync(path).size });
  for await (const chunk of createReadStream(path)) scanner.push(chunk as Buffer);
  return scanner.end();
}

/**
 * A part's shard against the part's rows for it, before it joins the merged dataset: sound tar structure
 * (no unsafe names, links, sizes past the end), every row's members where the row says, PNG headers of the
 * row's size, JSON members agreeing with the rows. Throws naming the first problems.
 */
function checkPartShard(from: string, scan: ScanResult, rows: readonly VerifyRow[], sourceSha: ReadonlyMap<string, string>): void {
  const problems = new ProblemList(5);
  checkShard(scan, rows, { file: from, sourceSha }, problems);
  if (problems.count > 0) {
    throw new RecipeError(
      `${from} does not hold what its manifest says (${problems.count} problem(s)): ${problems.items.map((p) => p.message).join('; ')}; rerun that part`,
    );
  }
}

interface RawSampleRow extends Omit<SampleRow, 'params' | 'real'> {
  params: string;
  real: number;
}

export async function merge(outDir: string, partDirs: readonly string[], options: MergeOptions = {}): Promise<MergeSummary> {
  if (partDirs.length === 0) throw new RecipeError('merge needs at least one part folder');
  const out = resolve(outDir);
  const dirs = partDirs.map((d) => resolve(d));
  if (dirs.includes(out)) throw new RecipeError(`the merged dataset ${out} cannot also be a part`);
  const parts = await Promise.all(dirs.map(readPart));

  const identity = planIdentity(parts[0].recipe);
  for (const p of parts) {
    if (planIdentity(p.recipe) !== identity) {
      throw new RecipeError(`${p.dir} was made with a different recipe than ${parts[0].dir}; only parts of one plan can be merged`);
    }
    if (p.plan && parts[0].plan && p.plan.fingerprint !== parts[0].plan.fingerprint) {
      throw new RecipeError(`${p.dir} was planned from different sources than ${parts[0].dir} (plan fingerprints differ); only parts of one plan can be merged`);
    }
  }
  const plan = parts.find((p) => p.plan)?.plan ?? null;

  const shardsDir = join(out, SHARDS_DIR);
  try {
    await mkdir(shardsDir, { recursive: true });
  } catch (err) {
    throw storageError(err, shardsDir, 'create directory');
  }
  const lock = await lockDataset(out);
  try {
    return await mergeLocked(out, dirs, parts, plan, identity, options);
  } finally {
    await lock.release();
  }
}

async function mergeLocked(
  out: string,
  dirs: string[],
  parts: PartInfo[],
  plan: PlanRecord | null,
  identity: string,
  options: MergeOptions,
): Promise<MergeSummary> {
  const shardsDir = join(out, SHARDS_DIR);
  const recipePath = join(out, RECIPE_FILE);
  if (existsSync(recipePath)) {
    const existing = normalizeRecipe(JSON.parse(await readFile(recipePath, 'utf8')));
    if (planIdentity(existing) !== identity) throw new RecipeError(`${out} holds a dataset of a different recipe; merge into a new folder`);
  } else {
    await writeFile(`${recipePath}.partial`, `${JSON.stringify(parts[0].recipe, null, 2)}\n`);
    await rename(`${recipePath}.partial`, recipePath);
  }

  const target = Manifest.open(join(out, MANIFEST_FILE));
  let merged = 0;
  let present = 0;
  try {
    const runId = target.startRun(parts[0].recipe, {
      ...softwareVersions(),
      merged_from: dirs,
      ...(plan ? { plan: { ...plan, part: { index: 0, count: 1 } } } : {}),
    });
    const have = new Map(
      (target.db.prepare('SELECT name, sha256 FROM shards').all() as { name: string; sha256: string }[]).map((r) => [r.name, r.sha256]),
    );
    const sources = new Set(target.db.prepare('SELECT id FROM sources').pluck().all() as string[]);
    const errors = new Set(
      (target.db.prepare('SELECT path, stage, message FROM errors').all() as { path: string; stage: string; message: string }[]).map(
        (e) => `${e.path}\u0000${e.stage}\u0000${e.message}`,
      ),
    );
    for (const part of parts) {
      const m = Manifest.open(join(part.dir, MANIFEST_FILE), { readonly: true });
      try {
        const newSources = (m.db.prepare('SELECT id, path, sha256, width, height FROM sources ORDER BY id').all() as SourceRow[]).filter(
          (s) => !sources.has(s.id),
        );
        target.upsertSources(newSources);
        for (const s of newSources) sources.add(s.id);
        const newErrors = (m.db.prepare('SELECT path, stage, message FROM errors ORDER BY rowid').all() as ErrorRow[]).filter((e) => {
          const id = `${e.path}\u0000${e.stage}\u0000${e.message}`;
          if (errors.has(id)) return false;
          errors.add(id);
          return true;
        });
        target.recordErrors(newErrors);
        const shards = m.db.prepare('SELECT name, samples, bytes, sha256 FROM shards ORDER BY name').all() as ShardRow[];
        const sourceSha = new Map(m.db.prepare('SELECT id, sha256 FROM sources').raw().all() as [string, string][]);
        const rowsOf = m.db.prepare('SELECT * FROM samples WHERE shard = ? ORDER BY key');
        for (const shard of shards) {
          const known = have.get(shard.name);
          if (known !== undefined) {
            if (known !== shard.sha256) {
              throw new RecipeError(`shard ${shard.name} differs between ${part.dir} and ${out} (sha256); the parts are not of one plan`);
            }
            present++;
            continue;
          }
          const unsafe = unsafeShardName(shard.name);
          if (unsafe) throw new RecipeError(`${part.dir}'s manifest lists a ${unsafe}; not followed`);
          const from = join(part.dir, SHARDS_DIR, shard.name);
          if (!existsSync(from)) {
            throw new RecipeError(`${from} is missing though ${part.dir}'s manifest lists it as complete; rerun that part (it redoes missing shards), then merge again`);
          }
          const to = join(shardsDir, shard.name);
          const tmp = `${to}.partial`;
          let scan: ScanResult;
          try {
            if (options.move && (await renamed(from, tmp))) {
              scan = await scanFile(tmp);
            } else {
              scan = await copyScanned(from, tmp);
            }
          } catch (err) {
            await unlink(tmp).catch(() => {});
            throw storageError(err, (err as NodeJS.ErrnoException).path ?? to, 'copy');
          }
          const sha = scan.sha256;
          if (sha !== shard.sha256) {
            await unlink(tmp).catch(() => {});
            throw new RecipeError(`${from} does not match its manifest row (sha256 ${sha}, recorded ${shard.sha256}); rerun that part`);
          }
          const raw = rowsOf.all(shard.name) as RawSampleRow[];
          try {
            checkPartShard(from, scan, raw as unknown as VerifyRow[], sourceSha);
          } catch (err) {
            await unlink(tmp).catch(() => {});
            throw err;
          }
          await rename(tmp, to);
          const rows = raw.map(
            (r): SampleRow => ({ ...r, params: JSON.parse(r.params) as object, real: r.real === 1 ? 1 : 0 }),
          );
          target.commitShard(shard, rows);
          have.set(shard.name, shard.sha256);
          merged++;
        }
      } finally {
        m.close();
      }
    }
    target.finishRun(runId);
    const missing: string[] = [];
    if (plan) {
      for (let s = 0; s < plan.shards; s++) {
        const name = `${shardName(plan.prefix, s)}.tar`;
        if (!have.has(name)) missing.push(name);
      }
    }
    const counts = target.counts();
    return {
      out,
      parts: parts.length,
      merged_shards: merged,
      present_shards: present,
      ...counts,
      missing,
      planned_shards: plan ? plan.shards : null,
    };
  } finally {
    target.close();
  }
}
