import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Piscina } from 'piscina';
import { createRng, deriveSeed } from '../core/random.js';
import { openUntrustedManifest } from '../core/untrusted/manifest.js';
import { rowProblems, unsafeShardName } from '../core/untrusted/rows.js';
import { TYPE_IDS } from '../degradations/types.js';
import type { LoadTask } from './data-worker.js';

/**
 * The training data stream (issue 4, "Data"): batches of aligned lq/gt patches with type labels,
 * read from a uirgen dataset's shards.
 *
 * Reading order. The stream reads shards sequentially, never the whole index: per epoch it takes a
 * seeded permutation of the shard list, walks each shard's matching manifest rows in file order, a
 * page at a time, and passes them through a seeded shuffle buffer. The buffer holds sample
 * *references* (key, shard, offsets, label: about a hundred bytes each), not pixels, so it can be
 * thousands deep for good mixing at no real memory cost; pixels exist only for the samples in the
 * prefetch window. Memory is therefore O(shuffleBuffer + page + prefetch * batch * patch^2) plus the
 * shard list, whatever the dataset size. A full permutation of the manifest rows would shuffle
 * better but needs O(samples) memory; shards written by `synthesize` are already type/level
 * balanced and shuffled inside, so shard permutation + buffer is enough.
 *
 * Determinism. The order depends only on the manifest, the filters, the seed and the epoch (hashed
 * streams, consumed on this thread in sequence); each sample's crop/flip/rotation comes from
 * deriveSeed(seed, epoch, key) inside the worker; results are placed by sequence number. So the
 * batches are identical whatever the worker count, prefetch depth or completion order.
 *
 * Resumption. A position is (epoch, samples delivered in that epoch) plus a fingerprint of
 * everything that shapes the sample sequence (seed, patch, buffer, filters, matching sample count).
 * Reopening replays the order from the manifest alone up to that index, without reading pixels,
 * and continues with exactly the batches that would have followed. The batch size is not part of
 * it: the sequence of samples is the same for any batch size.
 */

export type Split = 'train' | 'val' | 'test';

export interface TrainingStreamOptions {
  /** Dataset directory holding manifest.sqlite and shards/. */
  dataset: string;
  batch: number;
  /** Side of the square crops, in pixels; samples smaller than this are left out (see stats). */
  patch: number;
  seed: string;
  /** Degradation type ids (case-insensitive). */
  types?: string[];
  /** Level ids as in the manifest's level_id (e.g. "sigma:25"), or level indices ("3"). */
  levels?: string[];
  split?: Split;
  real?: boolean;
  /** Sample references in the shuffle buffer (default 4096). */
  shuffleBuffer?: number;
  /** Loader threads (default: CPUs - 1, at least 1, at most 4). */
  workers?: number;
  /** Batches decoded ahead of the consumer (default 4). */
  prefetch?: number;
  /** Resume exactly where a checkpoint left off. */
  position?: DataPosition;
}

export interface Batch {
  /** NHWC float32 in [0, 1], size * patch * patch * 3. */
  lq: Float32Array;
  gt: Float32Array;
  /** Index into `stream.classes` of each sample's type. */
  labels: Int32Array;
  size: number;
  patch: number;
  /** Sample keys, in batch order (for logs and checks). */
  keys: string[];
}

/** Plain JSON: where the stream stands, to store in a checkpoint. */
export interface DataPosition {
  version: 1;
  epoch: number;
  /** Samples of `epoch` already delivered. */
  index: number;
  /** Matching samples per epoch when the position was taken. */
  samplesPerEpoch: number;
  /** Hash of the options that shape the sample sequence; a position only resumes the same sequence. */
  fingerprint: string;
}

