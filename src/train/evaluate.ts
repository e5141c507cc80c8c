import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Image } from '../core/image.js';
import { encodePng } from '../core/io.js';
import { measure, type MetricOptions } from '../core/metrics.js';
import { piqe } from '../core/piqe.js';
import type { Restorer } from './restorer.js';

/**
 * Benchmark evaluation: restore every image of every set, measure it, average.
 *
 * As BasicSR's validation does: PSNR and SSIM (core/metrics.ts, the same code as `uirgen metrics`) per
 * image on the 8-bit output, then the mean over the set's images. A set without ground truth is measured
 * by PIQE (no-reference). Per task, the mean over its sets; overall, the mean over all sets with ground
 * truth, which is the "average" column of the all-in-one tables (5D: one set per task).
 */

export interface EvalItem {
  /** The input's name relative to its set, '/'-separated; --save writes `<name without extension>.png`. */
  name: string;
  load(): Promise<{ lq: Image; gt: Image | null }>;
}

export interface EvalSet {
  name: string;
  /** The degradation type or task the set tests (denoise, derain, a type id, ...). */
  task: string;
  items: readonly EvalItem[];
}

export interface EvalOptions {
  metrics?: MetricOptions;
  /** Folder for the restored PNGs: `<save>/<set name>/<item name>.png`. */
  save?: string;
  /** PIQE of every restored image, not only of those without ground truth. */
  piqeAlways?: boolean;
  onImage?(event: { set: string; index: number; total: number; result: ImageResult }): void;
}

export interface ImageResult {
  name: string;
  /** dB; Infinity when output and ground truth are identical in 8 bits; null without ground truth. */
  psnr: number | null;
  ssim: number | null;
  piqe: number | null;
  /** Where the restored PNG was written (--save). */
  saved: string | null;
}

export interface Means {
  psnr: number | null;
  ssim: number | null;
  piqe: number | null;
}

export interface SetResult extends Means {
  name: string;
  task: string;
  images: ImageResult[];
}

export interface TaskResult extends Means {
  task: string;
  sets: string[];
}

export interface EvalReport {
  restorer: string;
  metrics: { crop_border: number; test_y_channel: boolean };
  sets: SetResult[];
  tasks: TaskResult[];
  /** Mean over the sets that have ground truth (PSNR, SSIM) and over those measured by PIQE. */
  mean: Means;
}

function meanOf(values: ReadonlyArray<number | null>): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function meansOf(rows: readonly Means[]): Means {
  return { psnr: meanOf(rows.map((r) => r.psnr)), ssim: meanOf(rows.map((r) => r.ssim)), piqe: meanOf(rows.map((r) => r.piqe)) };
}

/** `<name>.png` with the input's extension replaced. */
export function savedName(name: string): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  return `${dot > slash + 1 ? name.slice(0, dot) : name}.png`;
}

export async function evaluate(restorer: Restorer, sets: readonly EvalSet[], options: EvalOptions = {}): Promise<EvalReport> {
  const metricOptions: MetricOptions = { crop_border: options.metrics?.crop_border ?? 0, test_y_channel: options.metrics?.test_y_channel ?? false };
  const results: SetResult[] = [];
  for (const set of sets) {
    const images: ImageResult[] = [];
    for (const [index, item] of set.items.entries()) {
      const { lq, gt } = await item.load();
      const restored = await restorer.restore(lq);
      if (restored.width !== lq.width || restored.height !== lq.height) {
        throw new Error(`${restorer.description} returned ${restored.width}x${restored.height} for the ${lq.width}x${lq.height} input ${set.name}/${item.name}`);
      }
      const m = gt ? measure(restored, gt, metricOptions) : null;
      let saved: string | null = null;
      if (options.save) {
        saved = join(options.save, set.name, savedName(item.name));
        await mkdir(dirname(saved), { recursive: true });
        await writeFile(saved, await encodePng(restored));
      }
      const result: ImageResult = {
        name: item.name,
        psnr: m ? m.psnr : null,
        ssim: m ? m.ssim : null,
        piqe: !gt || options.piqeAlways ? piqe(restored).score : null,
        saved,
      };
      images.push(result);
      options.onImage?.({ set: set.name, index, total: set.items.length, result });
    }
    results.push({ name: set.name, task: set.task, ...meansOf(images), images });
  }
  const tasks: TaskResult[] = [];
  for (const task of [...new Set(results.map((r) => r.task))]) {
    const of = results.filter((r) => r.task === task);
    tasks.push({ task, sets: of.map((r) => r.name), ...meansOf(of) });
  }
  return {
    restorer: restorer.description,
    metrics: { crop_border: metricOptions.crop_border ?? 0, test_y_channel: metricOptions.test_y_channel ?? false },
    sets: results,
    tasks,
    mean: meansOf(results),
  };
}
