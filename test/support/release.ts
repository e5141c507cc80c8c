import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { normalizeRecipe, type Recipe } from '../../src/pipeline/recipe.js';
import { release } from '../../src/pipeline/release.js';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { SAMPLES_DIR } from './samples.js';

/** Temporary folders of one test file, removed at its end. */
export function scratch(prefix: string): (name: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  return (name) => {
    const d = mkdtempSync(join(tmpdir(), `uirgen-${prefix}-${name}-`));
    made.push(d);
    return d;
  };
}

/** A small dataset over four types (several levels each) in 10-sample shards, from the bundled photos. */
export function smallRecipe(sources = SAMPLES_DIR, extra: Record<string, unknown> = {}): Recipe {
  return normalizeRecipe({ sources: [sources], crop: 64, samples: 40, types: ['GN', 'MB', 'J', 'H'], shard_samples: 10, seed: 'release-test', ...extra });
}

/** Synthesize the small dataset into `<dir>/ds` and release it; returns the dataset folder. */
export async function makeRelease(dir: string, sources = SAMPLES_DIR): Promise<string> {
  const ds = join(dir, 'ds');
  await synthesize({ recipe: smallRecipe(sources), out: ds, workers: 2 });
  await release(ds, { name: 'Test UIR', version: '1.2.3', license: 'cc-by-4.0', workers: 2, sources: [sources] });
  return ds;
}

/** A copy of a dataset to tamper with. */
export function copyDataset(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  return to;
}

/** Run SQL on a dataset's manifest (a writer, as a tamperer would). */
export function sql(ds: string, text: string): void {
  const db = new Database(join(ds, 'manifest.sqlite'));
  try {
    db.exec(text);
  } finally {
    db.close();
  }
}

/** Rows of a dataset's manifest. */
export function query<T = Record<string, unknown>>(ds: string, text: string): T[] {
  const db = new Database(join(ds, 'manifest.sqlite'), { readonly: true });
  try {
    return db.prepare(text).all() as T[];
  } finally {
    db.close();
  }
}
