import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const SAMPLES = new URL('../../samples/images', import.meta.url).pathname;

/** `uirgen synthesize` of a tiny dataset for training tests: 24 pairs of 32x32 crops of two types (GN, MB). */
export function synthesizeTinyDataset(out: string): void {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', MAIN, 'synthesize', '--sources', SAMPLES, '--out', out, '--samples', '24', '--crop', '32', '--types', 'GN,MB', '--workers', '1', '--quiet'],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
}
