import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRestorationWeights, saveCheckpoint } from '../../src/train/checkpoint.js';
import { createFinetuner, type FinetuneHyper } from '../../src/train/finetune.js';
import { defaultFinetuneSettings, finetune, type FinetuneSettings } from '../../src/train/finetune-run.js';
import { createTrainer, DEFAULT_HYPER } from '../../src/train/maskdcpt.js';
import type { NafnetConfig } from '../../src/train/models/nafnet.js';
import { tempDir } from '../support/files.js';
import { syntheticBatch, syntheticSource, tinyNetConfig } from './models/synthetic.js';

const dir = tempDir('uirgen-finetune-');
const NET: NafnetConfig = { width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1] };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const hyper = (over: Partial<FinetuneHyper> = {}): FinetuneHyper => ({
  schedule: { lr: 5e-3, minLr: 5e-3, warmup: 0, total: 1000 },
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  emaDecay: 0.9,
  spn: null,
  ...over,
});

const bytes = (t: tf.Tensor): Buffer => Buffer.from((t.dataSync() as Float32Array).slice().buffer);
const weightsOf = (params: { entries(): Array<[string, tf.Tensor]> }): Buffer => Buffer.concat(params.entries().map(([, t]) => bytes(t)));

let pretrained: Promise<string> | null = null;
/** A pre-training run long enough to have learnt to reconstruct the synthetic batches. */
function pretrainedCheckpoint(): Promise<string> {
  pretrained ??= (async () => {
    const trainer = createTrainer(tinyNetConfig({ initSeed: 'ft' }), {
      ...DEFAULT_HYPER,
      schedule: { lr: 1e-2, minLr: 1e-3, warmup: 2, total: 40 },
      seed: 'pt',
    });
    for (let i = 0; i < 40; i++) await trainer.trainStep(syntheticBatch('pt', i, 4, 8));
    const path = join(dir, 'pretrained');
    await saveCheckpoint(path, trainer, null, null);
    trainer.dispose();
    return path;
  })();
  return pretrained;
}

describe('fine-tuning', () => {
  it('--init starts from every pre-trained restoration weight, and its step-0 loss is lower than from scratch', async () => {
    const path = await pretrainedCheckpoint();
    const init = await loadRestorationWeights(path, 'live');
    const fromInit = createFinetuner(init.config, hyper(), init.tensors);
    const scratch = createFinetuner(init.config, hyper(), null, 'scratch');
    try {
      expect(weightsOf(fromInit.net.params)).toEqual(Buffer.concat(fromInit.net.params.names().map((n) => bytes(init.tensors.get(n)!))));
      const batch = syntheticBatch('ft-data', 0, 4, 8);
      const [a, b] = [await fromInit.trainStep(batch), await scratch.trainStep(batch)];
      expect(a.step).toBe(0);
      expect(a.l1).toBeLessThan(b.l1);
    } finally {
      fromInit.dispose();
      scratch.dispose();
      tf.dispose([...init.tensors.values()]);
    }
  });

  it('SPN: the negative is a copy of the start, refreshed every N steps as decay * neg + (1 - decay) * current', async () => {
    const f = createFinetuner(NET, hyper({ spn: { weight: 0.5, every: 2, decay: 0.25 } }), null, 'spn');
    try {
      const start = weightsOf(f.net.params);
      expect(weightsOf(f.negative!.params)).toEqual(start);
      const m1 = await f.trainStep(syntheticBatch('s', 0, 2, 8));
      expect(m1.refreshed).toBe(false);
      expect(weightsOf(f.negative!.params)).toEqual(start);
      const before = new Map(f.negative!.params.entries().map(([n, t]) => [n, Float32Array.from(t.dataSync() as Float32Array)]));
      const m2 = await f.trainStep(syntheticBatch('s', 1, 2, 8));
      expect(m2.refreshed).toBe(true);
      for (const [name, neg] of f.negative!.params.entries()) {
        const cur = f.net.params.get(name).dataSync() as Float32Array;
        const old = before.get(name)!;
        const got = neg.dataSync() as Float32Array;
        for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(0.25 * old[i] + 0.75 * cur[i], 6);
      }
      expect(m2.spn).toBeGreaterThan(0);
      expect(m2.loss).toBeCloseTo(m2.l1 - 0.5 * m2.spn!, 6);
    } finally {
      f.dispose();
    }
  });

  it('SPN changes the gradient: the same weights and batch give other gradients with the negative term, the same with weight 0', async () => {
    const a = createFinetuner(NET, hyper({ spn: { weight: 0.5, every: 1, decay: 0.5 } }), null, 'grad');
    try {
      for (let i = 0; i < 3; i++) await a.trainStep(syntheticBatch('g', i, 2, 8));
      const weights = new Map(a.net.params.entries());
      const plain = createFinetuner(NET, hyper(), weights);
      const zero = createFinetuner(NET, hyper({ spn: { weight: 0, every: 1, decay: 0.5 } }), weights);
      zero.negative!.params.assign(new Map(a.negative!.params.entries()));
      try {
        const batch = syntheticBatch('g', 9, 2, 8);
        const [ga, gp, gz] = [a.gradients(batch), plain.gradients(batch), zero.gradients(batch)];
        const name = 'ending.weight';
        expect(ga.has(name)).toBe(true);
        expect(bytes(gz.get(name)!)).toEqual(bytes(gp.get(name)!));
        expect(bytes(ga.get(name)!)).not.toEqual(bytes(gp.get(name)!));
        tf.dispose([...ga.values(), ...gp.values(), ...gz.values()]);
      } finally {
        plain.dispose();
        zero.dispose();
      }
    } finally {
      a.dispose();
    }
  });

  it('resume after an interruption equals an uninterrupted run: same weights, EMA, negative and log', async () => {
    const settings = (over: Partial<FinetuneSettings> = {}): FinetuneSettings =>
      defaultFinetuneSettings({ steps: 6, batch: 2, patch: 8, seed: 'r', net: NET, warmup: 1, spn: { weight: 0.1, every: 2, decay: 0.5 }, ...over });
    const openSource = async (_s: FinetuneSettings, position: unknown) => syntheticSource('fd', 2, 8, (position as { index: number } | null)?.index ?? 0);
    const whole = join(dir, 'whole');
    await finetune({ out: whole, settings: settings(), openSource, checkpointEvery: 2 });
    const split = join(dir, 'split');
    const stop = new AbortController();
    const first = await finetune({ out: split, settings: settings(), openSource, checkpointEvery: 2, signal: stop.signal, onRecord: (r) => r.step === 3 && stop.abort() });
    expect(first).toMatchObject({ steps: 3, interrupted: true });
    const second = await finetune({ out: split, settings: settings({ steps: 99 }), resume: true, openSource, checkpointEvery: 2 });
    expect(second).toMatchObject({ steps: 6, startedAt: 3, interrupted: false });
    const [a, b] = [await readFile(join(whole, 'weights-00000006.bin')), await readFile(join(split, 'weights-00000006.bin'))];
    expect(b.equals(a)).toBe(true);
    expect(await readFile(join(split, 'log.jsonl'), 'utf8').then((t) => t.split('\n').map((l) => l && JSON.parse(l).loss))).toEqual(
      await readFile(join(whole, 'log.jsonl'), 'utf8').then((t) => t.split('\n').map((l) => l && JSON.parse(l).loss)),
    );
    // The result is a checkpoint that eval, restore and export read: restoration weights and their EMA.
    const w = await loadRestorationWeights(split);
    expect(w.which).toBe('ema');
    tf.dispose([...w.tensors.values()]);
  });
});
