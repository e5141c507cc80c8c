import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, createMaskDcptBenchStep, createTrainer, DEFAULT_HYPER, type TrainHyper } from '../../src/train/maskdcpt.js';
import { ParamStore } from '../../src/train/models/layers.js';
import type { NetConfig } from '../../src/train/models/maskdcpt-net.js';
import { syntheticBatch, tinyNetConfig } from './models/synthetic.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config = (over: Partial<NetConfig> = {}): NetConfig => tinyNetConfig({ classes: ['blur', 'noise'], ...over });
const hyper = (over: Partial<TrainHyper> = {}): TrainHyper => ({
  ...DEFAULT_HYPER,
  schedule: { lr: 1e-3, minLr: 0, warmup: 0, total: 100 },
  seed: 'mask',
  ...over,
});

describe('AdamW', () => {
  it('matches torch.optim.AdamW step by step (decoupled decay on kernels only)', () => {
    const ps = new ParamStore('adam');
    const w = ps.add('w', [2], { kind: 'const', value: 0.5 }, true);
    const b = ps.add('b', [1], { kind: 'const', value: -0.25 }, false);
    const h = { weightDecay: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8 };
    const opt = new AdamW(ps, h);
    const grads = [
      [0.3, -1],
      [0.1, 2],
      [-0.2, 0.5],
    ];
    const lr = 0.01;
    // reference in float64
    let pw = [0.5, 0.5];
    let pb = -0.25;
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, i) => {
      const t = i + 1;
      const gs = [g[0], g[1], g[0] + g[1]];
      opt.apply(new Map([['w', tf.tensor1d(g.slice(0, 2))], ['b', tf.tensor1d([gs[2]])]]), lr);
      const next = gs.map((gk, k) => {
        m[k] = 0.9 * m[k] + 0.1 * gk;
        v[k] = 0.99 * v[k] + 0.01 * gk * gk;
        return m[k] / (1 - 0.9 ** t) / (Math.sqrt(v[k] / (1 - 0.99 ** t)) + 1e-8);
      });
      pw = pw.map((p, k) => p * (1 - lr * 0.1) - lr * next[k]);
      pb = pb - lr * next[2];
    });
    const got = w.dataSync();
    expect(got[0]).toBeCloseTo(pw[0], 6);
    expect(got[1]).toBeCloseTo(pw[1], 6);
    expect(b.dataSync()[0]).toBeCloseTo(pb, 6);
    expect(opt.t).toBe(3);
    expect([...opt.stateTensors().keys()].sort()).toEqual(['opt.m/b', 'opt.m/w', 'opt.v/b', 'opt.v/w']);
    opt.dispose();
    ps.dispose();
  });
});

describe('trainStep', () => {
  it('is deterministic: two trainers with the same seeds take byte-identical steps', async () => {
    const a = createTrainer(config(), hyper());
    const b = createTrainer(config(), hyper());
    for (let i = 0; i < 2; i++) {
      const batch = syntheticBatch('d', i, 2, 8);
      expect(await b.trainStep(batch)).toEqual(await a.trainStep(batch));
    }
    const w = (t: typeof a) => Buffer.from(t.net.params.get('dc.fc.weight').dataSync().buffer);
    expect(w(a)).toEqual(w(b));
    // A different mask seed changes the step.
    const c = createTrainer(config(), hyper({ seed: 'other' }));
    const m = await c.trainStep(syntheticBatch('d', 0, 2, 8));
    const a2 = createTrainer(config(), hyper());
    expect((await a2.trainStep(syntheticBatch('d', 0, 2, 8))).lossRec).not.toBe(m.lossRec);
    [a, b, c, a2].forEach((t) => t.dispose());
  });

  it('dcpt trains the classifier alone (no reconstruction loss); memory does not grow', async () => {
    const t = createTrainer(config({ method: 'dcpt' }), hyper());
    await t.trainStep(syntheticBatch('d', 0, 2, 8));
    const before = tf.memory().numTensors;
    const m = await t.trainStep(syntheticBatch('d', 1, 2, 8));
    expect(tf.memory().numTensors).toBe(before);
    expect(m.lossRec).toBe(0);
    expect(m.loss).toBe(m.lossCls);
    expect(m.step).toBe(1);
    t.dispose();
  });

  it('rejects batches that do not fit the network', async () => {
    const t = createTrainer(config(), hyper());
    const good = syntheticBatch('d', 0, 2, 8);
    await expect(t.trainStep({ ...good, patch: 6 })).rejects.toThrow(/patch must be a positive multiple of 4/);
    await expect(t.trainStep({ ...good, labels: Int32Array.from([0, 2]) })).rejects.toThrow(/label 2/);
    await expect(t.trainStep({ ...good, lq: good.lq.subarray(1) })).rejects.toThrow(/lq and gt/);
    t.dispose();
  });

  it('dcpt --dcpt-l1: the clean image through the same network adds weight * L1(net(gt), gt)', async () => {
    const plain = createTrainer(config({ method: 'dcpt' }), hyper());
    const l1 = createTrainer(config({ method: 'dcpt' }), hyper({ dcptL1: 2 }));
    const batch = syntheticBatch('d', 0, 2, 8);
    const a = await plain.trainStep(batch);
    const b = await l1.trainStep(batch);
    expect(b.lossCls).toBeCloseTo(a.lossCls, 6);
    expect(b.lossRec).toBeGreaterThan(0);
    expect(b.loss).toBeCloseTo(b.lossRec + b.lossCls, 5);
    [plain, l1].forEach((t) => t.dispose());
  });

  it('keeps the EMA of the restoration weights after each step, and uses the chosen classification loss', async () => {
    const t = createTrainer(config(), hyper({ emaDecay: 0.5 }));
    const before = t.net.params.get('intro.weight').dataSync().slice();
    await t.trainStep(syntheticBatch('d', 0, 2, 8));
    const after = t.net.params.get('intro.weight').dataSync();
    const ema = t.ema?.get('intro.weight').dataSync() as Float32Array;
    for (let i = 0; i < 5; i++) expect(ema[i]).toBeCloseTo(0.5 * before[i] + 0.5 * after[i], 6);
    expect(t.ema?.names()).toEqual(t.net.restorationNames);
    const off = createTrainer(config(), hyper({ emaDecay: 0 }));
    expect(off.ema).toBeNull();
    const ce = createTrainer(config(), hyper({ cls: { kind: 'ce', gamma: 2 } }));
    const focal = createTrainer(config(), hyper());
    const batch = syntheticBatch('d', 1, 2, 8);
    expect((await ce.trainStep(batch)).lossCls).toBeGreaterThan((await focal.trainStep(batch)).lossCls);
    [t, off, ce, focal].forEach((x) => x.dispose());
  });

  it('the bench step runs a preset network', async () => {
    const bench = createMaskDcptBenchStep({ net: 'nafnet-micro', batch: 1, patch: 16, classes: 3 });
    expect(bench.images).toBe(1);
    expect(bench.parameters).toBeGreaterThan(10_000);
    const m = await bench.step();
    expect(Number.isFinite(m.loss)).toBe(true);
    bench.dispose();
  });
});
