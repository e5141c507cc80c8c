import type { TypeId } from '../degradations/types.js';
import type { SampleFailure, SampleOutput, WorkerResult, WorkerTask } from './worker.js';

/**
 * Which worker thread makes which degradation type.
 *
 * Each thread compiles the JavaScript of every type it runs, and on a machine whose cores are all
 * workers that compilation is paid in full, per thread: with every thread running all six types of
 * the synthesis benchmark, a thread's first ~100 samples ran at half speed. Giving each type a home
 * thread (the longest-processing-time rule over the recipe's share of each type times its cost) makes
 * each thread compile and keep in its caches only its own types. A task's samples are split by home
 * thread, and a thread whose queue runs far ahead of the least busy one hands the work on, so no
 * thread idles behind another's backlog. Where a sample is made never shows in its bytes; the parts
 * of a task are merged back in the task's order before anything is written.
 */

/**
 * Milliseconds per 256x256 sample of each type on one core: `npm run bench:degrade` medians (2-core
 * reference machine, 2026-12-01). Only the balance between threads depends on them.
 */
export const TYPE_COST_MS: Readonly<Record<TypeId, number>> = {
  GN: 2.2,
  RN: 4.3,
  MB: 1.0,
  DB: 2.4,
  GB: 1.3,
  J: 2.3,
  H: 2.0,
  RS: 1.4,
  RD: 1.7,
  RSD: 2.7,
  S: 3.0,
  MS: 2.5,
  LL: 5.4,
  MR: 27.1,
  BJ: 3.4,
  BR: 2.6,
  BLN: 8.1,
  LHRS: 8.3,
  DNBJ: 15.5,
};

/** What every sample costs besides its type: crop, quantize, PSNR, two PNGs, two hashes. */
const SAMPLE_OVERHEAD_MS = 2;

/** Relative cost of one sample of `type` at `pixels` pixels (256x256 = 1). */
export function sampleCost(type: TypeId, pixels: number): number {
  return ((TYPE_COST_MS[type] ?? 3) + SAMPLE_OVERHEAD_MS) * (pixels / 65536);
}

/**
 * A home thread for each type: types in decreasing order of their total cost (count x cost), each
 * to the thread with the least cost so far (ties to the lower thread); deterministic.
 */
export function assignTypes(counts: ReadonlyMap<TypeId, number>, threads: number): Map<TypeId, number> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be an integer >= 1, got ${threads}`);
  const load = new Array<number>(threads).fill(0);
  const order = [...counts].sort((a, b) => b[1] * sampleCost(b[0], 1) - a[1] * sampleCost(a[0], 1) || (a[0] < b[0] ? -1 : 1));
  const home = new Map<TypeId, number>();
  for (const [type, count] of order) {
    const best = leastLoaded(load);
    home.set(type, best);
    load[best] += count * sampleCost(type, 1);
  }
  return home;
}

/** The thread with the least load (ties to the lower thread). */
function leastLoaded(load: readonly number[]): number {
  let least = 0;
  for (let t = 1; t < load.length; t++) if (load[t] < load[least]) least = t;
  return least;
}

/** The samples of `task` grouped by home thread (a type without one goes to thread 0), in task order within each. */
export function splitByHome(task: WorkerTask, home: ReadonlyMap<TypeId, number>): Map<number, WorkerTask> {
  const parts = new Map<number, WorkerTask>();
  for (const s of task.samples) {
    const t = home.get(s.type) ?? 0;
    let part = parts.get(t);
    if (!part) {
      part = { ...task, samples: [] };
      parts.set(t, part);
    }
    part.samples.push(s);
  }
  return parts;
}

/**
 * One result for `task` from the results of its parts: outputs and failures in the task's sample
 * order, each output's `bytes` its part's buffer, and the source's error if a part had one (every
 * part reads the same source).
 */
export function mergeResults(task: WorkerTask, parts: readonly WorkerResult[]): WorkerResult {
  if (parts.length === 1) return parts[0];
  const failed = parts.find((p) => p.sourceError !== null);
  if (failed) return { sourceError: failed.sourceError, outputs: [], failures: [], data: new Uint8Array(0) };
  const index = new Map(task.samples.map((s, i) => [s.key, i]));
  const rank = (key: string): number => {
    const i = index.get(key);
    if (i === undefined) throw new Error(`internal error: a worker returned unknown key ${key}`);
    return i;
  };
  const outputs: SampleOutput[] = [];
  const failures: SampleFailure[] = [];
  for (const p of parts) {
    // Each output keeps pointing into its own part's buffer: no copy on the thread that writes.
    for (const output of p.outputs) outputs.push({ ...output, bytes: output.bytes ?? p.data });
    failures.push(...p.failures);
  }
  outputs.sort((a, b) => rank(a.key) - rank(b.key));
  failures.sort((a, b) => rank(a.key) - rank(b.key));
  return { sourceError: null, outputs, failures, data: new Uint8Array(0) };
}

/** Where a part goes: its home thread, unless that thread's queue is far ahead of the least busy one. */
export function chooseThread(home: number, load: readonly number[], spillMs: number): number {
  const least = leastLoaded(load);
  return load[home] > 2 * load[least] + spillMs ? least : home;
}
