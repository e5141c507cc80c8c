import { describe, expect, it } from 'vitest';
import { defaultWarmup, learningRate, validateSchedule } from '../../src/train/schedule.js';

const o = { lr: 1e-3, minLr: 1e-6, warmup: 10, total: 110 };

describe('learningRate', () => {
  it('rises linearly over the warm-up and reaches lr at its last step', () => {
    expect(learningRate(o, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRate(o, 4)).toBeCloseTo(5e-4, 12);
    expect(learningRate(o, 9)).toBeCloseTo(1e-3, 12);
    for (let s = 1; s < 10; s++) expect(learningRate(o, s)).toBeGreaterThan(learningRate(o, s - 1));
  });

  it('follows a cosine from lr to minLr after the warm-up', () => {
    expect(learningRate(o, 10)).toBeCloseTo(1e-3, 12);
    // halfway through the cosine part: the mean of lr and minLr
    const mid = learningRate({ ...o, total: 111 }, 60);
    expect(mid).toBeCloseTo((1e-3 + 1e-6) / 2, 12);
    expect(learningRate(o, 109)).toBeCloseTo(1e-6, 12);
    expect(learningRate(o, 500)).toBeCloseTo(1e-6, 12);
    for (let s = 11; s < 110; s++) expect(learningRate(o, s)).toBeLessThan(learningRate(o, s - 1));
  });

  it('works without warm-up and for one-step runs', () => {
    expect(learningRate({ ...o, warmup: 0 }, 0)).toBe(1e-3);
    expect(learningRate({ lr: 2e-3, minLr: 0, warmup: 0, total: 1 }, 0)).toBe(2e-3);
  });

  it('rejects bad arguments naming them', () => {
    expect(() => validateSchedule({ ...o, lr: 0 })).toThrow(/lr/);
    expect(() => validateSchedule({ ...o, minLr: 1 })).toThrow(/minLr/);
    expect(() => validateSchedule({ ...o, warmup: 200 })).toThrow(/warmup/);
    expect(() => validateSchedule({ ...o, total: 0 })).toThrow(/total/);
    expect(() => learningRate(o, -1)).toThrow(/step/);
    expect(validateSchedule(o)).toBe(o);
  });

  it('defaults to a 5% warm-up capped at 1000', () => {
    expect(defaultWarmup(100)).toBe(5);
    expect(defaultWarmup(1_000_000)).toBe(1000);
    expect(defaultWarmup(10)).toBe(0);
  });
});
