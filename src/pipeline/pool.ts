import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Piscina } from 'piscina';
import type { TypeId } from '../degradations/types.js';
import { chooseThread, mergeResults, sampleCost, splitByHome } from './affinity.js';
import type { ScanOutput, ScanTask } from './scan-worker.js';
import type { WorkerResult, WorkerTask } from './worker.js';

/**
 * The worker pool. Built code runs dist/pipeline/worker.js; when this module itself runs from
 * TypeScript sources (vitest, tsx), the worker is worker.ts and each thread needs tsx's loader.
 */
export function workerUrl(name = 'worker'): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? `./${name}.ts` : `./${name}.js`, import.meta.url);
}

/** A piscina pool of `workers` threads running the module `name` of this folder (built or from sources). */
export function modulePool<T, R>(name: string, workers: number): Piscina<T, R> {
  const url = workerUrl(name);
  return new Piscina<T, R>({
    filename: fileURLToPath(url),
    minThreads: workers,
    maxThreads: workers,
    // Callers bound what is in flight; the queue never grows past that.
    maxQueue: Infinity,
    idleTimeout: 60_000,
    execArgv: url.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [],
  });
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export interface TaskPool {
  run(task: WorkerTask): Promise<WorkerResult>;
  readonly threads: number;
  /** End the threads once every task has been awaited. */
  close(): Promise<void>;
  /** Stop now: running tasks are abandoned. */
  destroy(): Promise<void>;
}

/**
 * `workers` threads running worker.ts. With `home` (a home thread for each type, affinity.ts) and
 * more than one worker, each thread is a pool of its own and a task's samples go to their types'
 * home threads; without, one pool takes the tasks whole.
 */
export function createPool(workers: number, home?: ReadonlyMap<TypeId, number>): TaskPool {
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw new RangeError(`workers must be an integer in 1..256, got ${workers}`);
  }
  if (workers >= availableParallelism()) compileOnWorkerThreads();
  if (home && workers > 1) return affinityPool(workers, home);
  const piscina = modulePool<WorkerTask, WorkerResult>('worker', workers);
  return {
    threads: workers,
    run: (task) => piscina.run(task),
    // piscina 4's close() races the drain against a 30 s timer it never clears, which keeps the
    // process alive 30 s after the work is done; every task has been awaited by then, so destroy.
    close: () => piscina.destroy(),
    destroy: () => piscina.destroy(),
  };
}

/** A part may wait behind this much more queued work (cost ms, affinity.ts) on its home thread than on the least busy one, doubled. */
const SPILL_MS = 40;

function affinityPool(workers: number, home: ReadonlyMap<TypeId, number>): TaskPool {
  const threads = Array.from({ length: workers }, () => modulePool<WorkerTask, WorkerResult>('worker', 1));
  const load = new Array<number>(workers).fill(0);
  const runPart = async (part: WorkerTask, preferred: number): Promise<WorkerResult> => {
    const cost = part.samples.reduce((n, s) => n + sampleCost(s.type, s.crop.w * s.crop.h), 0);
    const t = chooseThread(preferred, load, SPILL_MS);
    load[t] += cost;
    try {
      return await threads[t].run(part);
    } finally {
      load[t] -= cost;
    }
  };
  const destroy = async (): Promise<void> => {
    await Promise.all(threads.map((p) => p.destroy()));
  };
  return {
    threads: workers,
    run: async (task) => {
      const parts = [...splitByHome(task, home)];
      const results = await Promise.all(parts.map(([t, part]) => runPart(part, t)));
      return mergeResults(task, results);
    },
    close: destroy,
    destroy,
  };
}

/**
 * V8 optimises hot functions on background threads by default. When the workers already occupy every
 * core, those compile jobs wait for a core while each worker keeps running the function's slow,
 * unoptimised code: a worker's first ~100 samples (every type's kernels compiled afresh in each
 * thread) ran about half speed. Compiling on the worker's own thread instead puts the optimised
 * code in use at once: synthesize of 600 pairs on 2 workers and 2 cores went from 217 to 232
 * pairs/s, and 3000 pairs stayed at 300 (the compile work is the same, only its timing changes).
 * The flag is read when an isolate starts, so it applies to the worker threads created after
 * this call (and to no code already running); V8 documents setting flags at run time as
 * unsupported in general, and this is the one flag set so (GC flags set so abort V8). The
 * synthesize tests run with it wherever their worker count reaches the machine's cores.
 */
let compileFlagSet = false;
function compileOnWorkerThreads(): void {
  if (compileFlagSet || process.env.UIRGEN_V8_CONCURRENT_COMPILE === '1') return;
  setFlagsFromString('--no-concurrent-recompilation');
  compileFlagSet = true;
}

/** `fn` over `items` with at most `limit` running at once; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** sha256 and size of each file, hashed on `workers` threads of the scan worker (streamed, constant memory). */
export async function hashFiles(paths: readonly string[], workers: number): Promise<ScanOutput[]> {
  if (paths.length === 0) return [];
  const pool = modulePool<ScanTask, ScanOutput>('scan-worker', Math.min(workers, paths.length));
  try {
    return await mapLimit(paths, workers * 2, (path) => pool.run({ path, mode: 'file' }));
  } finally {
    await pool.destroy();
  }
}
