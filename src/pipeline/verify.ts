import { existsSync, lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { MANIFEST_TABLES } from '../core/untrusted/manifest.js';
import { unsafeShardName } from '../core/untrusted/rows.js';
import { TAR_BLOCK } from '../core/untrusted/tar.js';
import { openUntrustedSqlite } from '../core/untrusted/sqlite.js';
import { parseSums, SUMS_FILE, MAX_SUMS_BYTES, type ParsedSums } from './checksums.js';
import { datasetCounts, planOfRuns, runsSoftware } from './dataset-info.js';
import { LockError, parseLock, RELEASE_LOCK_FILE, shardRowsDigest, type ReleaseLock } from './lock.js';
import { MANIFEST_FILE } from './manifest.js';
import { defaultWorkers, mapLimit, modulePool } from './pool.js';
import { ProblemList, type Problem } from './problems.js';
import { silentProgress, type Progress } from './progress.js';
import { normalizeRecipe, type Recipe } from './recipe.js';
import { regenerate, type RegenerateReport } from './regenerate.js';
import type { ScanOutput, ScanTask } from './scan-worker.js';
import { RECIPE_FILE, SHARDS_DIR } from './synthesize.js';
import { checkShard, type VerifyRow } from './verify-shard.js';

/**
 * `uirgen verify DS`: a dataset (and its release files, when it has them) checked as untrusted input.
 *
 * Every file is read once, streamed through worker threads that hash it (and walk a shard's tar
 * structure, hashing each member); the main thread compares what they found with the manifest, the
 * release lock and SHA256SUMS, shard by shard, so memory holds one shard's rows and members at a time.
 * Every difference is reported with the file, the sample and what differs; nothing is ever followed,
 * extracted or decoded on the way.
 */

export interface VerifyOptions {
  workers?: number;
  /** Progress in MB read. */
  progress?: Progress;
  /** Re-synthesize this many samples (spread over types), or all of them, and compare bytes. */
  regenerate?: number | 'all';
  /** Folders holding the source files, for regenerate (default: the recipe's). */
  sources?: string[];
  /** Ignore release files (release itself checks the dataset this way before writing them). */
  datasetOnly?: boolean;
  /**
   * Hash members only in shards whose checksum differs from a record (then re-read to say which sample
   * changed). Half the hashing; what it no longer checks is that the manifest's member hashes agree with a
   * shard whose checksum does (a manifest made inconsistent on purpose).
   */
  fast?: boolean;
  maxProblems?: number;
}

/** What one shard turned out to be, for the release that follows a clean check. */
export interface ShardCheck {
  name: string;
  samples: number;
  bytes: number;
  sha256: string;
  rows_sha256: string;
}

export interface VerifyReport {
  ok: boolean;
  dataset: string;
  /** True when the dataset has release files (lock and SHA256SUMS) and they were checked. */
  release: boolean;
  checked: { files: number; shards: number; samples: number; bytes: number };
  problem_count: number;
  /** The first problems (all of them unless there were more than the cap). */
  problems: Problem[];
  notes: string[];
  seconds: number;
  /** Bytes read and hashed per second of the hashing phase (MB = 10^6 bytes). */
  mb_per_s: number;
  regenerated: RegenerateReport | null;
  shards: ShardCheck[];
}

/** Verify cannot start, or must refuse part of its job (regenerate with other sources or versions). */
export class VerifyRefusal extends Error {
  override name = 'VerifyRefusal';
}

const VERIFY_TABLES = { ...MANIFEST_TABLES, samples: [...MANIFEST_TABLES.samples, 'type_version'] };
const MAX_SMALL_FILE = 256 * 1024 * 1024;

function readSmall(path: string, what: string): string {
  const st = lstatSync(path);
  if (!st.isFile()) throw new Error(`${what} is not a regular file`);
  if (st.size > MAX_SMALL_FILE) throw new Error(`${what} is ${st.size} bytes, more than a ${what} can be (${MAX_SMALL_FILE})`);
  return readFileSync(path, 'utf8');
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

interface Context {
  dir: string;
  problems: ProblemList;
  notes: string[];
  db: Database.Database | null;
  lock: ReleaseLock | null;
  sums: ParsedSums | null;
  recipe: Recipe | null;
}

function describeFileChange(path: string): string {
  if (path === RECIPE_FILE) return 'the recipe was changed after the release';
  if (path === RELEASE_LOCK_FILE) return 'the release lock was changed after the release';
  if (path === MANIFEST_FILE) return 'the manifest was changed after the release';
  return 'the file changed after the release';
}

function openManifest(ctx: Context): void {
  const path = join(ctx.dir, MANIFEST_FILE);
  const st = lstatOrNull(path);
  if (!st) {
    ctx.problems.add('file-missing', MANIFEST_FILE, `${MANIFEST_FILE} is missing; is ${ctx.dir} a uirgen dataset?`);
    return;
  }
  if (!st.isFile()) {
    ctx.problems.add('manifest-unreadable', MANIFEST_FILE, `${MANIFEST_FILE} is not a regular file (a link or a folder); not followed`);
    return;
  }
  if (existsSync(`${path}-wal`)) {
    ctx.problems.add('incomplete', `${MANIFEST_FILE}-wal`, `${MANIFEST_FILE}-wal exists: a synthesize is writing the dataset or was killed; finish it (run it again) first`);
  }
  try {
    const db = openUntrustedSqlite(path, VERIFY_TABLES);
    const check = db.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[];
    if (check.length !== 1 || check[0].quick_check !== 'ok') {
      db.close();
      ctx.problems.add('manifest-unreadable', MANIFEST_FILE, `${MANIFEST_FILE} is damaged: ${check.map((c) => c.quick_check).join('; ')}`);
      return;
    }
    ctx.db = db;
  } catch (err) {
    ctx.problems.add('manifest-unreadable', MANIFEST_FILE, (err as Error).message.replace(`${path}: `, `${MANIFEST_FILE}: `));
  }
}

function readReleaseFiles(ctx: Context): void {
  const lockPath = join(ctx.dir, RELEASE_LOCK_FILE);
  const sumsPath = join(ctx.dir, SUMS_FILE);
  const hasLock = lstatOrNull(lockPath) !== null;
  const hasSums = lstatOrNull(sumsPath) !== null;
  if (hasLock) {
    try {
      ctx.lock = parseLock(readSmall(lockPath, RELEASE_LOCK_FILE));
    } catch (err) {
      const reason = err instanceof LockError ? err.message : (err as Error).message;
      ctx.problems.add('lock-invalid', RELEASE_LOCK_FILE, `${RELEASE_LOCK_FILE} cannot be used: ${reason}`);
    }
  }
  if (hasSums) {
    try {
      const st = lstatSync(sumsPath);
      if (!st.isFile() || st.size > MAX_SUMS_BYTES) throw new Error(`${SUMS_FILE} is not a regular file of at most ${MAX_SUMS_BYTES} bytes`);
      ctx.sums = parseSums(readFileSync(sumsPath, 'utf8'));
      for (const p of ctx.sums.problems) ctx.problems.add('sums-invalid', SUMS_FILE, `${SUMS_FILE} ${p}`);
    } catch (err) {
      ctx.problems.add('sums-invalid', SUMS_FILE, (err as Error).message);
    }
  }
  if (hasLock && !hasSums) ctx.problems.add('file-missing', SUMS_FILE, `${SUMS_FILE} is missing beside ${RELEASE_LOCK_FILE}`);
  if (hasSums && !hasLock) ctx.problems.add('file-missing', RELEASE_LOCK_FILE, `${RELEASE_LOCK_FILE} is missing beside ${SUMS_FILE}`);
  if (!hasLock && !hasSums) ctx.notes.push(`no release files (${RELEASE_LOCK_FILE}, ${SUMS_FILE}): the shards were checked against the manifest only`);
}

function readRecipe(ctx: Context): void {
  const path = join(ctx.dir, RECIPE_FILE);
  if (!lstatOrNull(path)) {
    // Only a dataset of imported pairs has none: no synthesized row, and no release that recorded one.
    const synthesized = ctx.db ? ctx.db.prepare('SELECT 1 FROM samples WHERE real = 0 LIMIT 1').get() !== undefined : true;
    if (synthesized || ctx.lock?.recipe || ctx.sums?.entries.has(RECIPE_FILE)) ctx.problems.add('file-missing', RECIPE_FILE, `${RECIPE_FILE} is missing`);
    return;
  }
  try {
    ctx.recipe = normalizeRecipe(JSON.parse(readSmall(path, RECIPE_FILE)));
  } catch (err) {
    ctx.problems.add('recipe-changed', RECIPE_FILE, `${RECIPE_FILE} cannot be read as a recipe: ${(err as Error).message}`);
    return;
  }
  if (ctx.lock) {
    const a = ctx.recipe as unknown as Record<string, unknown>;
    const b = ctx.lock.recipe as unknown as Record<string, unknown> | null;
    const fields = b === null ? [] : [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    if (b === null) {
      ctx.problems.add('recipe-changed', RECIPE_FILE, `${RECIPE_FILE} is here but ${RELEASE_LOCK_FILE} records no recipe`);
    } else if (fields.length > 0) {
      const detail = fields
        .slice(0, 5)
        .map((k) => `${k}: ${JSON.stringify(a[k])?.slice(0, 80)} here, ${JSON.stringify(b[k])?.slice(0, 80)} in the lock`)
        .join('; ');
      ctx.problems.add('recipe-changed', RECIPE_FILE, `${RECIPE_FILE} differs from the recipe in ${RELEASE_LOCK_FILE} (${detail})`);
    }
  }
}

interface ShardEntry {
  name: string;
  samples: number;
  bytes: number;
  sha256: string;
}

function manifestShards(ctx: Context): Map<string, ShardEntry> {
  const out = new Map<string, ShardEntry>();
  if (!ctx.db) return out;
  for (const s of ctx.db.prepare('SELECT name, samples, bytes, sha256 FROM shards ORDER BY name').all() as ShardEntry[]) {
    const unsafe = unsafeShardName(s.name);
    if (unsafe) {
      ctx.problems.add('manifest-inconsistent', MANIFEST_FILE, `the shards table lists a ${unsafe}; not followed`);
      continue;
    }
    out.set(s.name, s);
  }
  const orphans = ctx.db
    .prepare('SELECT shard, count(*) AS n FROM samples WHERE shard NOT IN (SELECT name FROM shards) GROUP BY shard ORDER BY shard LIMIT 20')
    .all() as { shard: string; n: number }[];
  for (const o of orphans) {
    ctx.problems.add('manifest-inconsistent', MANIFEST_FILE, `${o.n} sample row(s) name shard ${JSON.stringify(o.shard)}, which the shards table does not list`);
  }
  return out;
}

/** The files of shards/ on disk, with every listing anomaly reported. */
function listShardFiles(ctx: Context, expected: ReadonlySet<string>): Map<string, number> {
  const dir = join(ctx.dir, SHARDS_DIR);
  const present = new Map<string, number>();
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    ctx.problems.add('file-missing', SHARDS_DIR, `${SHARDS_DIR}/ is missing or not a folder`);
    return present;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = `${SHARDS_DIR}/${e.name}`;
    if (e.name.endsWith('.partial')) {
      ctx.problems.add('incomplete', file, `${file} is a shard still being written: a synthesize or merge is running or was interrupted; finish it first`);
      continue;
    }
    if (!e.isFile()) {
      const what = e.isSymbolicLink() ? 'a symbolic link' : e.isDirectory() ? 'a folder' : 'not a regular file';
      ctx.problems.add(expected.has(e.name) ? 'unsafe-member' : 'file-extra', file, `${file} is ${what}; not followed`);
      continue;
    }
    if (!expected.has(e.name)) {
      ctx.problems.add('file-extra', file, `${file} is an extra file: no manifest row, lock entry or checksum names it`);
      continue;
    }
    present.set(e.name, (lstatSync(join(dir, e.name)) as Stats).size);
  }
  return present;
}

function crossCheckLists(ctx: Context, manifest: ReadonlyMap<string, ShardEntry>, lockShards: ReadonlyMap<string, unknown>): void {
  const sumsShards = new Set([...(ctx.sums?.entries.keys() ?? [])].filter((p) => p.startsWith(`${SHARDS_DIR}/`)).map((p) => p.slice(SHARDS_DIR.length + 1)));
  if (ctx.lock) {
    for (const n of manifest.keys()) if (!lockShards.has(n)) ctx.problems.add('lock-mismatch', `${SHARDS_DIR}/${n}`, `${SHARDS_DIR}/${n} is in the manifest but not in ${RELEASE_LOCK_FILE}`);
    for (const n of lockShards.keys()) if (ctx.db && !manifest.has(n)) ctx.problems.add('lock-mismatch', `${SHARDS_DIR}/${n}`, `${SHARDS_DIR}/${n} is in ${RELEASE_LOCK_FILE} but not in the manifest`);
  }
  if (ctx.sums) {
    for (const n of manifest.keys()) if (!sumsShards.has(n)) ctx.problems.add('sums-incomplete', `${SHARDS_DIR}/${n}`, `${SHARDS_DIR}/${n} has no line in ${SUMS_FILE}`);
    for (const n of sumsShards) if (ctx.db && !manifest.has(n)) ctx.problems.add('sums-incomplete', `${SHARDS_DIR}/${n}`, `${SUMS_FILE} lists ${SHARDS_DIR}/${n}, which the manifest does not`);
    for (const f of [MANIFEST_FILE, RECIPE_FILE, RELEASE_LOCK_FILE]) {
      if (f === RECIPE_FILE && ctx.lock && ctx.lock.recipe === null) continue;
      if (!ctx.sums.entries.has(f)) ctx.problems.add('sums-incomplete', f, `${f} has no line in ${SUMS_FILE}`);
    }
  }
}

/** The lock's claims about the dataset against the manifest's. */
function crossCheckLock(ctx: Context): void {
  const { lock, db } = ctx;
  if (!lock || !db) return;
  const counts = datasetCounts(db);
  for (const k of ['samples', 'synthetic', 'real', 'sources'] as const) {
    if (counts[k] !== lock.counts[k]) ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `${RELEASE_LOCK_FILE} counts ${lock.counts[k]} ${k}, the manifest has ${counts[k]}`);
  }
  const rows = new Map((db.prepare('SELECT sha256, width, height FROM sources').all() as { sha256: string; width: number | null; height: number | null }[]).map((r) => [r.sha256, r]));
  let missing = 0;
  for (const s of lock.sources) {
    const r = rows.get(s.sha256);
    if (!r) {
      if (missing++ < 5) ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `source ${s.path} (sha256 ${s.sha256}) is in ${RELEASE_LOCK_FILE} but not in the manifest's sources`);
    } else if (r.width !== s.width || r.height !== s.height) {
      ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `source ${s.path}: ${s.width}x${s.height} in ${RELEASE_LOCK_FILE}, ${r.width}x${r.height} in the manifest`);
    }
  }
  if (missing > 5) ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `... ${missing} sources of ${RELEASE_LOCK_FILE} in all are not in the manifest`);
  if (rows.size !== lock.sources.length) ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `${RELEASE_LOCK_FILE} lists ${lock.sources.length} sources, the manifest ${rows.size}`);
  if (ctx.recipe && ctx.recipe.seed !== lock.seed) ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `${RELEASE_LOCK_FILE} has seed ${lock.seed}, ${RECIPE_FILE} ${ctx.recipe.seed}`);
  const plan = planOfRuns(db);
  if (plan && lock.plan && plan.fingerprint !== lock.plan.fingerprint) {
    ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `${RELEASE_LOCK_FILE} has plan fingerprint ${lock.plan.fingerprint}, the manifest's runs ${plan.fingerprint}`);
  }
  const made = runsSoftware(db).software;
  if (made) {
    for (const k of ['sharp', 'vips', 'registry'] as const) {
      if (made[k] !== lock.software[k]) ctx.problems.add('lock-mismatch', RELEASE_LOCK_FILE, `${RELEASE_LOCK_FILE} records ${k} ${lock.software[k]}, the manifest's runs ${made[k]}`);
    }
  }
}

