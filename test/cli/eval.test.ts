import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { register as registerEval } from '../../src/cli/eval.js';
import { register as registerMetrics } from '../../src/cli/metrics.js';
import { createImage, type Image } from '../../src/core/image.js';
import { encodePng } from '../../src/core/io.js';
import { importPairs } from '../../src/pipeline/import.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { createTrainer, DEFAULT_HYPER } from '../../src/train/maskdcpt.js';
import { tempDir } from '../support/files.js';
import { syntheticBatch, tinyNetConfig } from '../train/models/synthetic.js';
import { runRegistered, type CommandResult } from '../support/cli.js';

const root = tempDir('uirgen-cli-eval-');

const run = (...args: string[]): Promise<CommandResult> => runRegistered([registerEval, registerMetrics], args);

afterEach(() => {
  process.exitCode = undefined;
});

function pattern(w: number, h: number, seed: number): Image {
  const im = createImage(w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) im.data[(y * w + x) * 3 + c] = 0.5 + 0.4 * Math.sin(0.3 * x + 0.2 * y * (c + 1) + seed);
  return im;
}

async function write(path: string, im: Image): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await encodePng(im));
}

/** A Rain100L-like pair set and a clean-only folder. */
async function benchFolders(): Promise<{ rain: string; clean: string }> {
  const rain = join(root, 'Rain100L');
  const clean = join(root, 'CBSD68');
  for (let i = 1; i <= 2; i++) {
    const gt = pattern(40, 32, i);
    await write(join(rain, 'norain', `norain-${i}.png`), gt);
    await write(join(rain, 'rainy', `rain-${i}.png`), createImage(40, 32, gt.data.map((v, j) => (j % 13 === 0 ? 1 : v))));
    await write(join(clean, `${i}.png`), pattern(36, 28, 10 + i));
  }
  return { rain, clean };
}

interface JsonImage {
  name: string;
  psnr: number | null;
  ssim: number;
  piqe: number | null;
  saved: string;
}
interface JsonSet {
  name: string;
  task: string;
  count: number;
  psnr: number;
  ssim: number;
  images: JsonImage[];
}

/** Every saved output, measured by `uirgen metrics` against its ground truth, gives eval's numbers exactly. */
async function expectMetricsAgree(set: JsonSet, gtOf: (name: string) => string, extra: string[] = []): Promise<void> {
  for (const im of set.images) {
    const m = await run('metrics', im.saved, gtOf(im.name), '--json', ...extra);
    expect(m.code).toBe(0);
    expect(JSON.parse(m.stdout)).toEqual({ psnr: im.psnr, ssim: im.ssim });
  }
}

