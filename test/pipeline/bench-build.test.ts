import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloneImage } from '../../src/core/image.js';
import { decodeImage, encodePng } from '../../src/core/io.js';
import { getDegradation } from '../../src/degradations/registry.js';
import type { Params } from '../../src/degradations/types.js';
import { BenchBuildError, buildBenchmark } from '../../src/pipeline/bench-build.js';
import { loadItem, recognizeBenchmark } from '../../src/pipeline/benchmarks.js';
import { importPairs } from '../../src/pipeline/import.js';
import { evaluate } from '../../src/train/evaluate.js';
import { identityRestorer } from '../../src/train/restorer.js';
import { tempDir } from '../support/files.js';
import { SAMPLES_DIR } from '../support/samples.js';

const root = tempDir('uirgen-bench-build-');

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

interface Pair {
  set: string;
  lq: string | null;
  gt: string;
  type: string | null;
  params: Params | null;
  psnr: number | null;
}

describe('bench build --preset 5d', () => {
  const options = { preset: '5d' as const, sources: [SAMPLES_DIR], crop: 64, perSource: 1, seed: 't' };

  it('writes the five test-set layouts and a bench.json that eval reads back; identity PSNR is the recorded input PSNR', async () => {
    const out = join(root, 'a');
    const result = await buildBenchmark({ ...options, out });
    expect(result.sets.map((s) => [s.name, s.task, s.pairs])).toEqual([
      ['CBSD68', 'denoise', 5],
      ['Rain100L', 'derain', 5],
      ['SOTS', 'dehaze', 5],
      ['GoPro', 'deblur', 5],
      ['LOL', 'lowlight', 5],
    ]);
    const all = files(out);
    expect(all.filter((f) => f.startsWith('CBSD68/'))).toHaveLength(5);
    expect(all).toContain('Rain100L/rainy/rain-001.png');
    expect(all).toContain('Rain100L/norain/norain-005.png');
    expect(all.filter((f) => /^SOTS-outdoor\/hazy\/0001_\d\.\d\d_[\d.]+\.png$/.test(f))).toHaveLength(1);
    expect(all).toContain('SOTS-outdoor/gt/0001.png');
    expect(all).toContain('GoPro/test/chelsea/blur/000001.png');
    expect(all).toContain('GoPro/test/chelsea/sharp/000001.png');
    expect(all).toContain('LOL/eval15/low/1.png');
    expect(all).toContain('LOL/eval15/high/1.png');

    const sets = await recognizeBenchmark(out);
    expect(sets.map((s) => [s.name, s.task, s.layout, s.sigma, s.items.length])).toEqual([
      ['CBSD68', 'denoise', 'clean', 25, 5],
      ['Rain100L', 'derain', 'rain100l', null, 5],
      ['SOTS', 'dehaze', 'sots', null, 5],
      ['GoPro', 'deblur', 'gopro', null, 5],
      ['LOL', 'lowlight', 'lol', null, 5],
    ]);
    const report = await evaluate(
      identityRestorer(),
      sets.map((s) => ({ name: s.name, task: s.task, items: s.items.map((it) => ({ name: it.name, load: () => loadItem(s, it) })) })),
    );
    for (const built of result.sets.slice(1)) {
      expect(report.sets.find((s) => s.name === built.name)!.psnr).toBeCloseTo(built.input_psnr!, 10);
    }
    // Denoising: sigma-25 noise, measured on the 8-bit noisy input.
    expect(report.sets[0].psnr).toBeGreaterThan(19);
    expect(report.sets[0].psnr).toBeLessThan(23);
  });

  it('is deterministic (same sources, preset, seed: same bytes) and every pair replays from its recorded params', async () => {
    const [a, b] = [join(root, 'd1'), join(root, 'd2')];
    await buildBenchmark({ ...options, out: a });
    await buildBenchmark({ ...options, out: b });
    const listed = files(a);
    expect(files(b)).toEqual(listed);
    for (const f of listed) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
    const doc = JSON.parse(readFileSync(join(a, 'bench.json'), 'utf8')) as { pairs: Pair[]; sources: unknown[] };
    expect(doc.sources).toHaveLength(5);
    for (const p of doc.pairs.filter((q) => q.type === 'RS' || q.type === 'LL').slice(0, 2)) {
      const gt = await decodeImage(join(a, p.gt));
      const lq = await getDegradation(p.type!).apply(cloneImage(gt), p.params!);
      expect((await encodePng(lq)).equals(readFileSync(join(a, p.lq!)))).toBe(true);
    }
    const other = join(root, 'd3');
    await buildBenchmark({ ...options, out: other, seed: 'u' });
    expect(readFileSync(join(other, 'Rain100L/rainy/rain-001.png')).equals(readFileSync(join(a, 'Rain100L/rainy/rain-001.png')))).toBe(false);
  });

  it('stays held out: refuses a photo that an --exclude dataset was made from, and an existing benchmark', async () => {
    const pairs = join(root, 'train-pairs');
    mkdirSync(join(pairs, 'lq'), { recursive: true });
    mkdirSync(join(pairs, 'gt'), { recursive: true });
    copyFileSync(join(SAMPLES_DIR, 'coffee.png'), join(pairs, 'lq', 'coffee.png'));
    copyFileSync(join(SAMPLES_DIR, 'coffee.png'), join(pairs, 'gt', 'coffee.png'));
    const ds = join(root, 'train-ds');
    await importPairs({ type: 'GN', lqDir: join(pairs, 'lq'), gtDir: join(pairs, 'gt'), out: ds });
    await expect(buildBenchmark({ ...options, out: join(root, 'x'), exclude: [ds] })).rejects.toThrow(/coffee\.png is a source photo of an --exclude dataset/);
    await expect(buildBenchmark({ ...options, out: join(root, 'a') })).rejects.toThrow(BenchBuildError);
    await expect(buildBenchmark({ ...options, out: join(root, 'y'), crop: 4096 })).rejects.toThrow(/no usable photo/);
  });
});
