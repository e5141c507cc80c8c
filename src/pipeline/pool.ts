import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { WorkerResult, WorkerTask } from './worker.js';

/**
 * The worker pool. Built code runs dist/pipeline/worker.js; when this module itself runs from
 * TypeScript sources (vitest, tsx), the worker is worker.ts and each thread needs tsx's loader.
 */
export function workerUrl(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
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

export function createPool(workers: number): TaskPool {
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw new RangeError(`workers must be an integer in 1..256, got ${workers}`);
  }
  const url = workerUrl();
  const piscina = new Piscina<WorkerTask, WorkerResult>({
    filename: fileURLToPath(url),
    minThreads: workers,
    maxThreads: workers,
    // The caller bounds what is in flight; the queue never grows past that.
    maxQueue: Infinity,
    idleTimeout: 60_000,
    execArgv: url.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [],
  });
  return {
    threads: workers,
    run: (task) => piscina.run(task),
    // piscina 4's close() races the drain against a 30 s timer it never clears, which keeps the
    // process alive 30 s after the work is done; every task has been awaited by then, so destroy.
    close: () => piscina.destroy(),
    destroy: () => piscina.destroy(),
  };
}
