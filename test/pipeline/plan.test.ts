import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apportion, assignSplits, Plan, splitPosition, type PlanOptions, type PlanSource, type PlanType } from '../../src/pipeline/plan.js';

function source(i: number, width = 300, height = 200): PlanSource {
  const sha256 = createHash('sha256').update(`source ${i}`).digest('hex');
  return { sha256, path: `/photos/p${i}.png`, rel: `p${i}.png`, width, height };
}

function levels(n: number, variant = 'v'): PlanType['levels'] {
  return Array.from({ length: n }, (_, index) => ({ index, id: `${variant}:${index}` }));
}

const TYPES: PlanType[] = [
  { id: 'GN', share: 1, levels: levels(6) },
  { id: 'MB', share: 1, levels: levels(4) },
  { id: 'J', share: 1, levels: levels(10) },
];

const OPTS: PlanOptions = {
  seed: 's',
  crop: 64,
  total: null,
  perSource: 12,
  counts: false,
  shardSamples: 10,
  prefix: 'uir',
  splits: { train: 0.8, val: 0.1, test: 0.1 },
};

function all(plan: Plan) {
  return Array.from({ length: plan.total }, (_, i) => plan.sample(i));
}

describe('Plan', () => {
  const sources = Array.from({ length: 5 }, (_, i) => source(i));

  it('orders sources by sha256 and gives each source consecutive samples', () => {
    const plan = new Plan([...sources].reverse(), TYPES, OPTS);
    const shas = plan.sources.map((s) => s.sha256);
    expect(shas).toEqual([...shas].sort());
    expect(plan.total).toBe(60);
    const owners = all(plan).map((s) => s.source);
    expect(owners).toEqual([...owners].sort((a, b) => a - b));
    for (let k = 0; k < 5; k++) expect(owners.filter((o) => o === k)).toHaveLength(12);
  });

  it('does not depend on the order sources were found in', () => {
    const a = all(new Plan(sources, TYPES, OPTS));
    const b = all(new Plan([sources[3], sources[0], sources[4], sources[1], sources[2]], TYPES, OPTS));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('balances types and spreads each type evenly over its levels', () => {
    const plan = new Plan(sources, TYPES, { ...OPTS, perSource: 24 }); // 120 samples, 40 per type
    const samples = all(plan);
    for (const t of TYPES) {
      const mine = samples.filter((s) => s.type === t.id);
      expect(mine).toHaveLength(40);
      const perLevel = t.levels.map((l) => mine.filter((s) => s.level === l.index).length);
      expect(Math.max(...perLevel) - Math.min(...perLevel)).toBeLessThanOrEqual(1);
      expect(mine.every((s) => s.level_id === `v:${s.level}`)).toBe(true);
    }
    // Shuffled over sources: every source gets more than one type.
    for (let k = 0; k < 5; k++) expect(new Set(samples.filter((s) => s.source === k).map((s) => s.type)).size).toBeGreaterThan(1);
  });

  it('follows weights (largest remainder) and absolute counts', () => {
    const weighted = new Plan(sources, [{ ...TYPES[0], share: 3 }, { ...TYPES[1], share: 1 }], { ...OPTS, perSource: null, total: 41 });
    expect(weighted.typeCounts).toEqual([31, 10]);
    const counted = new Plan(sources, [{ ...TYPES[0], share: 7 }, { ...TYPES[2], share: 2 }], { ...OPTS, perSource: null, counts: true });
    expect(counted.total).toBe(9);
    expect(all(counted).filter((s) => s.type === 'J')).toHaveLength(2);
    // A total with counts scales them as weights.
    const scaled = new Plan(sources, [{ ...TYPES[0], share: 30 }, { ...TYPES[2], share: 10 }], { ...OPTS, perSource: null, counts: true, total: 8 });
    expect(scaled.typeCounts).toEqual([6, 2]);
  });

  it('spreads a total evenly over sources (counts differ by at most one)', () => {
    const plan = new Plan(sources, TYPES, { ...OPTS, perSource: null, total: 23 });
    const per = plan.sources.map((_, k) => plan.samplesOfSource(k));
    expect(per).toEqual([5, 5, 5, 4, 4]);
  });

  it('keys, seeds and crops: unique, dot-free, inside the source, derived from the key', () => {
    const plan = new Plan([source(0, 300, 200), source(1, 64, 64)], TYPES, OPTS);
    const samples = all(plan);
    expect(new Set(samples.map((s) => s.key)).size).toBe(samples.length);
    for (const s of samples) {
      const src = plan.sources[s.source];
      expect(s.key).toMatch(/^[0-9a-f]{16}-\d{6}$/);
      expect(s.key.startsWith(src.sha256.slice(0, 16))).toBe(true);
      expect(s.crop.w).toBe(64);
      expect(s.crop.x + s.crop.w).toBeLessThanOrEqual(src.width);
      expect(s.crop.y + s.crop.h).toBeLessThanOrEqual(src.height);
    }
    const xs = new Set(samples.filter((s) => plan.sources[s.source].width === 300).map((s) => `${s.crop.x},${s.crop.y}`));
    expect(xs.size).toBeGreaterThan(6);
    // Another dataset seed changes seeds and crops but not keys.
    const other = all(new Plan([source(0, 300, 200), source(1, 64, 64)], TYPES, { ...OPTS, seed: 't' }));
    expect(other.map((s) => s.key)).toEqual(samples.map((s) => s.key));
    expect(other.filter((s, i) => s.seed === samples[i].seed)).toHaveLength(0);
  });

  it('shards hold [s*N, (s+1)*N) and tasks group consecutive samples of one source', () => {
    const plan = new Plan(sources, TYPES, { ...OPTS, shardSamples: 7 });
    expect(plan.shardCount).toBe(9);
    expect(plan.shardName(3)).toBe('uir-000003');
    expect(plan.shardRange(8)).toEqual([56, 60]);
    const seen: number[] = [];
    for (let s = 0; s < plan.shardCount; s++) {
      const tasks = plan.tasksOfShard(s, 3);
      expect(tasks.at(-1)?.lastOfShard).toBe(true);
      expect(tasks.filter((t) => t.lastOfShard)).toHaveLength(1);
      for (const t of tasks) {
        expect(t.samples.length).toBeLessThanOrEqual(3);
        expect(t.samples.every((x) => x.source === t.source && x.shard === s)).toBe(true);
        seen.push(...t.samples.map((x) => x.index));
      }
    }
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('partitions: parts are disjoint and together make every shard', () => {
    const plan = new Plan(sources, TYPES, { ...OPTS, shardSamples: 7 });
    const parts = [0, 1, 2].map((i) => plan.shardsOfPart(i, 3));
    expect(parts[1]).toEqual([1, 4, 7]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 9 }, (_, i) => i));
    expect(() => plan.shardsOfPart(3, 3)).toThrow(/shard index must be in 0..2/);
  });

  it('the fingerprint changes with anything the samples depend on', () => {
    const base = new Plan(sources, TYPES, OPTS).fingerprint;
    expect(new Plan([...sources].reverse(), TYPES, OPTS).fingerprint).toBe(base);
    expect(new Plan(sources.slice(1), TYPES, OPTS).fingerprint).not.toBe(base);
    expect(new Plan(sources, TYPES, { ...OPTS, seed: 'x' }).fingerprint).not.toBe(base);
    expect(new Plan(sources, TYPES.slice(1), OPTS).fingerprint).not.toBe(base);
  });

  it('rejects duplicate sources, sources smaller than the crop and empty inputs', () => {
    expect(() => new Plan([source(0), source(0)], TYPES, OPTS)).toThrow(/duplicate source/);
    expect(() => new Plan([source(0, 63, 300)], TYPES, OPTS)).toThrow(/smaller than the 64px crop/);
    expect(() => new Plan([], TYPES, OPTS)).toThrow(/at least one source/);
    expect(() => new Plan(sources, [], OPTS)).toThrow(/at least one type/);
    expect(() => new Plan(sources, TYPES, OPTS).sample(60)).toThrow(/0..59/);
  });
});

describe('Plan with collections', () => {
  const inColl = (i: number, collection: string): PlanSource => ({ ...source(i), collection });
  // a, b: two photo collections; c: a face collection. MB draws from a and c, J from a only.
  const sources = [inColl(0, 'a'), inColl(1, 'a'), inColl(2, 'b'), inColl(3, 'c'), inColl(4, 'c')];
  const types: PlanType[] = [
    { id: 'GN', share: 20, levels: levels(4) },
    { id: 'MB', share: 12, levels: levels(3), collections: ['c', 'a'] },
    { id: 'J', share: 6, levels: levels(2), collections: ['a'] },
  ];
  const opts = { ...OPTS, perSource: null, counts: true };

  it('each type draws only from its collections; the others from every source', () => {
    const plan = new Plan(sources, types, opts);
    const samples = all(plan);
    expect(samples).toHaveLength(38);
    const collOf = (s: { source: number }) => plan.sources[s.source].collection;
    expect(new Set(samples.filter((s) => s.type === 'MB').map(collOf))).toEqual(new Set(['a', 'c']));
    expect(new Set(samples.filter((s) => s.type === 'J').map(collOf))).toEqual(new Set(['a']));
    expect(new Set(samples.filter((s) => s.type === 'GN').map(collOf))).toEqual(new Set(['a', 'b', 'c']));
    // a group's samples are spread evenly over its sources: MB's 12 over 4 sources
    const mbPer = [...new Set(samples.filter((s) => s.type === 'MB').map((s) => s.source))].map(
      (k) => samples.filter((s) => s.type === 'MB' && s.source === k).length,
    );
    expect(mbPer).toEqual([3, 3, 3, 3]);
  });

  it('keys stay unique and consecutive per source across groups', () => {
    const plan = new Plan(sources, types, opts);
    const samples = all(plan);
    expect(new Set(samples.map((s) => s.key)).size).toBe(samples.length);
    for (let k = 0; k < plan.sources.length; k++) {
      const idx = samples.filter((s) => s.source === k).map((s) => Number(s.key.split('-')[1])).sort((a, b) => a - b);
      expect(idx).toEqual(Array.from({ length: plan.samplesOfSource(k) }, (_, i) => i));
    }
    expect(JSON.stringify(all(new Plan([...sources].reverse(), types, opts)))).toBe(JSON.stringify(samples));
  });

  it('a collection change changes the fingerprint; a collection with no source is an error', () => {
    const base = new Plan(sources, types, opts).fingerprint;
    expect(new Plan(sources.map((s) => ({ ...s, collection: s.collection === 'b' ? 'a' : s.collection })), types, opts).fingerprint).not.toBe(base);
    expect(() => new Plan(sources.slice(2), types, opts)).toThrow(/types J draw from collections a, but no source/);
  });
});

describe('assignSplits / apportion', () => {
  const shas = (n: number, from = 0) => Array.from({ length: n }, (_, i) => source(from + i).sha256);

  it('cuts the sources ranked by their content hash at the asked fractions, exactly', () => {
    const splits = { train: 0.7, val: 0.2, test: 0.1 };
    const got = assignSplits(shas(4000), splits);
    expect(got.counts).toEqual({ train: 2800, val: 800, test: 400 });
    expect(got.note).toBeNull();
    const tally = { train: 0, val: 0, test: 0 };
    for (const s of got.splits) tally[s]++;
    expect(tally).toEqual(got.counts);
    // train holds the lowest hash positions, test the highest: a source's split depends on where its hash falls.
    const u = (split: string) => shas(4000).filter((_, k) => got.splits[k] === split).map(splitPosition);
    expect(Math.max(...u('train'))).toBeLessThan(Math.min(...u('val')));
    expect(Math.max(...u('val'))).toBeLessThan(Math.min(...u('test')));
    expect(assignSplits(shas(200), { train: 1, val: 0, test: 0 }).splits.every((s) => s === 'train')).toBe(true);
  });

  it('does not depend on the order of the sources', () => {
    const a = shas(9);
    const b = [...a].reverse();
    const sa = assignSplits(a, { train: 0.6, val: 0.2, test: 0.2 });
    const sb = assignSplits(b, { train: 0.6, val: 0.2, test: 0.2 });
    expect(a.map((_, k) => sa.splits[k])).toEqual(a.map((_, k) => sb.splits[a.length - 1 - k]));
  });

  it('gives every requested split a source when there are enough (the demo: 5 photos, 0.6/0.2/0.2)', () => {
    expect(assignSplits(shas(5), { train: 0.6, val: 0.2, test: 0.2 }).counts).toEqual({ train: 3, val: 1, test: 1 });
    const tiny = assignSplits(shas(3), { train: 0.98, val: 0.01, test: 0.01 });
    expect(tiny.counts).toEqual({ train: 1, val: 1, test: 1 });
    expect(tiny.note).toMatch(/val and test get one source each/);
    expect(assignSplits(shas(4), { train: 0.98, val: 0.02, test: 0 }).counts).toEqual({ train: 3, val: 1, test: 0 });
  });

  it('with fewer sources than splits, the largest fractions get one each and the note says who went without', () => {
    const two = assignSplits(shas(2), { train: 0.6, val: 0.1, test: 0.3 });
    expect(two.counts).toEqual({ train: 1, val: 0, test: 1 });
    expect(two.note).toMatch(/2 sources for 3 requested splits: val gets no source/);
    const one = assignSplits(shas(1), { train: 0.6, val: 0.2, test: 0.2 });
    expect(one.counts).toEqual({ train: 1, val: 0, test: 0 });
    expect(one.note).toMatch(/val and test get no source/);
  });

  it('apportions exactly, largest remainders first', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(2_500_000, Array(19).fill(1)).reduce((a, b) => a + b)).toBe(2_500_000);
    expect(apportion(5, [0.5, 0.25, 0.25])).toEqual([3, 1, 1]);
  });
});
