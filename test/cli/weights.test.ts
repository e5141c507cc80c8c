import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/random.js';
import { readCheckpoint, saveWeightsCheckpoint } from '../../src/train/checkpoint.js';
import { buildRestorationNet, type NafnetConfig } from '../../src/train/models/nafnet.js';
import { tempDir } from '../support/files.js';

/**
 * `uirgen export`, `uirgen import-weights` and `uirgen restore` end to end (cpu backend, a tiny net): the
 * weights survive export -> import bit for bit, restore writes 8-bit PNGs of the input's size, and the
 * usual exit codes.
 */

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const SAMPLES = new URL('../../samples/images', import.meta.url).pathname;
const dir = tempDir('uirgen-cli-weights-');
const NET: NafnetConfig = { width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1] };

function uirgen(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ckpt = join(dir, 'weights');

beforeAll(async () => {
  await tf.setBackend('cpu');
  const net = buildRestorationNet(NET, 'cli');
  const rng = createRng('cli');
  const live = new Map<string, tf.Tensor>();
  const ema = new Map<string, tf.Tensor>();
  for (const [name, v] of net.params.entries()) {
    live.set(name, tf.tensor(Float32Array.from({ length: v.size }, () => 0.1 * rng.normal()), v.shape));
    ema.set(name, tf.tensor(Float32Array.from({ length: v.size }, () => 0.1 * rng.normal()), v.shape));
  }
  await saveWeightsCheckpoint(ckpt, NET, live, ema, { test: true });
  tf.dispose([...live.values(), ...ema.values()]);
  net.dispose();
}, 60_000);

async function tensorsOf(d: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readCheckpoint(d);
  const out = new Map([...tensors].map(([k, t]) => [k, t.dataSync() as Float32Array]));
  tf.dispose([...tensors.values()]);
  return out;
}

describe('uirgen export / import-weights', () => {
  it('export .pth and .safetensors, import them back: the same weights, EMA included', async () => {
    const pth = join(dir, 'out', 'model.pth');
    let r = uirgen('export', ckpt, '-o', pth, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ keys: ['params', 'params_ema'], network_g: { type: 'NAFNetBaseline', width: 4, enc_blk_nums: [1, 1] } });
    expect(JSON.parse(readFileSync(join(dir, 'out', 'export.json'), 'utf8')).param_key_g).toBe('params_ema');

    r = uirgen('import-weights', pth, '-o', join(dir, 'back'), '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ net: null, config: NET, live: 'params', ema: 'params_ema' });
    expect(await tensorsOf(join(dir, 'back'))).toEqual(await tensorsOf(ckpt));

    const st = join(dir, 'out', 'model.safetensors');
    r = uirgen('export', ckpt, '-o', st, '--weights', 'live', '--names', 'megvii');
    expect(r.code, r.stderr).toBe(0);
    r = uirgen('import-weights', st, '-o', join(dir, 'st'), '--net', 'nafnet-micro', '--width', '4');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/megvii names; live weights from the bare state dict/);
    const want = await tensorsOf(ckpt);
    const got = await tensorsOf(join(dir, 'st'));
    for (const [k, v] of got) expect(v, k).toEqual(want.get(k));
  }, 120_000);

  it('exit codes: 2 for usage, 1 for bad files, with the file named', () => {
    expect(uirgen('export', ckpt).code).toBe(2);
    expect(uirgen('export', ckpt, '-o', join(dir, 'x.onnx')).stderr).toMatch(/must end in \.pth or \.safetensors/);
    const missing = uirgen('export', join(dir, 'none'), '-o', join(dir, 'x.pth'));
    expect([missing.code, /none.*model\.json missing/.test(missing.stderr)]).toEqual([1, true]);
    const junk = join(dir, 'junk.pth');
    writeFileSync(junk, 'not a checkpoint');
    const bad = uirgen('import-weights', junk, '-o', join(dir, 'j'));
    expect([bad.code, /junk\.pth: not a PyTorch checkpoint/.test(bad.stderr)]).toEqual([1, true]);
    const wrong = uirgen('import-weights', join(dir, 'out', 'model.pth'), '-o', join(dir, 'w'), '--net', 'nafnet-64');
    expect([wrong.code, /--net asks for width 64/.test(wrong.stderr)]).toEqual([1, true]);
    expect(uirgen('import-weights', join(dir, 'out', 'model.pth'), '-o', join(dir, 'back')).stderr).toMatch(/already holds a checkpoint/);
  }, 120_000);
});

describe('uirgen restore', () => {
  it('writes one 8-bit RGB PNG per input, of its size', async () => {
    const out = join(dir, 'restored');
    // small copies of two photos (the pure-JS backend is slow), one a JPEG of odd size
    const inputs = [join(dir, 'cat.png'), join(dir, 'coffee.jpg')];
    await sharp(join(SAMPLES, 'chelsea.png')).resize(90, 60).png().toFile(inputs[0]);
    await sharp(join(SAMPLES, 'coffee.png')).resize(75, 50).jpeg().toFile(inputs[1]);
    const r = uirgen('restore', ...inputs, '--model', ckpt, '-o', out, '--backend', 'cpu', '--tile', '32', '--overlap', '16', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.output)).toEqual([join(out, 'cat.png'), join(out, 'coffee.png')]);
    for (const [i, l] of lines.entries()) {
      const meta = await sharp(l.output).metadata();
      const src = await sharp(inputs[i]).metadata();
      expect([meta.format, meta.channels, meta.depth, meta.width, meta.height]).toEqual(['png', 3, 'uchar', src.width, src.height]);
      expect(l.tiles).toBeGreaterThan(1);
    }
  }, 180_000);

  it('refuses two inputs that would share an output name, and needs --model and -o', () => {
    const a = join(dir, 'a');
    const r = uirgen('restore', join(SAMPLES, 'rocket.jpg'), join(SAMPLES, 'rocket.jpg'), '--model', ckpt, '-o', a, '--backend', 'cpu');
    expect([r.code, /would both be written as/.test(r.stderr)]).toEqual([1, true]);
    expect(uirgen('restore', join(SAMPLES, 'rocket.jpg'), '-o', a).code).toBe(2);
    expect(uirgen('restore', join(SAMPLES, 'rocket.jpg'), '--model', ckpt).code).toBe(2);
    const tile = uirgen('restore', join(SAMPLES, 'rocket.jpg'), '--model', ckpt, '-o', a, '--backend', 'cpu', '--tile', '30');
    expect([tile.code, /--tile\/--overlap: tile must be a positive multiple of 4/.test(tile.stderr)]).toEqual([2, true]);
  }, 120_000);
});
