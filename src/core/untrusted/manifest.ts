import type Database from 'better-sqlite3';
import { openUntrustedSqlite, type RequiredTables } from './sqlite.js';

/**
 * The tables and columns of a uirgen manifest that readers depend on (DESIGN.md section 3), and opening a
 * manifest that came from elsewhere (a download, a part made on another machine) with the checks of
 * sqlite.ts. Every reader of someone else's dataset (verify, merge, the trainer, eval) opens it this way.
 */
export const MANIFEST_TABLES: RequiredTables = {
  samples: [
    'key', 'type', 'level', 'level_id', 'params', 'seed', 'source_id', 'crop_x', 'crop_y', 'width', 'height', 'split', 'real',
    'shard', 'offset_gt', 'offset_lq', 'lq_sha256', 'gt_sha256', 'psnr',
  ],
  sources: ['id', 'path', 'sha256', 'width', 'height'],
  shards: ['name', 'samples', 'bytes', 'sha256'],
  errors: ['path', 'stage', 'message'],
  runs: ['id', 'started', 'finished', 'recipe', 'toolkit_version', 'versions'],
};

/** Open a manifest read-only after checking that it is SQLite and has every table and column above. */
export function openUntrustedManifest(path: string): Database.Database {
  return openUntrustedSqlite(path, MANIFEST_TABLES);
}
