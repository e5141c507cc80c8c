import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ema } from '../../src/train/ema.js';
import { ParamStore } from '../../src/train/models/layers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('EMA of weights', () => {
  it('starts as a copy, then ema <- decay * ema + (1 - decay) * param after each update (BasicSR model_ema)', () => {
    const ps = new ParamStore('ema');
    const w = ps.add('w', [2], { kind: 'const', value: 1 });
    ps.add('other', [1], { kind: 'const', value: 5 });
    const ema = new Ema(ps, 0.9, ['w']);
    expect(ema.names()).toEqual(['w']);
    expect([...ema.get('w').dataSync()]).toEqual([1, 1]);
    w.assign(tf.tensor1d([2, -1]));
    ema.update();
    w.assign(tf.tensor1d([4, 0]));
    ema.update();
    const want = [0.9 * (0.9 * 1 + 0.1 * 2) + 0.1 * 4, 0.9 * (0.9 * 1 + 0.1 * -1) + 0.1 * 0];
    const got = ema.get('w').dataSync();
    expect(got[0]).toBeCloseTo(want[0], 6);
    expect(got[1]).toBeCloseTo(want[1], 6);
    expect([...ema.stateTensors().keys()]).toEqual(['ema/w']);
    expect(() => new Ema(ps, 1, ['w'])).toThrow(/decay/);
    ema.dispose();
    ps.dispose();
  });
});
