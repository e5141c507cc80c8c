import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrainer, readCheckpoint, readCheckpointInfo, saveCheckpoint } from '../../src/train/checkpoint.js';
import { createTrainer, DEFAULT_HYPER, type TrainBatch, type Trainer } from '../../src/train/maskdcpt.js';
import { makeMasks, sampleMaskCells, type NetConfig } from '../../src/train/models/maskdcpt-net.js';
import { tinyNetConfig } from './models/synthetic.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'uirgen-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config: NetConfig = tinyNetConfig({ classes: ['a', 'b'], initSeed: 'ck' });
const hyper = { ...DEFAULT_HYPER, schedule: { lr: 1e-2, minLr: 0, warmup: 1, total: 10 }, seed: 'run' };

function batch(seed: number): TrainBatch {
  const px = 2 * 8 * 8 * 3;
  const gt = Float32Array.from({ length: px }, (_, i) => ((i * 2654435761 + seed * 97) % 1000) / 1000);
  const lq = gt.map((v, i) => (i % 7 === seed % 7 ? 1 - v : v));
  return { lq, gt, labels: Int32Array.from([seed % 2, (seed + 1) % 2]), size: 2, patch: 8 };
}

const bytes = (t: tf.Tensor): Buffer => Buffer.from((t.dataSync() as Float32Array).slice().buffer);

function allWeights(t: Trainer): Buffer {
  return Buffer.concat(t.net.params.names().map((n) => bytes(t.net.params.get(n))));
}

function emaWeights(t: Trainer): Buffer {
  if (!t.ema) throw new Error('no EMA');
  const ema = t.ema;
  return Buffer.concat(ema.names().map((n) => bytes(ema.get(n))));
}

describe('checkpoint', () => {
  it('round-trips: same outputs and the same next training step', async () => {
    const a = createTrainer(config, hyper);
    await a.trainStep(batch(1));
    await a.trainStep(batch(2));
    const ckpt = join(dir, 'rt');
    await saveCheckpoint(ckpt, a, { epoch: 0, index: 2 }, { dataset: 'x', steps: 10 });

    const model = JSON.parse(await readFile(join(ckpt, 'model.json'), 'utf8'));
    expect(model.weightsManifest[0].paths).toEqual(['weights-00000002.bin']);
    const stored = model.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(stored).toContain('opt.m/intro.weight');
    expect(stored).toContain('ema/intro.weight');
    expect(stored).not.toContain('ema/dc.fc.weight'); // the EMA covers the restoration network only
    expect(model.uirgen.step).toBe(2);
    expect(model.uirgen.data).toEqual({ epoch: 0, index: 2 });

    const described = await readCheckpointInfo(ckpt);
    if (described.kind !== 'pretrain') throw new Error('expected a pretrain checkpoint');
    expect(described.step).toBe(2);
    expect(described.config.classes).toEqual(['a', 'b']);
    expect(described.ema).toEqual({ decay: DEFAULT_HYPER.emaDecay });
    const { trainer: b, info } = await loadTrainer(ckpt);
    expect(info.run).toEqual({ dataset: 'x', steps: 10 });
    expect(b.step).toBe(2);
    expect(b.optimizer.t).toBe(2);
    expect(allWeights(b)).toEqual(allWeights(a));
    expect(emaWeights(b)).toEqual(emaWeights(a));

    const lq = tf.tensor4d(batch(3).lq, [2, 8, 8, 3]);
    const masks = makeMasks(sampleMaskCells(2, 2, 2, 0.5, 'm'), 2, 8, 8, 4, 2);
    const oa = a.net.forward(lq, masks);
    const ob = b.net.forward(lq, masks);
    expect(bytes(ob.logits)).toEqual(bytes(oa.logits));
    expect(bytes(ob.restored as tf.Tensor)).toEqual(bytes(oa.restored as tf.Tensor));

    const ma = await a.trainStep(batch(3));
    const mb = await b.trainStep(batch(3));
    expect(mb).toEqual(ma);
    expect(allWeights(b)).toEqual(allWeights(a));
    expect(emaWeights(b)).toEqual(emaWeights(a));
    a.dispose();
    b.dispose();
  });

  it('keeps only the shard model.json names', async () => {
    const a = createTrainer(config, hyper);
    const ckpt = join(dir, 'gc');
    await saveCheckpoint(ckpt, a, null, null);
    await a.trainStep(batch(1));
    await saveCheckpoint(ckpt, a, null, null);
    expect((await readdir(ckpt)).sort()).toEqual(['model.json', 'weights-00000001.bin']);
    a.dispose();
  });

  it('reports a missing or damaged checkpoint with its path', async () => {
    await expect(readCheckpoint(join(dir, 'none'))).rejects.toThrow(/no checkpoint in .*none/);
    const a = createTrainer(config, hyper);
    const ckpt = join(dir, 'bad');
    await saveCheckpoint(ckpt, a, null, null);
    await writeFile(join(ckpt, 'weights-00000000.bin'), Buffer.alloc(12));
    await expect(readCheckpoint(ckpt)).rejects.toThrow(/holds 12 bytes/);
    await writeFile(join(ckpt, 'model.json'), '{"format":"layers-model"}');
    await expect(readCheckpoint(ckpt)).rejects.toThrow(/is not a uirgen-maskdcpt-checkpoint/);
    await writeFile(join(ckpt, 'model.json'), '{"format":"uirgen-maskdcpt-checkpoint","uirgen":{"version":1}}');
    await expect(readCheckpoint(ckpt)).rejects.toThrow(/version 1 checkpoint; this uirgen reads version 2/);
    a.dispose();
  });
});
