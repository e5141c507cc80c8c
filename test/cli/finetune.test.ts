import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { register as registerEval } from '../../src/cli/eval.js';
import { register as registerFinetune } from '../../src/cli/finetune.js';
import { register as registerPretrain } from '../../src/cli/pretrain.js';
import { runRegistered } from '../support/cli.js';
import { tempDir } from '../support/files.js';

/** `uirgen finetune` end to end on a tiny synthesized dataset (cpu backend, a 4-channel network on 8x8 patches). */

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const SAMPLES = new URL('../../samples/images', import.meta.url).pathname;
const SMALL = new URL('../fixtures/piqe', import.meta.url).pathname;
const dir = tempDir('uirgen-cli-finetune-');
const data = join(dir, 'ds');

beforeAll(() => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', MAIN, 'synthesize', '--sources', SAMPLES, '--out', data, '--samples', '16', '--crop', '32', '--types', 'GN,MB', '--workers', '1', '--quiet'],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

const uirgen = (...args: string[]) => runRegistered([registerFinetune, registerPretrain, registerEval], args);
const tiny = ['--backend', 'cpu', '--patch', '8', '--batch', '2', '--workers', '1'];
const net = ['--net', 'nafnet-micro', '--width', '4'];

describe('uirgen finetune', () => {
  it('from scratch, with --spn: trains, checkpoints, logs; --resume continues to the recorded steps', async () => {
    const ckpt = join(dir, 'scratch');
    const r = await uirgen('finetune', '--data', data, '--out', ckpt, '--steps', '2', '--spn', '--spn-every', '1', '--json', ...tiny, ...net);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ backend: 'cpu', steps: 2, started_at: 0, interrupted: false, init: null, spn: { weight: 0.01, every: 1, decay: 0.1 } });
    expect(s.first_l1).toBeGreaterThan(0);
    for (const f of ['model.json', 'log.jsonl', 'loss.svg']) expect(existsSync(join(ckpt, f)), f).toBe(true);
    const model = JSON.parse(readFileSync(join(ckpt, 'model.json'), 'utf8'));
    expect(model.uirgen).toMatchObject({ kind: 'finetune', step: 2, spn: true });
    const names = model.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(names.some((n: string) => n.startsWith('spn/'))).toBe(true);
    expect(names.some((n: string) => n.startsWith('ema/'))).toBe(true);
    const again = await uirgen('finetune', '--out', ckpt, '--resume', '--steps', '5', ...tiny.slice(0, 2));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/leave out --steps/);
    const resumed = await uirgen('finetune', '--out', ckpt, '--resume', '--json', '--backend', 'cpu');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: 2, started_at: 2 });
  });

  it('--init from a pretrain checkpoint uses its network; eval reads the fine-tuned checkpoint', async () => {
    const pre = join(dir, 'pre');
    const p = await uirgen('pretrain', '--data', data, '--out', pre, '--steps', '2', '--mask-window', '4', '--cls-blocks', '1', ...tiny, ...net);
    expect(p.code, p.stderr).toBe(0);
    const ft = join(dir, 'from-pre');
    const r = await uirgen('finetune', '--data', data, '--out', ft, '--init', pre, '--steps', '1', '--json', ...tiny);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).init).toEqual({ checkpoint: pre });
    const model = JSON.parse(readFileSync(join(ft, 'model.json'), 'utf8'));
    expect(model.uirgen.nafnet).toEqual({ width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1] });
    const ev = await uirgen('eval', '--model', ft, '--backend', 'cpu', '--lq', SMALL, '--json');
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).model).toContain('ema weights, step 1');
  });

  it('exits 2 for bad usage and 1 for missing inputs', async () => {
    expect((await uirgen('finetune', '--out', join(dir, 'x'), ...tiny)).code).toBe(2);
    expect((await uirgen('finetune', '--data', data, '--out', join(dir, 'x'), '--init', dir, '--init-weights', dir, ...tiny)).code).toBe(2);
    const missing = await uirgen('finetune', '--data', data, '--out', join(dir, 'x'), '--init', join(dir, 'nope'), ...tiny);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no checkpoint there/);
    const notFinetune = await uirgen('finetune', '--out', join(dir, 'pre'), '--resume', '--backend', 'cpu');
    expect(notFinetune.code).toBe(1);
    expect(notFinetune.stderr).toMatch(/pretrain checkpoint, not a fine-tuning run/);
  });
});