const ROW_SELECT = `SELECT key, type, level, level_id, params, seed, source_id, crop_x, crop_y, width, height, split, real, shard,
  offset_gt, offset_lq, lq_sha256, gt_sha256, type_version FROM samples WHERE shard = ?`;

export async function verifyDataset(dirIn: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const t0 = performance.now();
  const dir = resolve(dirIn);
  const st = lstatOrNull(dir);
  if (!st || !st.isDirectory()) throw new VerifyRefusal(`${dir} is not a folder; give the dataset folder (the one holding ${MANIFEST_FILE})`);
  const workers = options.workers ?? defaultWorkers();
  const progress = options.progress ?? silentProgress();
  const ctx: Context = { dir, problems: new ProblemList(options.maxProblems), notes: [], db: null, lock: null, sums: null, recipe: null };
  const shardChecks: ShardCheck[] = [];
  let hashedBytes = 0;
  let hashSeconds = 0;
  let samples = 0;
  let filesHashed = 0;
  let shardsScanned = 0;
  let rescanned = 0;
  let regenerated: RegenerateReport | null = null;
  try {
    if (!options.datasetOnly) readReleaseFiles(ctx);
    openManifest(ctx);
    readRecipe(ctx);
    const manifest = manifestShards(ctx);
    const lockShards = new Map((ctx.lock?.shards ?? []).map((s) => [s.name, s]));
    const expected = new Set([...manifest.keys(), ...lockShards.keys()]);
    for (const p of ctx.sums?.entries.keys() ?? []) if (p.startsWith(`${SHARDS_DIR}/`)) expected.add(p.slice(SHARDS_DIR.length + 1));
    const present = listShardFiles(ctx, expected);
    for (const name of [...expected].sort()) {
      if (!present.has(name) && lstatOrNull(join(dir, SHARDS_DIR, name)) === null) {
        const by = [manifest.has(name) && 'the manifest', lockShards.has(name) && RELEASE_LOCK_FILE, ctx.sums?.entries.has(`${SHARDS_DIR}/${name}`) && SUMS_FILE].filter(Boolean);
        ctx.problems.add('file-missing', `${SHARDS_DIR}/${name}`, `${SHARDS_DIR}/${name} is missing (listed by ${by.join(', ')})`);
      }
    }
    crossCheckLists(ctx, manifest, lockShards);

    // Top-level files to hash: those SHA256SUMS lists (besides shards), which includes manifest, recipe and lock.
    const topFiles = [...(ctx.sums?.entries.keys() ?? [])].filter((p) => !p.startsWith(`${SHARDS_DIR}/`));
    const fileJobs = topFiles.filter((p) => {
      const s = lstatOrNull(join(dir, p));
      if (!s) {
        if (p !== MANIFEST_FILE && p !== RECIPE_FILE) ctx.problems.add('file-missing', p, `${p} is listed in ${SUMS_FILE} but missing`);
        return false;
      }
      if (!s.isFile()) {
        ctx.problems.add('file-unreadable', p, `${p} is not a regular file; not followed`);
        return false;
      }
      return true;
    });
    const shardNames = [...present.keys()];
    const totalBytes = [...present.values()].reduce((a, b) => a + b, 0) + fileJobs.reduce((a, p) => a + (lstatOrNull(join(dir, p))?.size ?? 0), 0);

    const counter = new BigInt64Array(new SharedArrayBuffer(8));
    const MB = 1e6;
    progress.start(Math.round(totalBytes / MB), 0);
    const tick = setInterval(() => progress.update({ done: Math.round(Number(Atomics.load(counter, 0)) / MB), errors: ctx.problems.count }), 200);
    const pool = modulePool<ScanTask, ScanOutput>('scan-worker', workers);
    const th = performance.now();
    const sourceSha = new Map(ctx.db ? (ctx.db.prepare('SELECT id, sha256 FROM sources').raw().all() as [string, string][]) : []);
    try {
      const jobs: (() => Promise<void>)[] = [
        ...fileJobs.map((p) => async () => {
          const out = await pool.run({ path: join(dir, p), mode: 'file', progress: counter });
          if (!out.ok) {
            ctx.problems.add('file-unreadable', p, `${p} ${out.message}`);
            return;
          }
          hashedBytes += out.bytes;
          filesHashed++;
          const want = ctx.sums?.entries.get(p);
          if (want && want !== out.sha256) ctx.problems.add('checksum-mismatch', p, `${p}: sha256 ${out.sha256}, ${SUMS_FILE} says ${want}: ${describeFileChange(p)}`);
        }),
        ...shardNames.map((name) => async () => {
          const file = `${SHARDS_DIR}/${name}`;
          const path = join(dir, SHARDS_DIR, name);
          const m = manifest.get(name);
          const l = lockShards.get(name);
          const sum = ctx.sums?.entries.get(file);
          const lazy = options.fast === true && ctx.db !== null;
          let out = await pool.run({ path, mode: 'tar', hashMembers: ctx.db !== null && !lazy, progress: counter });
          // --fast: members are hashed only in a shard whose checksum differs from a record, to say which changed.
          const expected = [m?.sha256, l?.sha256, sum].filter((x): x is string => x !== undefined);
          const found = out.ok ? out.sha256 : null;
          if (lazy && found !== null && (expected.length === 0 || expected.some((x) => x !== found))) {
            out = await pool.run({ path, mode: 'tar', hashMembers: true });
            rescanned++;
          }
          if (!out.ok) {
            ctx.problems.add('file-unreadable', file, `${file} ${out.message}`);
            return;
          }
          hashedBytes += out.bytes;
          filesHashed++;
          shardsScanned++;
          for (const [by, bytes] of [['the manifest', m?.bytes], [RELEASE_LOCK_FILE, l?.bytes]] as const) {
            if (bytes !== undefined && bytes !== out.bytes) {
              ctx.problems.add('size-mismatch', file, `${file} is ${out.bytes} bytes, ${by} says ${bytes}${out.bytes < bytes ? ' (truncated?)' : ''}`);
            }
          }
          for (const [by, sha] of [['the manifest', m?.sha256], [RELEASE_LOCK_FILE, l?.sha256], [SUMS_FILE, sum]] as const) {
            if (sha !== undefined && sha !== out.sha256) ctx.problems.add('checksum-mismatch', file, `${file}: sha256 ${out.sha256}, ${by} says ${sha}`);
          }
          if (!ctx.db) return;
          // Each sample takes at least three header blocks: more rows than that cannot be right, and are not
          // loaded (a forged manifest must not make verify allocate for millions of rows of one shard).
          const rowCount = ctx.db.prepare('SELECT count(*) FROM samples WHERE shard = ?').pluck().get(name) as number;
          const most = Math.floor(Math.max(out.bytes, m?.bytes ?? 0) / (3 * TAR_BLOCK));
          if (rowCount > most) {
            ctx.problems.add('manifest-inconsistent', file, `the manifest has ${rowCount} rows for ${file}, more than its ${out.bytes} bytes can hold (${most}); its rows are not checked`);
            return;
          }
          const rows = ctx.db.prepare(ROW_SELECT).all(name) as VerifyRow[];
          samples += rows.length;
          if (m && m.samples !== rows.length) ctx.problems.add('manifest-inconsistent', file, `the shards table says ${m.samples} samples in ${file}, the samples table has ${rows.length}`);
          if (l && l.samples !== rows.length) ctx.problems.add('lock-mismatch', file, `${RELEASE_LOCK_FILE} says ${l.samples} samples in ${file}, the manifest has ${rows.length}`);
          checkShard(out, rows, { file, sourceSha, recordedBytes: m?.bytes ?? l?.bytes }, ctx.problems);
          const digest = shardRowsDigest(ctx.db, name);
          if (l && l.rows_sha256 !== digest) {
            ctx.problems.add('rows-changed', file, `the manifest rows of ${file} differ from those in ${RELEASE_LOCK_FILE} (rows digest ${digest}, locked ${l.rows_sha256}): a manifest row was changed after the release`);
          }
          shardChecks.push({ name, samples: rows.length, bytes: out.bytes, sha256: out.sha256, rows_sha256: digest });
        }),
      ];
      await mapLimit(jobs, workers * 2, (job) => job());
    } finally {
      clearInterval(tick);
      hashSeconds = (performance.now() - th) / 1000;
      await pool.destroy();
      progress.update({ done: Math.round(Number(Atomics.load(counter, 0)) / MB), errors: ctx.problems.count });
      progress.stop();
    }
    if (rescanned > 0) ctx.notes.push(`--fast: ${rescanned} shard(s) with a differing checksum were read again to hash their members`);
    crossCheckLock(ctx);
    if (options.regenerate !== undefined) {
      if (!ctx.db) throw new VerifyRefusal(`cannot regenerate: ${MANIFEST_FILE} cannot be read`);
      regenerated = await regenerate(ctx.db, {
        dir,
        count: options.regenerate,
        recipe: ctx.lock?.recipe ?? ctx.recipe,
        lock: ctx.lock,
        sources: options.sources,
        workers,
        problems: ctx.problems,
        notes: ctx.notes,
      });
    }
  } finally {
    ctx.db?.close();
  }
  shardChecks.sort((a, b) => (a.name < b.name ? -1 : 1));
  const seconds = (performance.now() - t0) / 1000;
  return {
    ok: ctx.problems.count === 0,
    dataset: dir,
    release: ctx.lock !== null || ctx.sums !== null,
    checked: { files: filesHashed, shards: shardsScanned, samples, bytes: hashedBytes },
    problem_count: ctx.problems.count,
    problems: ctx.problems.items,
    notes: ctx.notes,
    seconds: Math.round(seconds * 1000) / 1000,
    mb_per_s: hashSeconds > 0 ? Math.round((hashedBytes / 1e6 / hashSeconds) * 10) / 10 : 0,
    regenerated,
    shards: shardChecks,
  };
}
