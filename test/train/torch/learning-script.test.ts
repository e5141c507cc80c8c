import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_TORCH, torch } from '../../support/torch.js';

/** scripts/maskdcpt-learning-torch.py, the PyTorch cross-check of how fast the released network learns the types. */

const MAIN = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
const SAMPLES = new URL('../../../samples/images', import.meta.url).pathname;
const SCRIPT = new URL('../../../scripts/maskdcpt-learning-torch.py', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'uirgen-learning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function synth(out: string, seed: string): void {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', MAIN, 'synthesize', '--sources', SAMPLES, '--out', out, '--samples', '10', '--crop', '64', '--types', 'GN,MB', '--seed', seed, '--workers', '1', '--quiet'],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
}

/** The script's JSON line, from a 3-step run on two types. */
type Run = {
  opt: { steps: number };
  acc_last20: number;
  val_acc: number;
  params: number;
  classifier_norms: string[];
  rec_last20: number | null;
  confusion: string;
};
function run(flags: string[]): Run {
  const r = spawnSync(torch!.python, [SCRIPT, join(dir, 'train'), join(dir, 'val'), '--types', 'GN,MB', '--steps', '3', '--batch', '2', '--width', '8', '--threads', '1', ...flags], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Run;
}

describe.skipIf(!torch)(`maskdcpt-learning-torch.py${torch ? '' : ` (${NO_TORCH})`}`, () => {
  it('trains the released network on a uirgen dataset and reports accuracies and a confusion matrix over the held-out set', () => {
    synth(join(dir, 'train'), '1');
    synth(join(dir, 'val'), '2');
    const out = run([]);
    expect(out.opt.steps).toBe(3);
    for (const a of [out.acc_last20, out.val_acc]) expect(a >= 0 && a <= 1).toBe(true);
    const rows = out.confusion.split(' | ').map((row) => row.split(' ').map(Number));
    expect(rows.map((row) => row.length)).toEqual([2, 2]);
    // every held-out sample is counted once
    expect(rows.flat().reduce((a, b) => a + b, 0)).toBe(10);
    expect(out.classifier_norms).toEqual(['ChannelsFirstLN']);
    expect(out.rec_last20).toBeGreaterThan(0);
  }, 120_000);

  // the controls docs/maskdcpt.md measures against the released network, each changing what it names
  it('runs the controls: classification only, a pooled head, BatchNorm in the classifier, a BatchNorm CNN alone', () => {
    const released = run([]);
    expect(run(['--l1', '0']).rec_last20).toBeNull();
    const pooled = run(['--head', 'pooled']);
    expect(pooled.classifier_norms).toEqual([]);
    expect(pooled.params).toBeLessThan(released.params);
    const bn = run(['--classifier-norm', 'bn']);
    expect(bn.classifier_norms).toEqual(['BatchNorm2d']);
    expect(bn.params).toBe(released.params); // BatchNorm's affine weights stand where LayerNorm's were
    const cnn = run(['--model', 'cnn-bn']);
    expect(cnn.classifier_norms).toEqual(['BatchNorm2d']);
    expect(cnn.rec_last20).toBeNull();
    for (const r of [pooled, bn, cnn]) expect(r.confusion.split(' | ').flatMap((row) => row.split(' ').map(Number)).reduce((a, b) => a + b, 0)).toBe(10);
  }, 120_000);
});
