import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/**
 * Run a Python script with Debian's /usr/bin/python3 (where python3-opencv, -numpy and -pil live)
 * and return its stdout; null, with a note, when that Python or one of the script's modules is
 * missing (the check is skipped, not failed). Any other failure fails the test.
 */
export function runSystemPython(script: string, args: string[], needs: string): string | null {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8' });
  if (r.error || (r.status !== 0 && /No module named|ModuleNotFoundError/.test(r.stderr))) {
    console.warn(`skipped: /usr/bin/python3 with ${needs} not available`);
    return null;
  }
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}
