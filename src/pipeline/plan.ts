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
 * - a type may draw only from some collections of sources (the UIR-2.5M table takes DNBJ from
 *   LSDIR, NKUSR8K and FFHQ1K but noise from LSDIR, DF2K, BSD500 and WED). Types with the same
 *   collections form a group; groups follow one another in the sample order, each laid out as
 *   above over its own sources. Without collections there is one group of every source;
 * - a sample's key is <first 16 hex of its source sha>-<index within the source> (counted across
 *   groups, so a source in two groups keeps unique keys); its seed is deriveSeed(dataset seed,
 *   key), and its crop box is drawn from a stream forked off that seed;
 * - splits (assignSplits): sources ranked by a hash of their sha alone, the ranks cut at the
 *   requested fractions (largest remainder), at least one source per requested split when there
 *   are enough sources; so a photo far from a cut keeps its split across datasets;
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
  /** The named collection (recipe `collections`) this source was found in; absent without collections. */
  collection?: string;
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
  /** Draw only from sources of these collections; absent: from every source. */
  collections?: readonly string[];
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

/** Where a source falls in [0, 1): a hash of its content alone, the same in every dataset. */
export function splitPosition(sha256: string): number {
  return parseInt(deriveSeed('split', sha256).slice(0, 13), 16) / 2 ** 52;
}

export interface SplitAssignment {
  /** Split of each source, in the order given. */
  splits: SplitName[];
  /** Sources per split. */
  counts: Record<SplitName, number>;
  /** What differs from the requested fractions beyond rounding (null when nothing does). */
  note: string | null;
}

/**
 * Splits of sources (given by sha256): the sources ranked by splitPosition, the ranks cut into
 * consecutive runs whose lengths apportion the requested fractions (largest remainder). With at
 * least as many sources as requested splits, every requested split gets at least one source (taken
 * from the largest); with fewer, the splits with the largest fractions get one each and the note
 * says which went without. Deterministic; it depends on the set of sources, not their order.
 */
