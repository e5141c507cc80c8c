import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { decodeImage } from '../core/io.js';
import { TYPE_IDS } from '../degradations/types.js';
import type { EvalSet } from './evaluate.js';
import { readMembers } from '../core/shard-reader.js';

/**
 * Evaluation sets from a uirgen dataset: the samples of one split, one set per degradation type (in the
 * registry's order), each image read from its shard by the manifest's offsets. A sample is named
 * `<key>.png`. Names of the types come from the manifest, so imported real sets count as their type.
 */

export class EvalDataError extends Error {
  override name = 'EvalDataError';
}

interface Row {
  key: string;
  type: string;
  shard: string;
  offset_gt: number;
  offset_lq: number;
}

export function datasetSets(dataset: string, split: string): EvalSet[] {
  const root = resolve(dataset);
  const path = join(root, 'manifest.sqlite');
  if (!existsSync(path)) throw new EvalDataError(`${root}: no manifest.sqlite there; is this a uirgen dataset directory?`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  let rows: Row[];
  try {
    rows = db.prepare('SELECT key, type, shard, offset_gt, offset_lq FROM samples WHERE split = ? ORDER BY key').all(split) as Row[];
  } finally {
    db.close();
  }
  if (rows.length === 0) throw new EvalDataError(`${path}: no samples in split "${split}"`);
  const known = TYPE_IDS as readonly string[];
  const rank = (t: string): number => (known.includes(t) ? known.indexOf(t) : known.length);
  const types = [...new Set(rows.map((r) => r.type))].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  return types.map((type) => ({
    name: type,
    task: type,
    items: rows
      .filter((r) => r.type === type)
      .map((r) => ({
        name: `${r.key}.png`,
        async load() {
          const [gtPng, lqPng] = readMembers(join(root, 'shards', r.shard), [
            { offset: r.offset_gt, name: `${r.key}.gt.png` },
            { offset: r.offset_lq, name: `${r.key}.lq.png` },
          ]);
          const [gt, lq] = await Promise.all([decodeImage(gtPng), decodeImage(lqPng)]);
          return { lq, gt };
        },
      })),
  }));
}
