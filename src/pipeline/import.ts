import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Image } from '../core/image.js';
import { decodeImage, encodePng, ImageInputError } from '../core/io.js';
import { isTypeId, TYPE_IDS, type TypeId } from '../degradations/types.js';
import { psnr } from '../core/metrics.js';
import { softwareVersions } from './versions.js';
import { Manifest, MANIFEST_FILE, type SampleRow, type SourceRow } from './manifest.js';
import { ShardWriter, StorageError, type ShardInfo } from './shards.js';
import { matchPairs, type Pair } from './pairs.js';
import { walkSources } from './sources.js';

/**
 * `uirgen import`: existing paired datasets (SIDD, GoPro, LOL, RESIDE/SOTS, Rain100L, ...) into
 * the same shards and manifest as synthesized pairs.
 *
 * Pairs are matched by file stem (pairs.ts), after undoing the naming quirks of the common datasets. The
 * import is planned deterministically (pairs in path order, shard s = pairs [s*N, (s+1)*N)), so
 * running the same command again resumes it: committed shards are kept, the rest redone.
 */

export const DEFAULT_IMPORT_SHARD_SAMPLES = 1000;
/** Pairs decoded at once: two cores, and a real photo pair as float RGB can take ~400 MB. */
const IN_FLIGHT = 2;

export interface ImportOptions {
  type: TypeId | string;
  lqDir: string;
  gtDir: string;
  /** The dataset directory (manifest.sqlite, shards/). */
  out: string;
  /** Mark the pairs as real captures (samples.real = 1, level_id 'real'). */
  real?: boolean;
  /** Split for every imported pair; default 'train'. */
  split?: string;
  shardSamples?: number;
  /** Shard name prefix; default 'import-<type>-<8 hex of the pair list>'. */
  prefix?: string;
  /** Called after each shard is written and committed (or found committed). */
  onShard?: (event: { shard: string; done: number; total: number; resumed: boolean }) => void;
}

export interface ImportSummary {
  type: TypeId;
  out: string;
  prefix: string;
  /** Pairs matched by name. */
  pairs: number;
  /** Pairs in the dataset from this import (including shards kept from an earlier, interrupted run). */
  imported: number;
  /** Matched pairs that could not be used (unreadable, sizes differ). */
  failed: number;
  shards: number;
  /** Shards already committed by an earlier run of the same import and kept. */
  resumedShards: number;
  unmatchedLq: string[];
  unmatchedGt: string[];
  ambiguous: string[];
  ignored: number;
  /** Entries the folder walks could not read. */
  unreadable: number;
}

/** A problem with the command's inputs that the user must fix (no pairs, a prefix clash). */
export class ImportError extends Error {
  override name = 'ImportError';
}

interface ImportRecipe {
  command: 'import';
  type: TypeId;
  lq: string;
  gt: string;
  real: boolean;
  split: string;
  prefix: string;
  shard_samples: number;
  /** sha256 of the matched pair list: what "the same import" means for resuming. */
  identity: string;
}

interface LoadedPair {
  gtPng: Buffer;
  lqPng: Buffer;
  gtSha: string;
  lqSha: string;
  sourceSha: string;
  width: number;
  height: number;
  psnr: number;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function checkOptions(o: ImportOptions): { type: TypeId; split: string; shardSamples: number; real: boolean } {
  if (typeof o.type !== 'string' || !isTypeId(o.type)) {
    throw new RangeError(`type must be one of ${TYPE_IDS.join(', ')}, got ${JSON.stringify(o.type)}`);
  }
  for (const name of ['lqDir', 'gtDir', 'out'] as const) {
    if (typeof o[name] !== 'string' || o[name].length === 0) throw new TypeError(`${name} must be a non-empty path`);
  }
  const split = o.split ?? 'train';
  if (typeof split !== 'string' || !/^[A-Za-z0-9_-]+$/.test(split)) {
    throw new RangeError(`split must be a word of letters, digits, _ or -, got ${JSON.stringify(split)}`);
  }
  const shardSamples = o.shardSamples ?? DEFAULT_IMPORT_SHARD_SAMPLES;
  if (!Number.isInteger(shardSamples) || shardSamples < 1 || shardSamples > 1_000_000) {
    throw new RangeError(`shardSamples must be an integer in 1..1000000, got ${String(shardSamples)}`);
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(o.prefix))) {
    throw new RangeError(`prefix must be 1..80 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(o.prefix)}`);
  }
  return { type: o.type, split, shardSamples, real: o.real === true };
}

