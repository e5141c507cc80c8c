import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/pretrain.js';
import { tempDir } from '../support/files.js';
import { synthesizeTinyDataset } from '../support/tiny-dataset.js';

/**
 * `uirgen pretrain` end to end on a tiny synthesized dataset (pure-JS cpu backend, a 4-channel network on
 * 8x8 patches): flag handling, the data stream, checkpoints, log, plot, --json, and --resume's rules.
 */

const dir = tempDir('uirgen-cli-pretrain-');
const data = join(dir, 'ds');

beforeAll(() => {
  synthesizeTinyDataset(data);
}, 120_000);

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function uirgen(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  const program = new Command().exitOverride();
  register(program);
  try {
    await program.parseAsync(['node', 'uirgen', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const tiny = ['--backend', 'cpu', '--net', 'nafnet-micro', '--width', '4', '--mask-window', '4', '--cls-blocks', '1', '--patch', '8', '--batch', '2', '--workers', '1'];

describe('uirgen pretrain', () => {
  it('trains, checkpoints, logs and plots; --json summarises', async () => {
    const ckpt = join(dir, 'ck');
    const r = await uirgen('pretrain', '--data', data, '--out', ckpt, '--steps', '3', '--checkpoint-every', '2', '--json', ...tiny);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ backend: 'cpu', method: 'maskdcpt', steps: 3, started_at: 0, interrupted: false, classes: ['GN', 'MB'] });
    expect(summary.loss_rec).toBeGreaterThan(0);
    expect(summary.images_per_s).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/^pretrain 3\/3 /m);
    const lines = readFileSync(join(ckpt, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(lines[0].loader_images_per_s).toBeGreaterThan(0);
    expect(existsSync(join(ckpt, 'loss.svg'))).toBe(true);
    const model = JSON.parse(readFileSync(join(ckpt, 'model.json'), 'utf8'));
    expect(model.weightsManifest[0].paths).toEqual(['weights-00000003.bin']);
    expect(model.uirgen.run.data.dataset).toBe(data);
    expect(model.uirgen.data.epoch).toBeTypeOf('number');

    // --resume of a finished run: nothing left to do, settings come from the checkpoint.
    const again = await uirgen('pretrain', '--out', ckpt, '--resume', '--backend', 'cpu', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ steps: 3, started_at: 3, interrupted: false });

    const changed = await uirgen('pretrain', '--out', ckpt, '--resume', '--steps', '9', '--backend', 'cpu');
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/leave out --steps/);
    const clobber = await uirgen('pretrain', '--data', data, '--out', ckpt, ...tiny);
    expect(clobber.code).toBe(1);
    expect(clobber.stderr).toMatch(/already holds a checkpoint/);
  }, 120_000);

  it('dcpt has no reconstruction loss', async () => {
    const r = await uirgen('pretrain', '--data', data, '--out', join(dir, 'dcpt'), '--steps', '2', '--method', 'dcpt', '--json', ...tiny);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: 'dcpt', loss_rec: 0 });
  }, 120_000);

  it('rejects bad flags with exit code 2 and a message naming the flag', async () => {
    for (const [flag, value, message] of [
      ['--patch', '12', /--patch must be a multiple of 16 \(--mask-window\)/],
      ['--mask-window', '12', /--mask-window must be a multiple of 8/],
      ['--cls-loss', 'hinge', /--cls-loss must be focal or ce/],
      ['--dcpt-l1', '1', /--dcpt-l1 is the DCPT pixel path/],
      ['--enc-blocks', '1,1', /--dec-blocks needs one entry per encoder stage \(2\), got 3/],
      ['--net', 'unet', /--net must be one of/],
      ['--mask-ratio', '1', /--mask-ratio must be a number/],
      ['--method', 'mae', /--method must be maskdcpt or dcpt/],
      ['--backend', 'tpu', /--backend must be one of/],
    ] as const) {
      const r = await uirgen('pretrain', '--data', data, '--out', join(dir, 'bad'), '--steps', '1', flag, value);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const missing = await uirgen('pretrain', '--data', join(dir, 'nope'), '--out', join(dir, 'bad'), ...tiny);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: no manifest\.sqlite there/);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
    // the dataset is checked before any backend is probed (auto would log its choice)
    const early = await uirgen('pretrain', '--data', join(dir, 'nope'), '--out', join(dir, 'bad'), '--backend', 'auto');
    expect(early.code).toBe(1);
    expect(early.stderr).not.toMatch(/backend:/);
  });
});
