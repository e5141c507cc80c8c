import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src/core/random.js';
import { loadRestorationNet, readCheckpointInfo, saveCheckpoint } from '../../../src/train/checkpoint.js';
import { createTrainer, DEFAULT_HYPER } from '../../../src/train/maskdcpt.js';
import type { NafnetConfig } from '../../../src/train/models/nafnet.js';
import { exportWeights, importWeights } from '../../../src/train/torch/weights.js';
import { tempDir } from '../../support/files.js';
import { readArrays, relativeError, torch, torchRef, writeArrays } from '../../support/torch.js';
import { syntheticBatch } from '../models/synthetic.js';

/**
 * Weights to PyTorch and back. uirgen -> PyTorch: a trained checkpoint (live weights and EMA) exported as
 * .pth and .safetensors is loaded with load_state_dict(strict=True) into the NAFNetBaseline that
 * test/support/torch_ref.py defines from the released architecture, and restores an image as uirgen does.
 * PyTorch -> uirgen: random NAFNet weights saved by torch.save (BasicSR keys, and megvii's names) and as a
 * hand-written safetensors file go through import-weights and restore the image as PyTorch does.
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dir = tempDir('uirgen-torch-rt-');
const NET: NafnetConfig = { width: 4, encBlocks: [1, 2], middleBlocks: 1, decBlocks: [2, 1] };
const SIZE = 32;

function testImage(): Float32Array {
  const rng = createRng('rt-image');
  return Float32Array.from({ length: SIZE * SIZE * 3 }, () => rng.uniform());
}

async function uirgenRestore(ckpt: string, which: 'ema' | 'live'): Promise<Float32Array> {
  const { net } = await loadRestorationNet(ckpt, which);
  const out = tf.tidy(() => net.restore(tf.tensor4d(testImage(), [1, SIZE, SIZE, 3])).dataSync() as Float32Array);
  net.dispose();
  return out;
}

function imageDir(): string {
  const d = join(dir, 'image');
  writeArrays(d, { image: { shape: [1, SIZE, SIZE, 3], data: testImage() } });
  return d;
}

/** A pre-training checkpoint whose live weights and EMA differ, every parameter non-trivial. */
async function trainedCheckpoint(): Promise<string> {
  const trainer = createTrainer(
    { method: 'maskdcpt', ...NET, maskWindow: 16, clsBlocks: 1, clsExpand: 2, classes: ['blur', 'noise'], initSeed: 'rt' },
    { ...DEFAULT_HYPER, emaDecay: 0.5, schedule: { lr: 1e-2, minLr: 1e-2, warmup: 0, total: 10 }, seed: 'rt' },
  );
  const rng = createRng('rt-weights');
  for (const [name, v] of trainer.net.params.entries()) {
    const base = /norm\d?\.weight$/.test(name) ? 1 : 0;
    v.assign(tf.tensor(Float32Array.from({ length: v.size }, () => base + 0.3 * rng.normal()), v.shape));
  }
  for (let i = 0; i < 2; i++) await trainer.trainStep(syntheticBatch('rt', i, 2, 16));
  const ckpt = join(dir, 'trained');
  await saveCheckpoint(ckpt, trainer, null, null);
  trainer.dispose();
  return ckpt;
}

describe.skipIf(!torch)('weights round trip with PyTorch', () => {
  it('export: .pth (params and params_ema) and .safetensors load strictly into NAFNetBaseline and restore alike', async () => {
    const ckpt = await trainedCheckpoint();
    const ema = await uirgenRestore(ckpt, 'ema');
    const live = await uirgenRestore(ckpt, 'live');
    expect(relativeError(ema, live)).toBeGreaterThan(1e-3); // the two copies really differ

    const pth = join(dir, 'out', 'model.pth');
    const res = await exportWeights(ckpt, { out: pth });
    expect(res.keys).toEqual(['params', 'params_ema']);
    const meta = JSON.parse(readFileSync(join(dir, 'out', 'export.json'), 'utf8'));
    expect(meta.network_g).toEqual({ type: 'NAFNetBaseline', img_channel: 3, width: 4, middle_blk_num: 1, enc_blk_nums: [1, 2], dec_blk_nums: [2, 1] });
    for (const [key, want] of [['params_ema', ema], ['params', live]] as const) {
      const out = join(dir, `torch-${key}`);
      const log = JSON.parse(torchRef('load', [pth, join(dir, 'out', 'export.json'), key, imageDir(), out]));
      expect(log.keys).toEqual(['params', 'params_ema']);
      expect(relativeError(readArrays(out).restored.data, want), key).toBeLessThan(1e-4);
    }

    const st = join(dir, 'out', 'model.safetensors');
    await exportWeights(ckpt, { out: st, meta: join(dir, 'out', 'st.json') });
    const out = join(dir, 'torch-st');
    const log = JSON.parse(torchRef('load', [st, join(dir, 'out', 'st.json'), '', imageDir(), out]));
    expect(log.metadata).toMatchObject({ format: 'pt', param_key: 'params_ema' });
    expect(relativeError(readArrays(out).restored.data, ema)).toBeLessThan(1e-4);
  }, 120_000);

  it('import-weights: torch.save files (BasicSR and megvii names) and safetensors restore as PyTorch does', async () => {
    const cfgPath = join(dir, 'make.json');
    writeFileSync(cfgPath, JSON.stringify(NET));
    const made = join(dir, 'made');
    torchRef('make', [cfgPath, made, imageDir()]);
    const want = readArrays(join(made, 'restored')).restored.data;

    const basicsr = await importWeights(join(made, 'basicsr.pth'), { out: join(dir, 'imp-basicsr') });
    expect(basicsr).toMatchObject({ config: NET, live: 'params', ema: 'params_ema', style: 'maskdcpt' });
    const info = await readCheckpointInfo(join(dir, 'imp-basicsr'));
    expect(info.kind).toBe('weights');
    expect(relativeError(await uirgenRestore(join(dir, 'imp-basicsr'), 'ema'), want)).toBeLessThan(1e-4);

    const megvii = await importWeights(join(made, 'megvii.pth'), { out: join(dir, 'imp-megvii'), net: NET });
    expect(megvii).toMatchObject({ style: 'megvii', live: '', ema: null });
    expect(relativeError(await uirgenRestore(join(dir, 'imp-megvii'), 'live'), want)).toBeLessThan(1e-4);

    await importWeights(join(made, 'ema.safetensors'), { out: join(dir, 'imp-st') });
    expect(relativeError(await uirgenRestore(join(dir, 'imp-st'), 'live'), want)).toBeLessThan(1e-4);

    await expect(importWeights(join(made, 'basicsr.pth'), { out: join(dir, 'x'), net: { ...NET, width: 8 } })).rejects.toThrow(/width 4.*--net asks for width 8/);
  }, 120_000);
});
