import { createHash } from 'node:crypto';
import { createRng, deriveSeed } from '../core/random.js';
import type { DepthKind } from '../core/depthmap.js';
import type { TypeId } from '../degradations/types.js';
import { SPLIT_NAMES, type SplitName } from './recipe.js';

/**
 * The deterministic plan: sample index i -> (source, crop box, type, level, seed, key, split, shard).
 *
 * Everything is a function of the recipe, the seed and the usable sources' content (sha256 and
 * size), never of the worker count, completion order or partition:
 * - sources are ordered by sha256; source k owns the consecutive samples [start[k], start[k+1]),
 *   so a shard's samples come from few sources and each source is decoded once per task;
 * - each type's count is spread evenly over its levels (level = j mod L), and the (type, level)
 *   slots are shuffled over all samples by a seeded Fisher-Yates, so every source gets a mix;
 * - a sample's key is <first 16 hex of its source sha>-<index within the source>; its seed is
 *   deriveSeed(dataset seed, key), and its crop box is drawn from a stream forked off that seed;
 * - a source's split is a hash of its sha alone, so a photo stays in one split across datasets;
 * - shard s holds samples [s*N, (s+1)*N).
 * Memory is one 32-bit slot per sample (10 MB for 2.5M samples) plus per-source offsets.
 */

export interface PlanSource {
  sha256: string;
  /** Absolute (or as walked) path, for reading. */
  path: string;
  /** Path relative to its source folder, POSIX separators: what the samples record. */
  rel: string;
  width: number;
  height: number;
  /** The source's real depth map, when the recipe gives a folder of them and this source has one. */
  depth?: { path: string; sha256: string; kind: DepthKind };
}

export interface PlanLevel {
  index: number;
  id: string;
}

export interface PlanType {
  id: TypeId;
  /** A weight, or with `counts` an absolute number of samples. */
  share: number;
  /** The levels to spread over (default all), ascending. */
  levels: PlanLevel[];
}

export interface PlanOptions {
  seed: string;
  crop: number;
  /** Samples in all (spread evenly over sources); null with perSource or counts. */
  total: number | null;
  perSource: number | null;
  /** True when every type's share is an absolute count and no total was asked for. */
  counts: boolean;
  shardSamples: number;
  prefix: string;
  splits: Record<SplitName, number>;
}

export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PlannedSample {
  index: number;
  key: string;
  type: TypeId;
  level: number;
  level_id: string;
  seed: string;
  /** Index into plan.sources. */
  source: number;
  crop: CropBox;
  split: SplitName;
  shard: number;
}

/** What one worker task does: one source, decoded once, several crops cut from it. */
export interface PlanTask {
  shard: number;
  source: number;
  samples: PlannedSample[];
  /** True for the last task of its shard. */
  lastOfShard: boolean;
}

export const SHARD_DIGITS = 6;

export function shardName(prefix: string, shard: number): string {
  return `${prefix}-${String(shard).padStart(SHARD_DIGITS, '0')}`;
}

/** Split of a source: a hash of its content alone, mapped through the cumulative fractions. */
export function splitOf(sha256: string, splits: Record<SplitName, number>): SplitName {
  const u = parseInt(deriveSeed('split', sha256).slice(0, 13), 16) / 2 ** 52;
  let acc = 0;
  let last: SplitName = 'train';
  for (const name of SPLIT_NAMES) {
    if (splits[name] <= 0) continue;
    acc += splits[name];
    last = name;
    if (u < acc) return name;
  }
  return last;
}

/** Largest-remainder apportionment of `total` by `weights`; ties go to the earlier entry. */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new RangeError('weights must have a positive sum');
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ frac: e - Math.floor(e), i })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let r = 0; left > 0; r++, left--) out[order[r % order.length].i]++;
  return out;
}

export class Plan {
  readonly sources: readonly PlanSource[];
  readonly types: readonly PlanType[];
  readonly total: number;
  readonly shardCount: number;
  /** Samples per type, in `types` order. */
  readonly typeCounts: readonly number[];
  /** sha256 over everything the samples depend on: equal fingerprints, equal samples. */
  readonly fingerprint: string;
  readonly splits: readonly SplitName[];
  private readonly start: Float64Array;
  /** (type index << 16) | position in that type's level list, shuffled over the samples. */
  private readonly slots: Uint32Array;

