import { describe, expect, it } from 'vitest';
import { TYPE_IDS, type TypeId } from '../../src/degradations/types.js';
import { assignTypes, chooseThread, mergeResults, sampleCost, splitByHome, TYPE_COST_MS } from '../../src/pipeline/affinity.js';
import type { SampleOutput, WorkerResult, WorkerSample, WorkerTask } from '../../src/pipeline/worker.js';

function sample(key: string, type: TypeId): WorkerSample {
  return { key, type, level: 0, level_id: 'x', seed: key, crop: { x: 0, y: 0, w: 256, h: 256 }, split: 'train' };
}

function task(types: TypeId[]): WorkerTask {
  return { path: '/p.png', sha256: 'a'.repeat(64), rel: 'p.png', pngLevel: 1, samples: types.map((t, i) => sample(`k${i}`, t)) };
}

/** A part's result: each output's three members are its key's bytes, back to back in the part's buffer. */
function partResult(part: WorkerTask): WorkerResult {
  const chunks: Buffer[] = [];
  let at = 0;
  const put = (text: string): [number, number] => {
    const b = Buffer.from(text);
    chunks.push(b);
    at += b.length;
    return [at - b.length, b.length];
  };
  const outputs: SampleOutput[] = part.samples.map((s) => ({
    key: s.key,
    params: { level: s.level_id },
    type_version: 1,
    psnr: 30,
    gt_sha256: '',
    lq_sha256: '',
    gt: put(`gt:${s.key};`),
    lq: put(`lq:${s.key}/${s.type};`),
    json: put(`{"key":"${s.key}"}`),
  }));
  return { sourceError: null, outputs, failures: [], data: new Uint8Array(Buffer.concat(chunks)) };
}

const text = (r: WorkerResult, o: SampleOutput, range: [number, number]): string => Buffer.from((o.bytes ?? r.data).subarray(range[0], range[0] + range[1])).toString();

describe('affinity: home threads for types', () => {
  it('has a cost for every type', () => {
    for (const t of TYPE_IDS) expect(TYPE_COST_MS[t]).toBeGreaterThan(0);
    expect(sampleCost('LL', 4 * 65536)).toBeCloseTo(4 * sampleCost('LL', 65536));
  });

  it('spreads the types by total cost, the costliest first, each to the least loaded thread', () => {
    const six = new Map<TypeId, number>(['GN', 'GB', 'MB', 'J', 'H', 'LL'].map((t) => [t as TypeId, 100]));
    const home = assignTypes(six, 2);
    expect(home.size).toBe(6);
    const load = [0, 0];
    for (const [t, thread] of home) load[thread] += 100 * sampleCost(t, 65536);
    // LL, the costliest, gets a thread of its own first; the rest even out within one type's cost.
    expect(home.get('LL')).toBe(0);
    expect(Math.abs(load[0] - load[1])).toBeLessThanOrEqual(100 * sampleCost('LL', 65536));
    // Counts matter: a type with most of the samples outweighs a costlier one.
    const skewed = assignTypes(new Map<TypeId, number>([['MB', 1000], ['LL', 10], ['GN', 10]]), 2);
    expect(skewed.get('MB')).toBe(0);
    expect(skewed.get('LL')).toBe(1);
    expect(skewed.get('GN')).toBe(1);
    // One thread: everything at home there; more threads than types: one type each.
    expect(new Set(assignTypes(six, 1).values())).toEqual(new Set([0]));
    expect(new Set(assignTypes(six, 8).values()).size).toBe(6);
    expect(() => assignTypes(six, 0)).toThrow(RangeError);
  });

  it('is the same assignment every time (insertion order does not matter)', () => {
    const a = new Map<TypeId, number>([['GN', 5], ['J', 5], ['H', 5], ['RS', 5]]);
    const b = new Map<TypeId, number>([...a].reverse());
    expect([...assignTypes(a, 3)].sort()).toEqual([...assignTypes(b, 3)].sort());
  });

  it('splits a task by home thread, keeping the task order within each part', () => {
    const t = task(['GN', 'LL', 'GN', 'J', 'LL']);
    const parts = splitByHome(t, new Map<TypeId, number>([['GN', 0], ['J', 0], ['LL', 1]]));
    expect([...parts.keys()].sort()).toEqual([0, 1]);
    expect(parts.get(0)?.samples.map((s) => s.key)).toEqual(['k0', 'k2', 'k3']);
    expect(parts.get(1)?.samples.map((s) => s.key)).toEqual(['k1', 'k4']);
    expect(parts.get(1)?.path).toBe(t.path);
    // A type without a home goes to thread 0.
    expect(splitByHome(task(['RS']), new Map()).get(0)?.samples).toHaveLength(1);
  });

  it('merges the parts back in the task order, every output pointing into its own part\'s bytes', () => {
    const t = task(['GN', 'LL', 'GN', 'J', 'LL', 'H']);
    const parts = splitByHome(t, new Map<TypeId, number>([['GN', 0], ['LL', 1], ['J', 2], ['H', 1]]));
    // The parts come back in any order; so do failures.
    const results = [...parts.values()].reverse().map(partResult);
    results[0].failures.push({ key: 'k5', stage: 'degrade H', message: 'late' });
    results[results.length - 1].failures.push({ key: 'k0', stage: 'degrade GN', message: 'early' });
    const merged = mergeResults(t, results);
    expect(merged.outputs.map((o) => o.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
    expect(merged.failures.map((f) => f.key)).toEqual(['k0', 'k5']);
    for (const o of merged.outputs) {
      const type = t.samples.find((s) => s.key === o.key)?.type;
      expect(text(merged, o, o.gt)).toBe(`gt:${o.key};`);
      expect(text(merged, o, o.lq)).toBe(`lq:${o.key}/${type};`);
      expect(text(merged, o, o.json)).toBe(`{"key":"${o.key}"}`);
      expect(o.bytes).toBeDefined();
    }
  });

  it('reports the source error of any part, and passes a single part through', () => {
    const t = task(['GN', 'LL']);
    const [a, b] = [...splitByHome(t, new Map<TypeId, number>([['GN', 0], ['LL', 1]])).values()].map(partResult);
    const broken: WorkerResult = { sourceError: { stage: 'read', message: 'gone' }, outputs: [], failures: [], data: new Uint8Array(0) };
    expect(mergeResults(t, [a, broken]).sourceError).toEqual({ stage: 'read', message: 'gone' });
    expect(mergeResults(t, [a, broken]).outputs).toEqual([]);
    expect(mergeResults(t, [b])).toBe(b);
    expect(() => mergeResults(task(['GN']), [a, b])).toThrow(/unknown key/);
  });

  it('keeps a part at home unless its home queue is far ahead of the least busy thread', () => {
    expect(chooseThread(1, [0, 0], 40)).toBe(1);
    expect(chooseThread(1, [0, 40], 40)).toBe(1);
    expect(chooseThread(1, [0, 41], 40)).toBe(0);
    expect(chooseThread(0, [100, 30], 40)).toBe(0);
    expect(chooseThread(0, [101, 30], 40)).toBe(1);
    expect(chooseThread(2, [50, 10, 200], 40)).toBe(1);
  });
});
