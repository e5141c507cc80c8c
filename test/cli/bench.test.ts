import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { register as registerBench } from '../../src/cli/bench.js';
import { register as registerEval } from '../../src/cli/eval.js';
import { tempDir } from '../support/files.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { runRegistered, type CommandResult } from '../support/cli.js';

const root = tempDir('uirgen-cli-bench-');

const run = (...args: string[]): Promise<CommandResult> => runRegistered([registerBench, registerEval], args);

afterEach(() => {
  process.exitCode = undefined;
});

describe('uirgen bench build', () => {
  it('builds the 5d benchmark that `uirgen eval --bench` then reads as five sets', async () => {
    const out = join(root, 'bench');
    const built = await run('bench', 'build', '--preset', '5d', '--sources', SAMPLES_DIR, '--out', out, '--crop', '64', '--per-source', '1', '--json');
    expect(built.code).toBe(0);
    const summary = JSON.parse(built.stdout) as { sets: { name: string; pairs: number }[] };
    expect(summary.sets.map((s) => s.name)).toEqual(['CBSD68', 'Rain100L', 'SOTS', 'GoPro', 'LOL']);
    const ev = await run('eval', '--model', 'identity', '--bench', out, '--json');
    expect(ev.code).toBe(0);
    const report = JSON.parse(ev.stdout) as { sets: { name: string; task: string; count: number }[]; tasks: { task: string }[] };
    expect(report.sets.map((s) => [s.name, s.task, s.count])).toEqual([
      ['CBSD68', 'denoise', 5],
      ['Rain100L', 'derain', 5],
      ['SOTS', 'dehaze', 5],
      ['GoPro', 'deblur', 5],
      ['LOL', 'lowlight', 5],
    ]);
    const again = await run('bench', 'build', '--sources', SAMPLES_DIR, '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a benchmark/);
  });

  it('usage errors exit 2', async () => {
    expect((await run('bench', 'build', '--out', join(root, 'u'))).code).toBe(2);
    expect((await run('bench', 'build', '--sources', SAMPLES_DIR, '--out', join(root, 'u'), '--crop', '100')).code).toBe(2);
    expect((await run('bench', 'build', '--sources', SAMPLES_DIR, '--out', join(root, 'u'), '--preset', '7d')).code).toBe(2);
  });
});