describe('uirgen eval', () => {
  it('--model identity on --bench folders: tables per set and task, and the saved PNGs measure as eval said', async () => {
    const { rain, clean } = await benchFolders();
    const save = join(root, 'saved-identity');
    const r = await run('eval', '--model', 'identity', '--bench', `Rain100L=${rain}`, '--bench', clean, '--sigma', '25', '--save', save, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { model: string; sets: JsonSet[]; tasks: { task: string }[]; mean: { psnr: number } };
    expect(report.model).toBe('identity');
    expect(report.sets.map((s) => [s.name, s.task, s.count])).toEqual([
      ['Rain100L', 'derain', 2],
      ['CBSD68-sigma25', 'denoise', 2],
    ]);
    expect(report.tasks.map((t) => t.task)).toEqual(['derain', 'denoise']);
    expect(report.mean.psnr).toBeCloseTo((report.sets[0].psnr + report.sets[1].psnr) / 2, 10);
    await expectMetricsAgree(report.sets[0], (name) => join(rain, 'norain', name.replace('rainy/rain-', 'norain-')));
    await expectMetricsAgree(report.sets[1], (name) => join(clean, name));
    // Sigma 25 noise on a smooth image: the input PSNR sits near 20 dB.
    expect(report.sets[1].psnr).toBeGreaterThan(19);
    expect(report.sets[1].psnr).toBeLessThan(23);

    const table = await run('eval', '--model', 'identity', '--bench', `Rain100L=${rain}`);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/Rain100L\s+derain\s+2\s+\d+\.\d\d\s+0\.\d{4}\s+-/);
    expect(table.stdout).toMatch(/\nmean\s+1\s/);
  });

  it('--model CKPT (cpu backend) with --lq/--gt, --y-channel and --crop-border: metrics of the saved outputs agree', async () => {
    await tf.setBackend('cpu');
    const trainer = createTrainer(tinyNetConfig({ initSeed: 'eval' }), {
      ...DEFAULT_HYPER,
      schedule: { lr: 1e-2, minLr: 0, warmup: 1, total: 10 },
      seed: 's',
    });
    for (let i = 0; i < 2; i++) await trainer.trainStep(syntheticBatch('e', i, 2, 8));
    const ckpt = join(root, 'ckpt');
    await saveCheckpoint(ckpt, trainer, null, null);
    trainer.dispose();
    const { rain } = await benchFolders();
    const save = join(root, 'saved-ckpt');
    const r = await run('eval', '--model', ckpt, '--backend', 'cpu', '--lq', join(rain, 'rainy'), '--gt', join(rain, 'norain'), '--y-channel', '--crop-border', '3', '--save', save, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { model: string; metrics: object; sets: JsonSet[] };
    expect(report.model).toContain('step 2');
    expect(report.metrics).toEqual({ crop_border: 3, test_y_channel: true });
    expect(report.sets[0]).toMatchObject({ name: 'rainy', task: 'derain', count: 2 });
    await expectMetricsAgree(report.sets[0], (name) => join(rain, 'norain', name.replace('rain-', 'norain-')), ['--y', '--crop-border', '3']);
  });

  it('--data DS --split test: one set per degradation type of the dataset', async () => {
    const { rain } = await benchFolders();
    const ds = join(root, 'ds');
    await importPairs({ type: 'RS', lqDir: join(rain, 'rainy'), gtDir: join(rain, 'norain'), out: ds, split: 'test' });
    const r = await run('eval', '--model', 'identity', '--data', ds, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { sets: JsonSet[] };
    expect(report.sets.map((s) => [s.name, s.task, s.count])).toEqual([['RS', 'RS', 2]]);
    const direct = JSON.parse((await run('eval', '--model', 'identity', '--lq', join(rain, 'rainy'), '--gt', join(rain, 'norain'), '--json')).stdout) as { sets: JsonSet[] };
    expect(report.sets[0].psnr).toBe(direct.sets[0].psnr);
    const none = await run('eval', '--model', 'identity', '--data', ds, '--split', 'val');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no samples in split "val"/);
  });

  it('--lq without --gt reports PIQE', async () => {
    const { rain } = await benchFolders();
    const r = await run('eval', '--model', 'identity', '--lq', join(rain, 'rainy'), '--json');
    expect(r.code).toBe(0);
    const set = (JSON.parse(r.stdout) as { sets: Array<JsonSet & { piqe: number }> }).sets[0];
    expect(set.psnr).toBeNull();
    expect(set.piqe).toBeGreaterThan(0);
  });

  it('usage errors exit 2, missing inputs exit 1 with the path', async () => {
    expect((await run('eval', '--model', 'identity')).code).toBe(2);
    const { rain } = await benchFolders();
    expect((await run('eval', '--model', 'identity', '--lq', rain, '--data', rain)).code).toBe(2);
    expect((await run('eval', '--model', 'identity', '--bench', rain, '--sigma', 'x')).code).toBe(2);
    const missing = await run('eval', '--model', join(root, 'nope'), '--bench', rain);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no checkpoint in .*nope/);
    const absent = await run('eval', '--model', 'identity', '--bench', join(root, 'absent'));
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/absent: not found/);
  });
});