export interface DataStats {
  /**
   * Loader throughput in samples (lq/gt pairs) per second of loader activity: samples decoded over
   * the time at least one was being loaded. Compare it with the trainer's images/s: when it is
   * higher the trainer never waits for data.
   */
  loaderImagesPerSecond: number;
  /** Samples delivered in batches since the stream was opened. */
  samplesDelivered: number;
  batchesDelivered: number;
  /** Time next() spent waiting for decoded samples, in seconds (0 when the loader keeps ahead). */
  waitSeconds: number;
  epoch: number;
  samplesPerEpoch: number;
  /** Samples matching the filters but smaller than the patch, left out. */
  excludedTooSmall: number;
  /** Decoded samples held now (in workers or waiting to be batched), and the most ever held. */
  samplesHeld: number;
  peakSamplesHeld: number;
  /** Of those, decoded and waiting for next(): the lead the loader has over the consumer. */
  samplesReady: number;
  /** Most sample references ever held by the shuffle buffer plus the current manifest page. */
  peakReferencesHeld: number;
  workers: number;
}

export interface TrainingStream {
  readonly classes: string[];
  readonly samplesPerEpoch: number;
  next(): Promise<Batch>;
  position(): DataPosition;
  stats(): DataStats;
  close(): Promise<void>;
}

/** Manifest rows read per query while walking a shard. */
const PAGE_ROWS = 512;
const DEFAULT_SHUFFLE_BUFFER = 4096;
const DEFAULT_PREFETCH = 4;

