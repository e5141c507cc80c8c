import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/metrics.js';
import { runRegistered, type CommandResult } from '../support/cli.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/metrics/', import.meta.url));
const GT = `${FIXTURES}astronaut-noise-gt.png`; // 64x64
const LQ = `${FIXTURES}astronaut-noise-lq.png`;
const OTHER_SIZE = `${FIXTURES}rocket-lowlight-gt.png`; // 80x48

interface Case {
  crop_border: number;
  test_y_channel: boolean;
  skimage: { psnr: number; ssim: number };
}
const expected = JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8')) as {
  pairs: { name: string; cases: Case[] }[];
};
const astronaut = (border: number, y: boolean): Case =>
  expected.pairs
    .find((p) => p.name === 'astronaut-noise')!
    .cases.find((c) => c.crop_border === border && c.test_y_channel === y)!;

const run = (...args: string[]): Promise<CommandResult> => runRegistered([register], ['metrics', ...args]);

afterEach(() => {
  process.exitCode = undefined;
});

describe('uirgen metrics', () => {
  it('--json prints exactly {"psnr":..,"ssim":..} with the reference values', async () => {
    const r = await run(GT, LQ, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\{"psnr":[0-9.]+,"ssim":[0-9.]+\}\n$/);
    const m = JSON.parse(r.stdout) as { psnr: number; ssim: number };
    const ref = astronaut(0, false).skimage;
    expect(Math.abs(m.psnr - ref.psnr)).toBeLessThan(1e-9);
    expect(Math.abs(m.ssim - ref.ssim)).toBeLessThan(1e-9);
  });

  it('prints a readable line by default', async () => {
    const r = await run(GT, LQ);
    expect(r.code, r.stderr).toBe(0);
    const ref = astronaut(0, false).skimage;
    expect(r.stdout).toBe(`PSNR ${ref.psnr.toFixed(2)} dB  SSIM ${ref.ssim.toFixed(4)}\n`);
  });

  it('--y and --crop-border select the BasicSR variants', async () => {
    const r = await run(GT, LQ, '--y', '--crop-border', '4', '--json');
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as { psnr: number; ssim: number };
    const ref = astronaut(4, true).skimage;
    expect(Math.abs(m.psnr - ref.psnr)).toBeLessThan(1e-9);
    expect(Math.abs(m.ssim - ref.ssim)).toBeLessThan(1e-9);
  });

  it('reports identical images as inf (null in JSON, which has no infinity)', async () => {
    expect((await run(GT, GT)).stdout).toBe('PSNR inf dB  SSIM 1.0000\n');
    const j = JSON.parse((await run(GT, GT, '--json')).stdout) as { psnr: number | null; ssim: number };
    expect(j.psnr).toBeNull();
    expect(j.ssim).toBeCloseTo(1, 12);
  });

  it('a missing file exits 1 with a message naming it', async () => {
    const missing = `${FIXTURES}no-such-image.png`;
    const r = await run(GT, missing);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toMatch(/file not found/);
  });

  it('a file that is not an image exits 1 naming it', async () => {
    const r = await run(`${FIXTURES}expected.json`, GT);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected.json');
  });

  it('images of different sizes exit 1 with both sizes', async () => {
    const r = await run(GT, OTHER_SIZE, '--json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${GT} is 64x64 but ${OTHER_SIZE} is 80x48`);
  });

  it('a bad --crop-border is a usage error (exit 2)', async () => {
    let r = await run(GT, LQ, '--crop-border', 'two');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--crop-border must be an integer/);
    r = await run(GT, LQ, '--crop-border', '-1');
    expect(r.code).toBe(2);
    r = await run(GT, LQ, '--crop-border', '27');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--crop-border must be at most 26 for 64x64/);
    expect((await run(GT, LQ, '--crop-border', '26')).code).toBe(0);
  });

  it('a missing argument is left to commander', async () => {
    await expect(run(GT)).rejects.toBeInstanceOf(CommanderError);
  });
});