  constructor(sources: readonly PlanSource[], types: readonly PlanType[], readonly options: PlanOptions) {
    if (sources.length === 0) throw new RangeError('a plan needs at least one source');
    if (types.length === 0) throw new RangeError('a plan needs at least one type');
    if (types.length > 0xffff) throw new RangeError('too many types');
    for (const t of types) {
      if (t.levels.length === 0) throw new RangeError(`type ${t.id} has no levels to spread over`);
      if (!(t.share > 0)) throw new RangeError(`type ${t.id}: share must be > 0, got ${t.share}`);
    }
    if (!Number.isInteger(options.shardSamples) || options.shardSamples < 1) {
      throw new RangeError(`shardSamples must be an integer >= 1, got ${options.shardSamples}`);
    }
    const sorted = [...sources].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
    for (let k = 0; k < sorted.length; k++) {
      const s = sorted[k];
      if (k > 0 && sorted[k - 1].sha256 === s.sha256) throw new RangeError(`duplicate source ${s.sha256} (${s.rel})`);
      if (s.width < options.crop || s.height < options.crop) {
        throw new RangeError(`source ${s.rel} (${s.width}x${s.height}) is smaller than the ${options.crop}px crop`);
      }
    }
    this.sources = sorted;
    this.types = types;
    this.splits = sorted.map((s) => splitOf(s.sha256, options.splits));

    const n = sorted.length;
    let total: number;
    if (options.perSource !== null) total = options.perSource * n;
    else if (options.total !== null) total = options.total;
    else if (options.counts) total = types.reduce((a, t) => a + t.share, 0);
    else throw new RangeError('a plan needs a total, a per-source count or absolute type counts');
    if (!Number.isSafeInteger(total) || total < 1) throw new RangeError(`total samples must be >= 1, got ${total}`);
    this.total = total;
    this.shardCount = Math.ceil(total / options.shardSamples);

    this.start = new Float64Array(n + 1);
    const base = Math.floor(total / n);
    const extra = total - base * n;
    for (let k = 0; k < n; k++) this.start[k + 1] = this.start[k] + base + (k < extra ? 1 : 0);

    const counts = options.counts && options.total === null && options.perSource === null
      ? types.map((t) => t.share)
      : apportion(total, types.map((t) => t.share));
    this.typeCounts = counts;
    this.slots = new Uint32Array(total);
    let at = 0;
    for (let t = 0; t < types.length; t++) {
      const L = types[t].levels.length;
      for (let j = 0; j < counts[t]; j++) this.slots[at++] = (t << 16) | j % L;
    }
    const rng = createRng(deriveSeed(options.seed, 'plan-slots'));
    for (let i = total - 1; i > 0; i--) {
      const j = rng.int(0, i);
      const tmp = this.slots[i];
      this.slots[i] = this.slots[j];
      this.slots[j] = tmp;
    }

    const h = createHash('sha256');
    h.update(JSON.stringify({ options, types, total }));
    for (const s of sorted) h.update(`${s.sha256}:${s.width}x${s.height}${s.depth ? `:depth=${s.depth.sha256}/${s.depth.kind}` : ''}\n`);
    this.fingerprint = h.digest('hex');
  }

  /** Index of the source that owns sample i. */
  sourceOf(i: number): number {
    let lo = 0;
    let hi = this.sources.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.start[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** How many samples source k gets. */
  samplesOfSource(k: number): number {
    return this.start[k + 1] - this.start[k];
  }

  sample(i: number): PlannedSample {
    if (!Number.isInteger(i) || i < 0 || i >= this.total) throw new RangeError(`sample index must be in 0..${this.total - 1}, got ${i}`);
    const k = this.sourceOf(i);
    const src = this.sources[k];
    const key = `${src.sha256.slice(0, 16)}-${String(i - this.start[k]).padStart(6, '0')}`;
    const seed = deriveSeed(this.options.seed, key);
    const slot = this.slots[i];
    const type = this.types[slot >>> 16];
    const level = type.levels[slot & 0xffff];
    const c = this.options.crop;
    const crng = createRng(seed).fork('crop');
    const crop = { x: crng.int(0, src.width - c), y: crng.int(0, src.height - c), w: c, h: c };
    return {
      index: i,
      key,
      type: type.id,
      level: level.index,
      level_id: level.id,
      seed,
      source: k,
      crop,
      split: this.splits[k],
      shard: Math.floor(i / this.options.shardSamples),
    };
  }

  shardName(s: number): string {
    return shardName(this.options.prefix, s);
  }

  shardRange(s: number): [number, number] {
    if (!Number.isInteger(s) || s < 0 || s >= this.shardCount) throw new RangeError(`shard must be in 0..${this.shardCount - 1}, got ${s}`);
    const N = this.options.shardSamples;
    return [s * N, Math.min((s + 1) * N, this.total)];
  }

  /** Shard s as tasks: runs of consecutive samples from one source, at most maxSamples each. */
  tasksOfShard(s: number, maxSamples: number): PlanTask[] {
    if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new RangeError(`maxSamples must be an integer >= 1, got ${maxSamples}`);
    const [from, to] = this.shardRange(s);
    const tasks: PlanTask[] = [];
    let current: PlanTask | null = null;
    for (let i = from; i < to; i++) {
      const sample = this.sample(i);
      if (!current || current.source !== sample.source || current.samples.length >= maxSamples) {
        current = { shard: s, source: sample.source, samples: [], lastOfShard: false };
        tasks.push(current);
      }
      current.samples.push(sample);
    }
    if (current) current.lastOfShard = true;
    return tasks;
  }

  /** The shards a partition makes: s % count === index. */
  shardsOfPart(index: number, count: number): number[] {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be an integer >= 1, got ${count}`);
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`shard index must be in 0..${count - 1}, got ${index}`);
    const out: number[] = [];
    for (let s = index; s < this.shardCount; s += count) out.push(s);
    return out;
  }
}
