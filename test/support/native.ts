import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { ADDON_PATH } from '../../src/train/native/addon.js';

/**
 * Whether the native backend's tests run: when its addon is built (oneDNN and a C++ compiler were there at
 * `npm run build`), and always under UIRGEN_NATIVE=required (CI), so that a missing addon fails there
 * instead of skipping.
 */
export const runNative = existsSync(ADDON_PATH) || process.env.UIRGEN_NATIVE === 'required';

/**
 * Run `body` (CommonJS, with `addon` bound to the built addon; it writes its result to stdout) in child
 * processes with OMP_NUM_THREADS 1 and 2 (a thread count applies only from process start), check that they
 * really ran with those counts, and expect the same output from both.
 */
export function expectSameOutputOnOneAndTwoThreads(body: string): void {
  const script = `const addon = require(${JSON.stringify(ADDON_PATH)}); process.stdout.write(addon.info().threads + ':');\n${body}`;
  const [one, two] = ['1', '2'].map((threads) =>
    spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: threads } }),
  );
  expect(one.status, one.stderr).toBe(0);
  expect(two.status, two.stderr).toBe(0);
  expect([one.stdout.split(':')[0], two.stdout.split(':')[0]]).toEqual(['1', '2']);
  expect(two.stdout.split(':')[1]).toBe(one.stdout.split(':')[1]);
}
