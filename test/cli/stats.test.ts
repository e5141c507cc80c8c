import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/files.js';
import { SAMPLES_DIR } from '../support/samples.js';

describe('uirgen stats, plan and preview (CLI)', () => {
  let ds: string;
  beforeAll(async () => {
    ds = tempDir('uirgen-cli-stats-');
    const r = await runCli(['synthesize', '--sources', SAMPLES_DIR, '--out', ds, '--per-source', '2', '--crop', '64', '--types', 'GN,J', '--shard-samples', '4', '--seed', 'cli', '--quiet']);
    expect(r.code).toBe(0);
  });

  it('stats prints the compact report; --json the documented figures; --html writes the report', async () => {
    const human = await runCli(['stats', ds, '--ssim-samples', '2']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/samples 10: synthetic 10, real 0 · 2 types/);
    expect(human.stdout).toMatch(/^GN\s+5\s+0\s+\d+\/\d+/m);
    expect(human.stdout).toMatch(/^shards: 3, /m);
    const html = join(tempDir('uirgen-cli-html-'), 'r.html');
    const json = await runCli(['stats', ds, '--json', '--ssim-samples', '1', '--html', html]);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout) as { format: string; totals: { samples: number }; types: { type: string; ssim: { n: number } }[] };
    expect(s.format).toBe('uirgen-stats/1');
    expect(s.totals.samples).toBe(10);
    expect(s.types.map((t) => [t.type, t.ssim.n])).toEqual([['GN', 1], ['J', 1]]);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });

  it('exit codes: 1 with the file named for a folder that is no dataset, 2 for a bad option', async () => {
    const empty = tempDir('uirgen-cli-empty-');
    const missing = await runCli(['stats', empty]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(join(empty, 'manifest.sqlite'));
    const bad = await runCli(['stats', ds, '--ssim-samples', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ssim-samples must be an integer/);
    const help = await runCli(['stats', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--html <report.html>/);
  });

  it('plan --virtual-sources plans the UIR-2.5M recipe scaled down and lists the imports to make', async () => {
    const out = join(tempDir('uirgen-cli-plan-'), 'ds');
    const r = await runCli(['plan', '--recipe', 'manifests/uir-2.5m.json', '--out', out, '--virtual-sources', '--samples', '3000', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^planned 3,000 samples in 3 shards from 102,685 sources \(virtual/m);
    expect(r.stdout).toMatch(/RN\s+30,608 real\s+SIDD\s+uirgen import --type RN --real/);
    const again = await runCli(['plan', '--recipe', 'manifests/uir-2.5m.json', '--out', out, '--virtual-sources', '--samples', '3000', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ written: false, samples: 3000, virtual: true });
    const unmapped = await runCli(['plan', '--recipe', 'manifests/uir-2.5m.json', '--out', tempDir()]);
    expect(unmapped.code).toBe(1);
    expect(unmapped.stderr).toMatch(/have no folder: map each with --collection NAME=DIR/);
    const badMap = await runCli(['plan', '--recipe', 'manifests/uir-2.5m.json', '--out', tempDir(), '--collection', 'LSDIR']);
    expect(badMap.code).toBe(2);
  });

  it('preview writes the sheet', async () => {
    const sheet = join(tempDir('uirgen-cli-preview-'), 'sheet.png');
    const r = await runCli(['preview', ds, '-o', sheet, '--per-type', '2', '--tile', '32']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*sheet\.png \(\d+x\d+\): 2 types, 4 pairs/);
    expect(existsSync(sheet)).toBe(true);
    const bad = await runCli(['preview', ds, '-o', join(tempDir(), 'x.jpg')]);
    expect(bad.code).toBe(2);
  });
});
