import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { readMembers } from '../core/shard-reader.js';
import { SHARDS_DIR } from './synthesize.js';

/**
 * A small, deterministic subset of a dataset's samples, read back from the shards through the
 * manifest's offsets: the thumbnails of `stats --html`, the sampled SSIM of `stats`, the sheet of
 * `preview`. Per type, the picks are spread over the levels present (mildest to most severe, real
 * captures last) and, within a level, over its rows in manifest order (evenly spaced OFFSETs on the
 * covering index samples_type_level, so no query reads more than one row).
 */

export interface ExampleRow {
  key: string;
  type: string;
  level: number;
  level_id: string;
  real: number;
  split: string;
  shard: string;
  offset_gt: number;
  offset_lq: number;
  psnr: number | null;
  width: number;
  height: number;
}

export interface PickOptions {
  /** Types to pick from (default: every type in the manifest), in this order. */
  types?: readonly string[];
  perType: number;
  /** Only samples of this split. */
  split?: string;
}

interface Cell {
  level: number;
  level_id: string;
  real: number;
  n: number;
}

/** `count` indices spread evenly over 0..size-1 (the ends included when count > 1). */
export function spread(size: number, count: number): number[] {
  if (size <= 0 || count <= 0) return [];
  if (count === 1) return [Math.floor((size - 1) / 2)];
  return Array.from({ length: count }, (_, j) => Math.round((j * (size - 1)) / (count - 1)));
}

/** Up to `perType` samples of each type (see the module comment), in type order, mildest first. */
export function pickExamples(db: Database.Database, options: PickOptions): ExampleRow[] {
  const split = options.split;
  const splitSql = split === undefined ? '' : ' AND split = @split';
  const types =
    options.types ?? (db.prepare('SELECT DISTINCT type FROM samples').pluck().all() as string[]);
  const cellsOf = db.prepare(
    `SELECT level, level_id, real, count(*) AS n FROM samples WHERE type = @type${splitSql}
     GROUP BY level, level_id, real ORDER BY real, level, level_id`,
  );
  const rowAt = db.prepare(
    `SELECT key, type, level, level_id, real, split, shard, offset_gt, offset_lq, psnr, width, height FROM samples
     WHERE type = @type AND level = @level AND level_id = @level_id AND real = @real${splitSql} ORDER BY rowid LIMIT 1 OFFSET @offset`,
  );
  const out: ExampleRow[] = [];
  for (const type of types) {
    const cells = cellsOf.all({ type, ...(split === undefined ? {} : { split }) }) as Cell[];
    if (cells.length === 0 || options.perType <= 0) continue;
    // Which cells, and how many picks each: all cells round-robin when there are picks enough, else evenly spaced ones.
    const picks = new Map<number, number>();
    if (options.perType >= cells.length) {
      for (let j = 0; j < options.perType; j++) picks.set(j % cells.length, (picks.get(j % cells.length) ?? 0) + 1);
    } else {
      for (const c of spread(cells.length, options.perType)) picks.set(c, (picks.get(c) ?? 0) + 1);
    }
    for (const [c, m] of [...picks.entries()].sort((a, b) => a[0] - b[0])) {
      const cell = cells[c];
      const take = Math.min(m, cell.n);
      for (let q = 0; q < take; q++) {
        const offset = Math.floor(((q + 0.5) * cell.n) / take);
        const row = rowAt.get({ type, level: cell.level, level_id: cell.level_id, real: cell.real, offset, ...(split === undefined ? {} : { split }) }) as
          | ExampleRow
          | undefined;
        if (row) out.push(row);
      }
    }
  }
  return out;
}

/** The gt and lq PNG bytes of a sample, read at the manifest's offsets (checked against the tar headers). */
export function readPair(dataset: string, row: ExampleRow): { gt: Buffer; lq: Buffer } {
  const [gt, lq] = readMembers(join(dataset, SHARDS_DIR, row.shard), [
    { offset: row.offset_gt, name: `${row.key}.gt.png` },
    { offset: row.offset_lq, name: `${row.key}.lq.png` },
  ]);
  return { gt, lq };
}
