import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { decodeImage, encodePng } from '../../src/core/io.js';
import { seededGaussianNoise } from '../../src/core/numpy-random.js';
import { BenchmarkError, loadItem, pairFolders, recognizeBenchmark, type BenchmarkSet } from '../../src/pipeline/benchmarks.js';
import { tempDir } from '../support/files.js';

const root = tempDir('uirgen-bench-layouts-');
let n = 0;

function pattern(w: number, h: number, seed: number): Image {
  const im = createImage(w, h);
  for (let i = 0; i < im.data.length; i++) im.data[i] = ((i * 37 + seed * 101) % 251) / 255;
  return im;
}

/** Write PNG files (the extension in the name is kept; sharp writes PNG bytes either way) under a fresh folder. */
async function layout(files: string[]): Promise<string> {
  const dir = join(root, `set${n++}`);
  for (const [i, f] of files.entries()) {
    const path = join(dir, f);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await encodePng(pattern(24, 16, i)));
  }
  return dir;
}

const names = (set: BenchmarkSet): Array<[string, string | null, string | null]> =>
  set.items.map((it) => [it.name, it.lq && it.lq.slice(set.root.length + 1), it.gt && it.gt.slice(set.root.length + 1)]);

describe('benchmark layouts', () => {
  it('Rain100L: rainy/ + norain/ with rain-NNN / norain-NNN names, rain-region maps ignored', async () => {
    const dir = await layout(['rainy/rain-001.png', 'rainy/rain-002.png', 'norain/norain-001.png', 'norain/norain-002.png', 'rainy/rainregion-001.png']);
    const [set] = await recognizeBenchmark(dir, { name: 'Rain100L' });
    expect(set).toMatchObject({ name: 'Rain100L', task: 'derain', layout: 'rain100l', sigma: null, unmatched: [] });
    expect(names(set)).toEqual([
      ['rainy/rain-001.png', 'rainy/rain-001.png', 'norain/norain-001.png'],
      ['rainy/rain-002.png', 'rainy/rain-002.png', 'norain/norain-002.png'],
    ]);
  });

  it('Rain100L as PromptIR keeps it (input/ + target/) is still deraining, by its file names', async () => {
    const dir = await layout(['input/rain-1.png', 'target/norain-1.png']);
    const [set] = await recognizeBenchmark(dir);
    expect(set).toMatchObject({ task: 'derain', layout: 'rain100l' });
    expect(set.items).toHaveLength(1);
  });

  it('SOTS outdoor: hazy/0001_0.8_0.2.jpg pairs with gt/0001.png, several hazes per scene', async () => {
    const dir = await layout(['hazy/0001_0.8_0.2.jpg', 'hazy/0002_1_0.16.jpg', 'hazy/0002_0.9_0.08.jpg', 'gt/0001.png', 'gt/0002.png']);
    const [set] = await recognizeBenchmark(dir, { name: 'SOTS' });
    expect(set).toMatchObject({ task: 'dehaze', layout: 'sots' });
    expect(names(set)).toEqual([
      ['hazy/0001_0.8_0.2.jpg', 'hazy/0001_0.8_0.2.jpg', 'gt/0001.png'],
      ['hazy/0002_0.9_0.08.jpg', 'hazy/0002_0.9_0.08.jpg', 'gt/0002.png'],
      ['hazy/0002_1_0.16.jpg', 'hazy/0002_1_0.16.jpg', 'gt/0002.png'],
    ]);
  });

  it('LOL: low/ + high/', async () => {
    const dir = await layout(['low/1.png', 'low/22.png', 'high/1.png', 'high/22.png']);
    const [set] = await recognizeBenchmark(dir, { name: 'LOL' });
    expect(set).toMatchObject({ task: 'lowlight', layout: 'lol' });
    expect(names(set).map((r) => r[2])).toEqual(['high/1.png', 'high/22.png']);
  });

  it('GoPro: blur/ + sharp/ per sequence, blur_gamma/ left out', async () => {
    const dir = await layout([
      'GOPR0384_11_00/blur/000001.png',
      'GOPR0384_11_00/blur_gamma/000001.png',
      'GOPR0384_11_00/sharp/000001.png',
      'GOPR0385_11_01/blur/000001.png',
      'GOPR0385_11_01/sharp/000001.png',
    ]);
    const [set] = await recognizeBenchmark(dir, { name: 'GoPro' });
    expect(set).toMatchObject({ task: 'deblur', layout: 'gopro' });
    expect(names(set)).toEqual([
      ['GOPR0384_11_00/blur/000001.png', 'GOPR0384_11_00/blur/000001.png', 'GOPR0384_11_00/sharp/000001.png'],
      ['GOPR0385_11_01/blur/000001.png', 'GOPR0385_11_01/blur/000001.png', 'GOPR0385_11_01/sharp/000001.png'],
    ]);
  });

  it('GoPro as Uformer/MaskDCPT keep it (input/ + groundtruth/): the folder name tells the task', async () => {
    const dir = join(await layout(['GoPro/test/input/GOPR0384_11_00-000001.png', 'GoPro/test/groundtruth/GOPR0384_11_00-000001.png']), 'GoPro', 'test');
    const [set] = await recognizeBenchmark(dir, { name: 'GoPro' });
    expect(set).toMatchObject({ task: 'deblur', layout: 'gopro' });
    expect(set.items).toHaveLength(1);
  });

  it('CBSD68 / Kodak: clean images only give one denoising set per sigma, noise from np.random.seed(0)', async () => {
    const dir = await layout(['101085.png', '3096.png']);
    const sets = await recognizeBenchmark(dir, { name: 'CBSD68' });
    expect(sets.map((s) => [s.name, s.task, s.layout, s.sigma])).toEqual([
      ['CBSD68-sigma15', 'denoise', 'clean', 15],
      ['CBSD68-sigma25', 'denoise', 'clean', 25],
      ['CBSD68-sigma50', 'denoise', 'clean', 50],
    ]);
    const [kodak] = await recognizeBenchmark(dir, { name: 'Kodak', sigmas: [25] });
    expect(kodak.name).toBe('Kodak-sigma25');
    const item = kodak.items[0];
    expect(item).toMatchObject({ name: '101085.png', lq: null });
    const loaded = await loadItem(kodak, item);
    const gt = await decodeImage(item.gt!);
    expect(loaded.gt!.data).toEqual(gt.data);
    // Every image starts the stream afresh (seed 0), so equal-sized images get the same noise field.
    expect(loaded.lq.data).toEqual(seededGaussianNoise(gt, 25, 0).data);
    expect(loaded.lq.data).not.toEqual(gt.data);
  });

  it('degraded images alone (real captures) make a set without ground truth', async () => {
    const dir = await layout(['input/a.png', 'input/b.png']);
    const [set] = await recognizeBenchmark(dir, { name: 'real' });
    expect(set).toMatchObject({ layout: 'nogt', task: 'restore' });
    expect(set.items.map((i) => i.gt)).toEqual([null, null]);
    const lqOnly = await pairFolders(join(dir, 'input'), null, { name: 'real', task: 'deblur' });
    expect(lqOnly).toMatchObject({ layout: 'nogt', task: 'deblur' });
    expect(lqOnly.items.map((i) => i.name)).toEqual(['a.png', 'b.png']);
  });

  it("folders above the set's own do not hint its task (a home called lola, a temporary name)", async () => {
    const dir = await layout(['lola-darkroom/real/input/a.png', 'lola-darkroom/pairs/set/in/x-1.png', 'lola-darkroom/pairs/set/out/x-1.png']);
    const [set] = await recognizeBenchmark(join(dir, 'lola-darkroom', 'real'));
    expect(set).toMatchObject({ name: 'real', layout: 'nogt', task: 'restore' });
    const paired = await pairFolders(join(dir, 'lola-darkroom', 'pairs', 'set', 'in'), join(dir, 'lola-darkroom', 'pairs', 'set', 'out'));
    expect(paired.task).toBe('restore');
    // the set's own folder still does
    const [lol] = await recognizeBenchmark(join(dir, 'lola-darkroom'), { name: 'x' });
    expect(lol.task).toBe('lowlight');
  });

  it('explicit --lq / --gt folders pair by the same rules; the folder names hint the task', async () => {
    const dir = await layout(['Rain100H/in/rain-1.png', 'Rain100H/out/norain-1.png', 'Rain100H/in/rain-9.png']);
    const set = await pairFolders(join(dir, 'Rain100H', 'in'), join(dir, 'Rain100H', 'out'));
    expect(set).toMatchObject({ task: 'derain', name: 'in' });
    expect(set.items.map((i) => i.name)).toEqual(['rain-1.png']);
    expect(set.unmatched).toHaveLength(1);
  });

  it('a bench.json names the sets of a built benchmark, with their tasks and sigmas', async () => {
    const dir = await layout(['CBSD68/a.png', 'Rain100L/rainy/rain-1.png', 'Rain100L/norain/norain-1.png']);
    writeFileSync(
      join(dir, 'bench.json'),
      JSON.stringify({
        format: 'uirgen-benchmark',
        version: 1,
        sets: [
          { name: 'CBSD68', task: 'denoise', dir: 'CBSD68', sigma: 25 },
          { name: 'Rain100L', task: 'derain', dir: 'Rain100L' },
        ],
      }),
    );
    const sets = await recognizeBenchmark(dir);
    expect(sets.map((s) => [s.name, s.task, s.layout, s.sigma, s.items.length])).toEqual([
      ['CBSD68', 'denoise', 'clean', 25, 1],
      ['Rain100L', 'derain', 'rain100l', null, 1],
    ]);
  });

  it('says what is wrong with a folder it cannot use', async () => {
    await expect(recognizeBenchmark(join(root, 'absent'))).rejects.toThrow(BenchmarkError);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(recognizeBenchmark(empty)).rejects.toThrow(/no images/);
    const unpaired = await layout(['hazy/x_1_0.1.png', 'gt/y.png']);
    await expect(recognizeBenchmark(unpaired)).rejects.toThrow(/none pair by name/);
    const bad = await layout(['a.png']);
    writeFileSync(join(bad, 'bench.json'), '{"format":"other"}');
    await expect(recognizeBenchmark(bad)).rejects.toThrow(/not a uirgen-benchmark file/);
  });
});