export function assignSplits(shas: readonly string[], fractions: Record<SplitName, number>): SplitAssignment {
  const requested = SPLIT_NAMES.filter((name) => fractions[name] > 0);
  if (requested.length === 0) throw new RangeError('splits: at least one split needs a fraction > 0');
  const n = shas.length;
  const counts: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  const notes: string[] = [];
  if (n >= requested.length) {
    const got = apportion(n, requested.map((name) => fractions[name]));
    const raised: string[] = [];
    for (let r = 0; r < requested.length; r++) {
      if (got[r] > 0) continue;
      let from = 0;
      for (let q = 1; q < got.length; q++) if (got[q] > got[from]) from = q;
      got[from]--;
      got[r]++;
      raised.push(requested[r]);
    }
    requested.forEach((name, r) => (counts[name] = got[r]));
    if (raised.length > 0) {
      notes.push(
        `${raised.join(' and ')} ${raised.length === 1 ? 'gets' : 'get'} one source each although ` +
          `${raised.map((r) => `${r} ${fractions[r as SplitName]}`).join(', ')} of ${n} source${n === 1 ? '' : 's'} rounds to none`,
      );
    }
  } else {
    const byShare = [...requested].sort((a, b) => fractions[b] - fractions[a] || SPLIT_NAMES.indexOf(a) - SPLIT_NAMES.indexOf(b));
    for (const name of byShare.slice(0, n)) counts[name] = 1;
    const left = byShare.slice(n);
    notes.push(
      `${n} source${n === 1 ? '' : 's'} for ${requested.length} requested splits: ` +
        `${left.join(' and ')} ${left.length === 1 ? 'gets' : 'get'} no source (and no samples); add sources to have every split`,
    );
  }
  const order = shas
    .map((sha, k) => ({ k, u: splitPosition(sha), sha }))
    .sort((a, b) => a.u - b.u || (a.sha < b.sha ? -1 : a.sha > b.sha ? 1 : 0));
  const splits = new Array<SplitName>(n);
  let at = 0;
  for (const name of SPLIT_NAMES) {
    for (let c = 0; c < counts[name]; c++) splits[order[at++].k] = name;
  }
  return { splits, counts, note: notes.length > 0 ? notes.join('; ') : null };
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

/** Types that draw from the same collections, laid out together (see the module comment). */
interface Group {
  /** Sorted collection names joined by ',', or '*' for every source. */
  key: string;
  /** First sample of the group in the plan. */
  first: number;
  total: number;
  /** Indices into Plan.sources of the group's sources, ascending (so in sha256 order). */
  members: Int32Array;
  /** start[m]: the group-local index of member m's first sample; start[members.length] = total. */
  start: Float64Array;
  /** base[m]: samples member m's source got in earlier groups (its keys continue from there). */
  base: Float64Array;
}

const ALL_SOURCES = '*';

export class Plan {
  readonly sources: readonly PlanSource[];
  readonly types: readonly PlanType[];
  readonly total: number;
  readonly shardCount: number;
  /** Samples per type, in `types` order. */
  readonly typeCounts: readonly number[];
  /** sha256 over everything the samples depend on: equal fingerprints, equal samples. */
  readonly fingerprint: string;
  /** Split of each source, in `sources` order. */
  readonly splits: readonly SplitName[];
  /** Sources per split. */
  readonly splitSources: Readonly<Record<SplitName, number>>;
  /** Set when the split fractions could not be met as asked (too few sources); say it to the user. */
  readonly splitNote: string | null;
  private readonly groups: readonly Group[];
  /** Samples of each source over all groups, in `sources` order. */
  private readonly perSource: Float64Array;
  /** (type index << 16) | position in that type's level list, shuffled within each group. */
  private readonly slots: Uint32Array;

  constructor(sources: readonly PlanSource[], types: readonly PlanType[], readonly options: PlanOptions) {
    if (sources.length === 0) throw new RangeError('a plan needs at least one source');
    if (types.length === 0) throw new RangeError('a plan needs at least one type');
    if (types.length > 0xffff) throw new RangeError('too many types');
    for (const t of types) {
      if (t.levels.length === 0) throw new RangeError(`type ${t.id} has no levels to spread over`);
      if (!(t.share > 0)) throw new RangeError(`type ${t.id}: share must be > 0, got ${t.share}`);
      if (t.collections !== undefined && t.collections.length === 0) throw new RangeError(`type ${t.id}: collections must not be empty`);
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
    const assigned = assignSplits(sorted.map((s) => s.sha256), options.splits);
    this.splits = assigned.splits;
    this.splitSources = assigned.counts;
    this.splitNote = assigned.note;

    const n = sorted.length;
    let total: number;
    if (options.perSource !== null) total = options.perSource * n;
    else if (options.total !== null) total = options.total;
    else if (options.counts) total = types.reduce((a, t) => a + t.share, 0);
    else throw new RangeError('a plan needs a total, a per-source count or absolute type counts');
    if (!Number.isSafeInteger(total) || total < 1) throw new RangeError(`total samples must be >= 1, got ${total}`);
    this.total = total;
    this.shardCount = Math.ceil(total / options.shardSamples);

    const counts = options.counts && options.total === null && options.perSource === null
      ? types.map((t) => t.share)
      : apportion(total, types.map((t) => t.share));
    this.typeCounts = counts;

    // Groups in order of their first type; each gets its types' samples, spread over its sources.
    const groupOf = types.map((t) => (t.collections ? [...new Set(t.collections)].sort().join(',') : ALL_SOURCES));
    const keys = [...new Set(groupOf)];
    this.perSource = new Float64Array(n);
    this.slots = new Uint32Array(total);
    const groups: Group[] = [];
    let first = 0;
    for (const key of keys) {
      const typeIdx = types.map((_, t) => t).filter((t) => groupOf[t] === key);
      const gTotal = typeIdx.reduce((a, t) => a + counts[t], 0);
      if (gTotal === 0) continue;
      const wanted = key === ALL_SOURCES ? null : new Set(key.split(','));
      const memberList: number[] = [];
      for (let k = 0; k < n; k++) if (!wanted || wanted.has(sorted[k].collection ?? '')) memberList.push(k);
      if (memberList.length === 0) {
        const named = typeIdx.map((t) => types[t].id).join(', ');
        throw new RangeError(`types ${named} draw from collections ${key.split(',').join(', ')}, but no source of those collections was found`);
      }
      const members = Int32Array.from(memberList);
      const m = members.length;
      const start = new Float64Array(m + 1);
      const base = new Float64Array(m);
      const each = Math.floor(gTotal / m);
      const extra = gTotal - each * m;
      for (let j = 0; j < m; j++) {
        const got = each + (j < extra ? 1 : 0);
        start[j + 1] = start[j] + got;
        base[j] = this.perSource[members[j]];
        this.perSource[members[j]] += got;
      }
      let at = first;
      for (const t of typeIdx) {
        const L = types[t].levels.length;
        for (let j = 0; j < counts[t]; j++) this.slots[at++] = (t << 16) | j % L;
      }
      // The one-group plan keeps the stream name it always had, so its samples did not change.
      const rng = createRng(key === ALL_SOURCES ? deriveSeed(options.seed, 'plan-slots') : deriveSeed(options.seed, 'plan-slots', key));
      for (let i = gTotal - 1; i > 0; i--) {
        const j = rng.int(0, i);
        const tmp = this.slots[first + i];
        this.slots[first + i] = this.slots[first + j];
        this.slots[first + j] = tmp;
      }
      groups.push({ key, first, total: gTotal, members, start, base });
      first += gTotal;
    }
    this.groups = groups;

    const h = createHash('sha256');
    // 'splits-by-rank': the split rule is part of what the samples depend on.
    h.update(JSON.stringify({ options, types, total, splitRule: 'splits-by-rank' }));
    for (const s of sorted) {
      const collection = s.collection === undefined ? '' : `:${s.collection}`;
      const depth = s.depth ? `:depth=${s.depth.sha256}/${s.depth.kind}` : '';
      h.update(`${s.sha256}:${s.width}x${s.height}${collection}${depth}\n`);
    }
    this.fingerprint = h.digest('hex');
  }

  /** The group holding sample i and i's index inside it. */
  private locate(i: number): { g: Group; j: number; m: number } {
    let gi = 0;
    while (gi + 1 < this.groups.length && this.groups[gi + 1].first <= i) gi++;
    const g = this.groups[gi];
    const j = i - g.first;
    let lo = 0;
    let hi = g.members.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (g.start[mid] <= j) lo = mid;
      else hi = mid - 1;
    }
    return { g, j, m: lo };
  }

  /** Index of the source that owns sample i. */
  sourceOf(i: number): number {
    const { g, m } = this.locate(i);
    return g.members[m];
  }

  /** How many samples source k gets (over all groups). */
  samplesOfSource(k: number): number {
    return this.perSource[k];
  }

  sample(i: number): PlannedSample {
    if (!Number.isInteger(i) || i < 0 || i >= this.total) throw new RangeError(`sample index must be in 0..${this.total - 1}, got ${i}`);
    const { g, j, m } = this.locate(i);
    const k = g.members[m];
    const src = this.sources[k];
    const key = `${src.sha256.slice(0, 16)}-${String(g.base[m] + j - g.start[m]).padStart(6, '0')}`;
    const seed = deriveSeed(this.options.seed, key);
    const slot = this.slots[i];
    const type = this.types[slot >>> 16];
    const level = type.levels[slot & 0xffff];
    const c = this.options.crop;
    // = createRng(seed).fork('crop'), without building the parent stream (a third of a row's planning time).
    const crng = createRng(deriveSeed(seed, 'crop'));
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
