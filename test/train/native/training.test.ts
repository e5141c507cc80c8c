import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { randomBatch, trainStep } from '../../../src/train/bench.js';
import { AdamW, createTrainer, DEFAULT_HYPER, type TrainHyper } from '../../../src/train/maskdcpt.js';
import { buildNet } from '../../../src/train/models/maskdcpt-net.js';
import { createReferenceNet } from '../../../src/train/nets/reference.js';
import { defaultSettings, pretrain, readLog, type RunSettings } from '../../../src/train/pretrain.js';
import { runNative } from '../../support/native.js';
import { expectSameLossAndGrads, referenceLossAndGrads } from '../../support/reference.js';
import { syntheticBatch, syntheticSource, tinyNetConfig } from '../models/synthetic.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uirgen-native-'));
  await initBackend('cpu');
  if (runNative) await initBackend('native');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hyper = (over: Partial<TrainHyper> = {}): TrainHyper => ({
  ...DEFAULT_HYPER,
  schedule: { lr: 1e-3, minLr: 0, warmup: 0, total: 100 },
  seed: 'mask',
  ...over,
});

describe.runIf(runNative)('training on the native backend', () => {
  it('the reference net has the loss and gradients it has on cpu', async () => {
    expectSameLossAndGrads(await referenceLossAndGrads('cpu', 4), await referenceLossAndGrads('wasm', 4));
  });

  it('frees what it allocates: tensors and wasm heap blocks stay level over training steps', async () => {
    await tf.setBackend('wasm');
    const net = createReferenceNet({ seed: 1 });
    const data = randomBatch(4, 16, 19, 2);
    const optimizer = tf.train.adam(1e-3);
    trainStep(net, optimizer, data);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = { tensors: tf.memory().numTensors, blocks: backend.numDataIds() };
    for (let i = 0; i < 5; i++) trainStep(net, optimizer, data);
    expect({ tensors: tf.memory().numTensors, blocks: backend.numDataIds() }).toEqual(before);
    optimizer.dispose();
    net.dispose();
    tf.dispose([data.x, data.labels]);
  });

  it('a MaskDCPT step matches cpu, and two trainers with the same seeds take byte-identical steps', async () => {
    const config = tinyNetConfig({ classes: ['blur', 'noise', 'rain'] });
    await tf.setBackend('cpu');
    const ref = createTrainer(config, hyper());
    const want = await ref.trainStep(syntheticBatch('n', 0, 2, 16));
    ref.dispose();
    await tf.setBackend('wasm');
    const a = createTrainer(config, hyper());
    const b = createTrainer(config, hyper());
    const got = await a.trainStep(syntheticBatch('n', 0, 2, 16));
    expect(got.lossRec).toBeCloseTo(want.lossRec, 4);
    expect(got.lossCls).toBeCloseTo(want.lossCls, 4);
    expect(await b.trainStep(syntheticBatch('n', 0, 2, 16))).toEqual(got);
    for (let i = 1; i < 3; i++) expect(await b.trainStep(syntheticBatch('n', i, 2, 16))).toEqual(await a.trainStep(syntheticBatch('n', i, 2, 16)));
    const w = (t: typeof a) => Buffer.from(t.net.params.get('dc.fc.weight').dataSync().buffer);
    expect(w(a)).toEqual(w(b));
    a.dispose();
    b.dispose();
  });

  it('the fused AdamW kernel gives the bits of the same update as tfjs ops', async () => {
    await tf.setBackend('wasm');
    const config = tinyNetConfig({ classes: ['blur', 'noise'] });
    const nets = [buildNet(config), buildNet(config)];
    const optimizers = [new AdamW(nets[0].params, DEFAULT_HYPER, true), new AdamW(nets[1].params, DEFAULT_HYPER, false)];
    for (let step = 0; step < 3; step++) {
      nets.forEach((net, i) => {
        const grads = new Map([...net.params.entries()].map(([name, p]) => [name, tf.tidy(() => tf.sin(tf.add(tf.mul(p, 3), step)))]));
        optimizers[i].apply(grads, 1e-2);
        grads.forEach((g) => g.dispose());
      });
    }
    for (const name of nets[0].params.names()) {
      const bits = (i: number) => Buffer.from(nets[i].params.get(name).dataSync().buffer);
      expect(bits(0), name).toEqual(bits(1));
    }
    const moments = (i: number) => [...optimizers[i].stateTensors().values()].map((t) => Buffer.from(t.dataSync().buffer));
    expect(moments(0)).toEqual(moments(1));
    optimizers.forEach((o) => o.dispose());
    nets.forEach((n) => n.dispose());
  });

  it('pretrain: 4 steps straight equal 2 steps, an interruption and --resume', async () => {
    await tf.setBackend('wasm');
    const settings: RunSettings = defaultSettings({
      steps: 4,
      batch: 2,
      patch: 16,
      seed: 'native-resume',
      lr: 5e-3,
      warmup: 1,
      net: { width: 8, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], maskWindow: 4, clsBlocks: 1, clsExpand: 1 },
    });
    const openSource = async (s: RunSettings, position: unknown) =>
      syntheticSource('data', s.batch, s.patch, (position as { index: number } | null)?.index ?? 0);
    const straight = join(dir, 'straight');
    await pretrain({ out: straight, settings, openSource, progress: 'none', checkpointEvery: 2 });
    const split = join(dir, 'split');
    const abort = new AbortController();
    await pretrain({ out: split, settings, openSource, progress: 'none', checkpointEvery: 100, signal: abort.signal, onRecord: (r) => r.step === 2 && abort.abort() });
    const resumed = await pretrain({ out: split, settings, resume: true, openSource, progress: 'none' });
    expect(resumed.startedAt).toBe(2);
    const strip = (rs: Awaited<ReturnType<typeof readLog>>) => rs.map(({ images_per_s: _ips, ...rest }) => rest);
    expect(strip(await readLog(join(split, 'log.jsonl')))).toEqual(strip(await readLog(join(straight, 'log.jsonl'))));
    const weights = async (d: string) => readFile(join(d, (await readdir(d)).find((f) => f.endsWith('.bin'))!));
    expect(await weights(split)).toEqual(await weights(straight));
  });
});
