import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register as registerBench } from '../../src/cli/bench-train.js';
import { register as registerEval } from '../../src/cli/eval.js';
import { register as registerFinetune } from '../../src/cli/finetune.js';
import { register as registerPretrain } from '../../src/cli/pretrain.js';
import { register as registerRestore } from '../../src/cli/restore.js';
import { runRegistered } from '../support/cli.js';
import { tempDir } from '../support/files.js';
import { synthesizeTinyDataset } from '../support/tiny-dataset.js';
import { startWebGpuOnOpenGles } from '../support/webgpu.js';

/**
 * The training commands on the webgpu backend through Dawn's OpenGL ES backend (Mesa's llvmpipe where there
 * is no GPU, as in CI), chosen the way a user would: UIRGEN_WEBGPU_BACKEND or --webgpu-backend.
 */

const started = await startWebGpuOnOpenGles();
const webgpu = typeof started !== 'string';
const dir = tempDir('uirgen-cli-webgpu-');
const data = join(dir, 'ds');

const savedEnv = process.env.UIRGEN_WEBGPU_BACKEND;
beforeAll(() => {
  process.env.UIRGEN_WEBGPU_BACKEND = 'opengles';
  if (!webgpu) return;
  synthesizeTinyDataset(data);
}, 120_000);
afterAll(() => {
  if (savedEnv === undefined) delete process.env.UIRGEN_WEBGPU_BACKEND;
  else process.env.UIRGEN_WEBGPU_BACKEND = savedEnv;
});

const readLosses = (ckpt: string): number[] =>
  readFileSync(join(ckpt, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { loss: number }).loss);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.runIf(webgpu)('training commands on webgpu (Dawn OpenGL ES)', () => {
  it('pretrain --backend webgpu (UIRGEN_WEBGPU_BACKEND=opengles): its loss falls, along the curve cpu draws', async () => {
    const run = ['--data', data, '--net', 'nafnet-micro', '--width', '4', '--mask-window', '4', '--cls-blocks', '1', '--patch', '8', '--batch', '4', '--steps', '30', '--warmup', '0', '--lr', '1e-2', '--workers', '1', '--json'];
    const gpu = await runRegistered(registerPretrain, ['pretrain', '--out', join(dir, 'gpu'), '--backend', 'webgpu', ...run]);
    expect(gpu.code, gpu.stderr).toBe(0);
    expect(JSON.parse(gpu.stdout)).toMatchObject({ backend: 'webgpu', steps: 30, interrupted: false });
    const cpu = await runRegistered(registerPretrain, ['pretrain', '--out', join(dir, 'cpu'), '--backend', 'cpu', ...run]);
    expect(cpu.code, cpu.stderr).toBe(0);
    const [g, c] = [readLosses(join(dir, 'gpu')), readLosses(join(dir, 'cpu'))];
    expect(g).toHaveLength(30);
    g.forEach((l, i) => expect(l, `step ${i + 1}`).toBeCloseTo(c[i], 3));
    expect(mean(g.slice(-10))).toBeLessThan(0.97 * mean(g.slice(0, 10)));
  }, 300_000);

  it('bench-train --backend webgpu times both nets', async () => {
    for (const net of ['reference', 'maskdcpt-tiny']) {
      const r = await runRegistered(registerBench, ['bench-train', '--net', net, '--backend', 'webgpu', '--webgpu-backend', 'opengles', '--batch', '2', '--size', '16', '--steps', '2', '--warmup', '1', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result).toMatchObject({ backend: 'webgpu', net, steps: 2 });
      expect(result.backend_detail).toMatch(/OpenGL ES/);
      expect(result.mean_ms).toBeGreaterThan(0);
      expect(Number.isFinite(result.loss_last)).toBe(true);
    }
  }, 300_000);
});

describe('--webgpu-backend', () => {
  it('rejects an unknown Dawn backend with exit code 2', async () => {
    const r = await runRegistered(registerBench, ['bench-train', '--backend', 'webgpu', '--webgpu-backend', 'metal2', '--steps', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--webgpu-backend must be one of auto, vulkan, opengles/);
  });

  it('is an option of every command that takes --backend', () => {
    const commands: [string, (program: Command) => void][] = [
      ['bench-train', registerBench],
      ['pretrain', registerPretrain],
      ['finetune', registerFinetune],
      ['eval', registerEval],
      ['restore', registerRestore],
    ];
    for (const [name, register] of commands) {
      const program = new Command();
      register(program);
      const help = program.commands.find((c) => c.name() === name)?.helpInformation() ?? '';
      expect(help, name).toMatch(/--backend <B>/);
      expect(help, name).toMatch(/--webgpu-backend <B>/);
    }
  });
});
