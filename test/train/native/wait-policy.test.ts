import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ADDON_PATH, GOMP_SPINCOUNT_SHARED, sharedMachineSpin } from '../../../src/train/native/addon.js';
import { runNative } from '../../support/native.js';

const ADDON_TS = new URL('../../../src/train/native/addon.ts', import.meta.url).pathname;

function child(args: string[], env: Record<string, string | undefined>): string {
  const clean = { ...process.env };
  delete clean.GOMP_SPINCOUNT;
  delete clean.OMP_WAIT_POLICY;
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...clean, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('the OpenMP wait policy', () => {
  it('spins briefly only on an oversubscribed machine (load average >= 1.5x the CPUs, and at least one more)', () => {
    expect(sharedMachineSpin(2.9, 2)).toBeUndefined();
    expect(sharedMachineSpin(3, 2)).toBe(GOMP_SPINCOUNT_SHARED);
    expect(sharedMachineSpin(23.9, 16)).toBeUndefined();
    expect(sharedMachineSpin(24, 16)).toBe(GOMP_SPINCOUNT_SHARED);
    expect(sharedMachineSpin(1.9, 1)).toBeUndefined();
    expect(sharedMachineSpin(2, 1)).toBe(GOMP_SPINCOUNT_SHARED);
  });

  it.runIf(runNative)('leaves a policy set in the environment to libgomp and does not leak its own to child processes', () => {
    const script = `const { loadNativeAddon, waitPolicyReason } = await import(${JSON.stringify(ADDON_TS)});
      const info = loadNativeAddon().info();
      console.log(JSON.stringify({ policy: info.waitPolicy, reason: waitPolicyReason(), env: process.env.GOMP_SPINCOUNT ?? null }));`;
    const run = (env: Record<string, string>) => JSON.parse(child(['--import', 'tsx', '--input-type=module', '-e', script], env).trim());
    expect(run({ OMP_WAIT_POLICY: 'passive' })).toEqual({ policy: 'OMP_WAIT_POLICY=passive', reason: 'set in the environment', env: null });
    expect(run({ GOMP_SPINCOUNT: '1234' })).toEqual({ policy: 'GOMP_SPINCOUNT=1234', reason: 'set in the environment', env: '1234' });
    const own = run({});
    expect(own.env).toBeNull();
    expect(own.reason).toMatch(/^load average [\d.]+ on \d+ CPUs/);
    expect(own.policy).toBe(own.reason.includes('short spin') ? `GOMP_SPINCOUNT=${GOMP_SPINCOUNT_SHARED}` : 'libgomp default');
  });

  it.runIf(runNative && process.platform === 'linux')('reaches libgomp: with the short spin an idle thread sleeps instead of spinning on', () => {
    // One parallel call, then 300 ms idle: the team's other threads' CPU time over that idle stretch.
    const script = `const addon = require(${JSON.stringify(ADDON_PATH)});
      const fs = require('fs');
      const before = new Set(fs.readdirSync('/proc/self/task'));
      const n = 1 << 20, a = new Float32Array(n).fill(1), out = new Float32Array(n);
      addon.unary(0, 0, a, out);
      const cpu = () => fs.readdirSync('/proc/self/task').filter((t) => !before.has(t))
        .reduce((s, t) => s + Number(/se.sum_exec_runtime\\s*:\\s*([\\d.]+)/.exec(fs.readFileSync('/proc/self/task/' + t + '/sched', 'utf8'))[1]), 0);
      const c0 = cpu();
      setTimeout(() => console.log(cpu() - c0), 300);`;
    if (Number(child(['-e', `console.log(require(${JSON.stringify(ADDON_PATH)}).info().threads)`], {}).trim()) < 2) return;
    const short = Number(child(['-e', script], { GOMP_SPINCOUNT: GOMP_SPINCOUNT_SHARED }).trim());
    const long = Number(child(['-e', script], { GOMP_SPINCOUNT: '1000000000' }).trim());
    expect(short).toBeLessThan(5);
    expect(long).toBeGreaterThan(5 * Math.max(short, 1));
  });
});