async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageInputError(path, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`);
  }
}

async function decodeFrom(path: string, bytes: Buffer): Promise<Image> {
  try {
    return await decodeImage(bytes);
  } catch (err) {
    if (err instanceof ImageInputError) throw new ImageInputError(path, err.reason);
    throw err;
  }
}

/** Decode both halves, check they agree in size, encode them as the stored 8-bit PNGs. */
async function loadPair(pair: Pair): Promise<LoadedPair> {
  const [lqBytes, gtBytes] = await Promise.all([readInput(pair.lq), readInput(pair.gt)]);
  const lq = await decodeFrom(pair.lq, lqBytes);
  const gt = await decodeFrom(pair.gt, gtBytes);
  if (lq.width !== gt.width || lq.height !== gt.height) {
    throw new ImageInputError(
      pair.lq,
      `is ${lq.width}x${lq.height} but its ground truth ${pair.gt} is ${gt.width}x${gt.height}; a pair must have one size`,
    );
  }
  const [lqPng, gtPng] = await Promise.all([encodePng(lq), encodePng(gt)]);
  return {
    lqPng,
    gtPng,
    lqSha: sha256(lqPng),
    gtSha: sha256(gtPng),
    sourceSha: sha256(gtBytes),
    width: gt.width,
    height: gt.height,
    psnr: psnr(lq, gt),
  };
}

/** Results of `tasks` in order, with at most `limit` running: memory stays at `limit` pairs. */
async function* inOrder<T>(count: number, limit: number, task: (i: number) => Promise<T>): AsyncGenerator<PromiseSettledResult<T>> {
  const running: Promise<PromiseSettledResult<T>>[] = [];
  const start = (i: number): void => {
    running.push(task(i).then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason })));
  };
  let next = 0;
  while (next < count && running.length < limit) start(next++);
  while (running.length) {
    const result = await running.shift()!;
    if (next < count) start(next++);
    yield result;
  }
}

function identityOf(type: TypeId, real: boolean, split: string, pairs: readonly Pair[]): string {
  const h = createHash('sha256');
  h.update(`${type}\0${real ? 1 : 0}\0${split}\0`);
  for (const p of pairs) h.update(`${p.lqRel}\0${p.gtRel}\0`);
  return h.digest('hex');
}

/**
 * Refuse a prefix that an earlier import of different pairs already used (its shards would look
 * done). Returns whether this same import ran before (a resume).
 */
function checkPrefix(m: Manifest, recipe: ImportRecipe): boolean {
  const rows = m.db.prepare('SELECT recipe FROM runs').pluck().all() as string[];
  let seen = false;
  for (const text of rows) {
    const r = JSON.parse(text) as Partial<ImportRecipe>;
    if (r.command === 'import' && r.prefix === recipe.prefix && (r.identity !== recipe.identity || r.shard_samples !== recipe.shard_samples)) {
      throw new ImportError(
        `shard prefix ${recipe.prefix} was already used in ${m.path} by an import of other pairs ` +
          `(${r.lq} -> ${r.gt}); choose another --prefix`,
      );
    }
    if (r.command === 'import' && r.prefix === recipe.prefix) seen = true;
  }
  return seen;
}

/** Import one paired dataset into `options.out`; rerunning the same import resumes it. */
export async function importPairs(options: ImportOptions): Promise<ImportSummary> {
  const { type, split, shardSamples, real } = checkOptions(options);
  const [lqWalk, gtWalk] = [await walkSources([options.lqDir]), await walkSources([options.gtDir])];
  for (const [dir, walk] of [[options.lqDir, lqWalk], [options.gtDir, gtWalk]] as const) {
    const missing = walk.skipped.find((s) => s.path === dir);
    if (missing) throw new ImportError(`${dir}: ${missing.reason}`);
  }
  const match = matchPairs(options.lqDir, lqWalk.files, options.gtDir, gtWalk.files);
  const identity = identityOf(type, real, split, match.pairs);
  const prefix = options.prefix ?? `import-${type.toLowerCase()}-${identity.slice(0, 8)}`;
  const unreadable = [...lqWalk.skipped, ...gtWalk.skipped];
  const summary: ImportSummary = {
    type,
    out: options.out,
    prefix,
    pairs: match.pairs.length,
    imported: 0,
    failed: 0,
    shards: Math.ceil(match.pairs.length / shardSamples),
    resumedShards: 0,
    unmatchedLq: match.unmatchedLq,
    unmatchedGt: match.unmatchedGt,
    ambiguous: match.ambiguous.map((a) => a.lq),
    ignored: match.ignored.length,
    unreadable: unreadable.length,
  };
  if (match.pairs.length === 0) {
    throw new ImportError(
      `no pairs matched between ${options.lqDir} (${lqWalk.files.length} images) and ${options.gtDir} ` +
        `(${gtWalk.files.length} images); pairs are matched by file name (see uirgen import --help)`,
    );
  }
  const recipe: ImportRecipe = {
    command: 'import',
    type,
    lq: options.lqDir,
    gt: options.gtDir,
    real,
    split,
    prefix,
    shard_samples: shardSamples,
    identity,
  };
  const shardDir = join(options.out, 'shards');
  const manifest = Manifest.open(join(options.out, MANIFEST_FILE));
  try {
    const resuming = checkPrefix(manifest, recipe);
    const names = Array.from({ length: summary.shards }, (_, s) => `${prefix}-${String(s).padStart(6, '0')}`);
    const completed = manifest.completedShards();
    const runId = manifest.startRun(recipe, softwareVersions());
    // Input-level problems are recorded by the first run of an import, not again by each resume.
    if (!resuming) {
      manifest.recordErrors([
        ...unreadable.map((s) => ({ path: s.path, stage: 'import-walk', message: s.reason })),
        ...match.unmatchedLq.map((p) => ({ path: p, stage: 'import-match', message: `no ground truth in ${options.gtDir} matches this degraded image` })),
        ...match.unmatchedGt.map((p) => ({ path: p, stage: 'import-match', message: `no degraded image in ${options.lqDir} matches this ground truth` })),
        ...match.ambiguous.map((a) => ({ path: a.lq, stage: 'import-match', message: `matches several ground truths: ${a.candidates.join(', ')}` })),
      ]);
    }
    const committedSamples = manifest.db.prepare('SELECT samples FROM shards WHERE name = ?').pluck();
    for (let s = 0; s < names.length; s++) {
      const first = s * shardSamples;
      const count = Math.min(shardSamples, match.pairs.length - first);
      if (completed.has(`${names[s]}.tar`)) {
        const kept = committedSamples.get(`${names[s]}.tar`) as number;
        summary.resumedShards++;
        summary.imported += kept;
        summary.failed += count - kept;
        options.onShard?.({ shard: `${names[s]}.tar`, done: s + 1, total: names.length, resumed: true });
        continue;
      }
      const written = await writeShard(manifest, shardDir, names[s], match.pairs.slice(first, first + count), first, {
        type,
        real,
        split,
        prefix,
      });
      summary.imported += written.samples;
      summary.failed += count - written.samples;
      options.onShard?.({ shard: written.name, done: s + 1, total: names.length, resumed: false });
    }
    manifest.finishRun(runId);
  } finally {
    manifest.close();
  }
  return summary;
}

interface ShardContext {
  type: TypeId;
  real: boolean;
  split: string;
  prefix: string;
}

/** Write one shard of pairs and commit it with its rows; a pair that fails becomes an error row. */
async function writeShard(
  manifest: Manifest,
  dir: string,
  name: string,
  pairs: readonly Pair[],
  firstIndex: number,
  ctx: ShardContext,
): Promise<ShardInfo> {
  // Leftovers of an interrupted attempt: rows (none are committed without the shard, but be sure),
  // a partial file, or a renamed file whose commit never happened.
  manifest.dropShard(`${name}.tar`);
  for (const leftover of [join(dir, `${name}.tar.partial`), join(dir, `${name}.tar`)]) {
    await unlink(leftover).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw new StorageError(leftover, err.code, `cannot remove ${leftover}: ${err.message}`);
    });
  }
  const writer = await ShardWriter.create(dir, name);
  const shardName = `${name}.tar`;
  const rows: SampleRow[] = [];
  const sources = new Map<string, SourceRow>();
  const errors: { path: string; message: string }[] = [];
  const levelId = ctx.real ? 'real' : 'imported';
  try {
    let i = 0;
    for await (const result of inOrder(pairs.length, IN_FLIGHT, (j) => loadPair(pairs[j]))) {
      const pair = pairs[i];
      const key = `${ctx.prefix}-${String(firstIndex + i).padStart(7, '0')}`;
      i++;
      if (result.status === 'rejected') {
        const err = result.reason;
        if (err instanceof ImageInputError) errors.push({ path: err.path, message: err.reason });
        else throw err;
        continue;
      }
      const p = result.value;
      const member = {
        key,
        type: ctx.type,
        level: 0,
        level_id: levelId,
        params: {},
        seed: null,
        source: { sha256: p.sourceSha, path: pair.gtRel },
        lq_source: { path: pair.lqRel },
        crop: { x: 0, y: 0, w: p.width, h: p.height },
        split: ctx.split,
        real: ctx.real,
      };
      const where = await writer.add({
        key,
        members: { 'gt.png': p.gtPng, json: Buffer.from(JSON.stringify(member)), 'lq.png': p.lqPng },
      });
      sources.set(p.sourceSha, { id: p.sourceSha, path: pair.gt, sha256: p.sourceSha, width: p.width, height: p.height });
      rows.push({
        key,
        type: ctx.type,
        level: 0,
        level_id: levelId,
        params: {},
        seed: null,
        source_id: p.sourceSha,
        crop_x: 0,
        crop_y: 0,
        width: p.width,
        height: p.height,
        split: ctx.split,
        real: ctx.real ? 1 : 0,
        shard: shardName,
        offset_gt: where.offsets['gt.png'].offset,
        offset_lq: where.offsets['lq.png'].offset,
        lq_sha256: p.lqSha,
        gt_sha256: p.gtSha,
        psnr: p.psnr,
        type_version: null,
      });
    }
    const info = await writer.close();
    manifest.commitShard(info, rows, [...sources.values()]);
    manifest.recordErrors(errors.map((e) => ({ path: e.path, stage: 'import', message: e.message })));
    return info;
  } catch (err) {
    await writer.abort().catch(() => {});
    throw err;
  }
}