export function defaultLoaderWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** The worker module: the built .js, or the .ts source (with tsx's loader) under vitest/tsx. */
function workerFile(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './data-worker.ts' : './data-worker.js', import.meta.url);
  return { filename: fileURLToPath(url), execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

function checkInt(name: string, value: unknown, lo: number, hi: number): number {
  if (!Number.isInteger(value) || (value as number) < lo || (value as number) > hi) {
    throw new RangeError(`${name} must be an integer in ${lo}..${hi}, got ${String(value)}`);
  }
  return value as number;
}

interface Filters {
  types: string[] | null;
  levels: string[] | null;
  split: Split | null;
  real: boolean | null;
}

interface CheckedOptions {
  dataset: string;
  batch: number;
  patch: number;
  seed: string;
  filters: Filters;
  shuffleBuffer: number;
  workers: number;
  prefetch: number;
  position: DataPosition | null;
}

function checkOptions(o: TrainingStreamOptions): CheckedOptions {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object');
  if (typeof o.dataset !== 'string' || o.dataset.length === 0) throw new TypeError('dataset must be a non-empty path');
  if (typeof o.seed !== 'string' || o.seed.length === 0) throw new TypeError('seed must be a non-empty string');
  let types: string[] | null = null;
  if (o.types !== undefined) {
    if (!Array.isArray(o.types) || o.types.length === 0) throw new TypeError('types must be a non-empty array of type ids');
    const known = TYPE_IDS as readonly string[];
    types = [...new Set(o.types.map((t) => (typeof t === 'string' ? t.toUpperCase() : '')))];
    for (const t of types) {
      if (!known.includes(t)) throw new RangeError(`types: unknown type ${JSON.stringify(t)}; known: ${known.join(' ')}`);
    }
    types.sort((a, b) => known.indexOf(a) - known.indexOf(b));
  }
  let levels: string[] | null = null;
  if (o.levels !== undefined) {
    if (!Array.isArray(o.levels) || o.levels.length === 0 || o.levels.some((l) => typeof l !== 'string' || l.length === 0)) {
      throw new TypeError('levels must be a non-empty array of level ids or level indices (strings)');
    }
    levels = [...new Set(o.levels)].sort();
  }
  if (o.split !== undefined && o.split !== 'train' && o.split !== 'val' && o.split !== 'test') {
    throw new RangeError(`split must be 'train', 'val' or 'test', got ${JSON.stringify(o.split)}`);
  }
  if (o.real !== undefined && typeof o.real !== 'boolean') throw new TypeError('real must be a boolean');
  return {
    dataset: o.dataset,
    batch: checkInt('batch', o.batch, 1, 65536),
    patch: checkInt('patch', o.patch, 1, 16384),
    seed: o.seed,
    filters: { types, levels, split: o.split ?? null, real: o.real ?? null },
    shuffleBuffer: checkInt('shuffleBuffer', o.shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER, 1, 10_000_000),
    workers: checkInt('workers', o.workers ?? defaultLoaderWorkers(), 1, 256),
    prefetch: checkInt('prefetch', o.prefetch ?? DEFAULT_PREFETCH, 1, 1024),
    position: o.position ?? null,
  };
}

/** A sample as the order generator hands it out: enough to load it and label it. */
interface SampleRef {
  key: string;
  shard: number;
  offsetGt: number;
  offsetLq: number;
  width: number;
  height: number;
  label: number;
}

interface Row {
  key: string;
  type: string;
  offset_gt: number;
  offset_lq: number;
  width: number;
  height: number;
}

/** Read-only view of the manifest restricted to the filters. */
class SampleIndex {
  readonly classes: string[];
  readonly shards: string[];
  readonly count: number;
  readonly excludedTooSmall: number;
  private readonly labelOf: Map<string, number>;
  private readonly pageStmt: Database.Statement;
  private readonly where: string;
  private readonly params: Record<string, unknown>;

  constructor(
    private readonly db: Database.Database,
    filters: Filters,
    patch: number,
  ) {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    if (filters.types) {
      clauses.push(`type IN (${filters.types.map((_, i) => `@type${i}`).join(', ')})`);
      filters.types.forEach((t, i) => (params[`type${i}`] = t));
    }
    if (filters.levels) {
      const ids = filters.levels.map((_, i) => `@level${i}`).join(', ');
      const indices = filters.levels.filter((l) => /^\d+$/.test(l)).map(Number);
      clauses.push(`(level_id IN (${ids})${indices.length ? ` OR level IN (${indices.join(', ')})` : ''})`);
      filters.levels.forEach((l, i) => (params[`level${i}`] = l));
    }
    if (filters.split) {
      clauses.push('split = @split');
      params.split = filters.split;
    }
    if (filters.real !== null) {
      clauses.push('real = @real');
      params.real = filters.real ? 1 : 0;
    }
    const matching = clauses.length ? clauses.join(' AND ') : '1';
    this.where = `${matching} AND width >= @patch AND height >= @patch`;
    this.params = { ...params, patch };
    const countOf = (where: string, p: Record<string, unknown>): number =>
      db.prepare(`SELECT count(*) FROM samples WHERE ${where}`).pluck().get(p) as number;
    this.count = countOf(this.where, this.params);
    this.excludedTooSmall = countOf(matching, params) - this.count;

    const known = TYPE_IDS as readonly string[];
    const rank = (t: string): number => (known.includes(t) ? known.indexOf(t) : known.length);
    const types = db.prepare(`SELECT DISTINCT type FROM samples WHERE ${this.where}`).pluck().all(this.params) as string[];
    this.classes = types.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    this.labelOf = new Map(this.classes.map((t, i) => [t, i]));

    this.shards = db.prepare(`SELECT DISTINCT shard FROM samples WHERE ${this.where} ORDER BY shard`).pluck().all(this.params) as string[];
    for (const s of this.shards) {
      const unsafe = unsafeShardName(s);
      if (unsafe) throw new RangeError(`the manifest names a shard that cannot be read: ${unsafe}`);
    }
    this.pageStmt = db.prepare(
      `SELECT key, type, offset_gt, offset_lq, width, height FROM samples
       WHERE shard = @shard AND offset_gt > @after AND ${this.where} ORDER BY offset_gt LIMIT ${PAGE_ROWS}`,
    );
  }

  /** One shard's matching rows in file order, a page at a time (keyset paging on offset_gt). */
  *rows(shard: number, onPage: (rows: number) => void): Generator<SampleRef> {
    let after = -1;
    for (;;) {
      const page = this.pageStmt.all({ ...this.params, shard: this.shards[shard], after }) as Row[];
      onPage(page.length);
      for (const r of page) {
        const bad = rowProblems({ ...r, shard: this.shards[shard] });
        if (bad.length > 0) throw new RangeError(`manifest row ${JSON.stringify(r.key)} cannot be followed into its shard: ${bad.join('; ')}`);
        yield {
          key: r.key,
          shard,
          offsetGt: r.offset_gt,
          offsetLq: r.offset_lq,
          width: r.width,
          height: r.height,
          label: this.labelOf.get(r.type) as number,
        };
      }
      if (page.length < PAGE_ROWS) return;
      after = page[page.length - 1].offset_gt;
    }
  }
}

/**
 * One epoch's sample order: shards in a seeded permutation, each read in file order, through a
 * seeded shuffle buffer of `size` references. `onHeld` sees how many references are held.
 */
function* epochOrder(index: SampleIndex, seed: string, epoch: number, size: number, onHeld: (n: number) => void): Generator<SampleRef> {
  const shardRng = createRng(deriveSeed(seed, 'data-shard-order', epoch));
  const order = index.shards.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = shardRng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pick = createRng(deriveSeed(seed, 'data-shuffle-buffer', epoch));
  const buffer: SampleRef[] = [];
  let page = 0;
  for (const shard of order) {
    for (const ref of index.rows(shard, (n) => (page = n))) {
      onHeld(buffer.length + page);
      if (buffer.length < size) {
        buffer.push(ref);
        continue;
      }
      const j = pick.int(0, size - 1);
      const out = buffer[j];
      buffer[j] = ref;
      yield out;
    }
  }
  while (buffer.length > 0) {
    const j = pick.int(0, buffer.length - 1);
    const out = buffer[j];
    buffer[j] = buffer[buffer.length - 1];
    buffer.pop();
    yield out;
  }
}

interface Pending {
  ref: SampleRef;
  epoch: number;
  index: number;
  done: boolean;
  result: Float32Array | null;
  error: unknown;
  settled: Promise<void>;
}

function fingerprintOf(o: CheckedOptions, count: number, shards: number): string {
  return deriveSeed('uirgen-data-v1', o.seed, o.patch, o.shuffleBuffer, JSON.stringify(o.filters), count, shards);
}

function checkPosition(p: DataPosition, fingerprint: string, count: number): void {
  if (p === null || typeof p !== 'object' || p.version !== 1) {
    throw new TypeError('position must be a DataPosition (version 1) as returned by stream.position()');
  }
  checkInt('position.epoch', p.epoch, 0, Number.MAX_SAFE_INTEGER);
  checkInt('position.index', p.index, 0, Number.MAX_SAFE_INTEGER);
  if (p.fingerprint !== fingerprint) {
    const why =
      p.samplesPerEpoch !== count
        ? `it was taken over ${p.samplesPerEpoch} samples per epoch, these options match ${count}`
        : 'the seed, patch, shuffle buffer or filters differ';
    throw new RangeError(`position does not belong to this data stream: ${why}; resume with the options of the original run`);
  }
  if (p.index > count) throw new RangeError(`position.index ${p.index} is past the ${count} samples of an epoch`);
}

class Stream implements TrainingStream {
  readonly classes: string[];
  readonly samplesPerEpoch: number;
  private readonly fingerprint: string;
  private readonly plane: number;
  private readonly window: number;
  private readonly shardDir: string;
  private readonly pending: Pending[] = [];
  // Dispatch cursor: the order generator and where it stands.
  private epoch: number;
  private index: number;
  private order: Generator<SampleRef>;
  // Delivery cursor: what position() reports.
  private delivered: { epoch: number; index: number };
  private closed = false;
  private failure: unknown = null;
  private busy: Promise<Batch> | null = null;
  // Stats.
  private held = 0;
  private peakHeld = 0;
  private peakRefs = 0;
  private inFlight = 0;
  private warm = false;
  private busySince = 0;
  private busyMs = 0;
  private loaded = 0;
  private samplesOut = 0;
  private batchesOut = 0;
  private waitMs = 0;

  constructor(
    private readonly o: CheckedOptions,
    private readonly db: Database.Database,
    private readonly samples: SampleIndex,
    private readonly pool: Piscina,
  ) {
    this.classes = samples.classes;
    this.samplesPerEpoch = samples.count;
    this.fingerprint = fingerprintOf(o, samples.count, samples.shards.length);
    this.plane = o.patch * o.patch * 3;
    this.window = o.prefetch * o.batch;
    this.shardDir = resolve(o.dataset, 'shards');
    const start = o.position ?? { epoch: 0, index: 0 };
    if (o.position) checkPosition(o.position, this.fingerprint, samples.count);
    this.epoch = start.epoch;
    this.index = 0;
    this.order = this.newOrder();
    // Replay the order (references only, no pixels) up to the resume point.
    for (let i = 0; i < start.index; i++) this.nextRef();
    this.delivered = { epoch: this.epoch, index: this.index };
    this.fill();
  }

  private newOrder(): Generator<SampleRef> {
    return epochOrder(this.samples, this.o.seed, this.epoch, this.o.shuffleBuffer, (n) => {
      if (n > this.peakRefs) this.peakRefs = n;
    });
  }

  private nextRef(): { ref: SampleRef; epoch: number; index: number } {
    let fresh = false;
    for (;;) {
      const r = this.order.next();
      if (!r.done) return { ref: r.value, epoch: this.epoch, index: this.index++ };
      if (fresh) throw new Error(`dataset ${this.o.dataset}: an epoch yielded no samples (was the manifest changed while training?)`);
      this.epoch++;
      this.index = 0;
      this.order = this.newOrder();
      fresh = true;
    }
  }

  /** Keep `prefetch * batch` samples dispatched or decoded ahead of the consumer. */
  private fill(): void {
    while (this.pending.length < this.window) {
      const { ref, epoch, index } = this.nextRef();
      const task: LoadTask = {
        shard: join(this.shardDir, this.samples.shards[ref.shard]),
        key: ref.key,
        offsetGt: ref.offsetGt,
        offsetLq: ref.offsetLq,
        width: ref.width,
        height: ref.height,
        patch: this.o.patch,
        seed: this.o.seed,
        epoch,
      };
      const entry: Pending = { ref, epoch, index, done: false, result: null, error: null, settled: Promise.resolve() };
      this.held++;
      if (this.held > this.peakHeld) this.peakHeld = this.held;
      if (this.inFlight++ === 0) this.busySince = performance.now();
      entry.settled = (this.pool.run(task) as Promise<Float32Array>).then(
        (result) => {
          entry.result = result;
          this.settle(entry);
        },
        (err: unknown) => {
          entry.error = err;
          this.settle(entry);
        },
      );
      this.pending.push(entry);
    }
  }

  /**
   * Loader activity accounting. The first result of a stream carries the threads' start-up (module
   * loading), which says nothing about throughput, so timing starts when it arrives.
   */
  private settle(entry: Pending): void {
    const now = performance.now();
    entry.done = true;
    this.inFlight--;
    if (!this.warm) {
      this.warm = true;
      this.busySince = now;
      return;
    }
    this.loaded++;
    if (this.inFlight === 0) this.busyMs += now - this.busySince;
  }

  next(): Promise<Batch> {
    // Calls overlap only if a caller does not await; chain them so batches stay in order.
    const run = (this.busy ?? Promise.resolve()).catch(() => {}).then(() => this.nextNow());
    this.busy = run;
    return run;
  }

  private async nextNow(): Promise<Batch> {
    if (this.closed) throw new Error('the data stream is closed');
    if (this.failure) throw this.failure;
    const { batch, patch } = this.o;
    const out: Batch = {
      lq: new Float32Array(batch * this.plane),
      gt: new Float32Array(batch * this.plane),
      labels: new Int32Array(batch),
      size: batch,
      patch,
      keys: [],
    };
    const started = performance.now();
    let waited = false;
    for (let i = 0; i < batch; i++) {
      const entry = this.pending[i];
      if (!entry.done) {
        waited = true;
        await entry.settled;
      }
      if (this.closed) throw new Error('the data stream is closed');
      if (entry.error) {
        this.failure = entry.error;
        throw entry.error;
      }
    }
    if (waited) this.waitMs += performance.now() - started;
    for (let i = 0; i < batch; i++) {
      const entry = this.pending.shift() as Pending;
      const data = entry.result as Float32Array;
      out.gt.set(data.subarray(0, this.plane), i * this.plane);
      out.lq.set(data.subarray(this.plane), i * this.plane);
      out.labels[i] = entry.ref.label;
      out.keys.push(entry.ref.key);
      entry.result = null;
      this.held--;
      this.delivered = { epoch: entry.epoch, index: entry.index + 1 };
    }
    this.samplesOut += batch;
    this.batchesOut++;
    this.fill();
    return out;
  }

  position(): DataPosition {
    return {
      version: 1,
      epoch: this.delivered.epoch,
      index: this.delivered.index,
      samplesPerEpoch: this.samplesPerEpoch,
      fingerprint: this.fingerprint,
    };
  }

  stats(): DataStats {
    const busyMs = this.busyMs + (this.inFlight > 0 ? performance.now() - this.busySince : 0);
    return {
      loaderImagesPerSecond: busyMs > 0 ? (this.loaded * 1000) / busyMs : 0,
      samplesDelivered: this.samplesOut,
      batchesDelivered: this.batchesOut,
      waitSeconds: this.waitMs / 1000,
      epoch: this.delivered.epoch,
      samplesPerEpoch: this.samplesPerEpoch,
      excludedTooSmall: this.samples.excludedTooSmall,
      samplesHeld: this.held,
      peakSamplesHeld: this.peakHeld,
      samplesReady: this.pending.reduce((n, p) => n + (p.done && !p.error ? 1 : 0), 0),
      peakReferencesHeld: this.peakRefs,
      workers: this.o.workers,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // Let the (at most prefetch * batch) loads in flight finish first: destroying piscina while a
      // result message is on its way makes it throw an uncaught "Unexpected message from Worker".
      await Promise.all(this.pending.map((p) => p.settled));
      await this.pool.destroy();
    } finally {
      this.pending.length = 0;
      this.db.close();
    }
  }
}

/** Open a never-ending, seeded, resumable stream of training batches over a uirgen dataset. */
export async function openTrainingStream(options: TrainingStreamOptions): Promise<TrainingStream> {
  const o = checkOptions(options);
  const manifestPath = join(o.dataset, 'manifest.sqlite');
  if (!existsSync(manifestPath)) {
    throw new Error(`${o.dataset}: no manifest.sqlite there; is this a uirgen dataset directory?`);
  }
  let db: Database.Database;
  try {
    db = openUntrustedManifest(manifestPath);
  } catch (err) {
    throw new Error(`${manifestPath}: cannot open the manifest (${(err as Error).message})`);
  }
  let index: SampleIndex;
  try {
    index = new SampleIndex(db, o.filters, o.patch);
    if (index.count === 0) {
      const f = o.filters;
      const desc = [
        f.types && `types ${f.types.join(',')}`,
        f.levels && `levels ${f.levels.join(',')}`,
        f.split && `split ${f.split}`,
        f.real !== null && `real ${f.real}`,
      ].filter(Boolean);
      const small = index.excludedTooSmall ? ` (${index.excludedTooSmall} match but are smaller than the ${o.patch}px patch)` : '';
      throw new RangeError(`${o.dataset}: no samples match${desc.length ? ` ${desc.join(', ')}` : ''}${small}`);
    }
  } catch (err) {
    db.close();
    throw err;
  }
  const worker = workerFile();
  const pool = new Piscina({
    filename: worker.filename,
    execArgv: worker.execArgv,
    minThreads: o.workers,
    maxThreads: o.workers,
    // The stream bounds what is in flight (prefetch * batch); the queue never grows past that.
    maxQueue: Infinity,
    idleTimeout: 60_000,
  });
  try {
    return new Stream(o, db, index, pool);
  } catch (err) {
    await pool.destroy();
    db.close();
    throw err;
  }
}
