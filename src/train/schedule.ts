/**
 * Learning-rate schedule: linear warm-up from lr / warmup to lr over the first `warmup` steps, then
 * cosine annealing to `minLr` at the last step (BasicSR's CosineAnnealingRestartLR with one period,
 * preceded by the usual linear warm-up). Steps are 0-based: step 0 is the first update.
 */
export interface ScheduleOptions {
  lr: number;
  minLr: number;
  warmup: number;
  total: number;
}

export function validateSchedule(o: ScheduleOptions): ScheduleOptions {
  if (!(Number.isFinite(o.lr) && o.lr > 0)) throw new RangeError(`lr must be a positive number, got ${o.lr}`);
  if (!(Number.isFinite(o.minLr) && o.minLr >= 0 && o.minLr <= o.lr)) throw new RangeError(`minLr must be in [0, lr=${o.lr}], got ${o.minLr}`);
  if (!Number.isInteger(o.total) || o.total < 1) throw new RangeError(`total steps must be an integer >= 1, got ${o.total}`);
  if (!Number.isInteger(o.warmup) || o.warmup < 0 || o.warmup > o.total) {
    throw new RangeError(`warmup must be an integer in 0..${o.total}, got ${o.warmup}`);
  }
  return o;
}

/** The learning rate for 0-based `step`; steps at or past `total` keep minLr. */
export function learningRate(o: ScheduleOptions, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be an integer >= 0, got ${step}`);
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const span = o.total - o.warmup;
  if (span <= 1) return step < o.total ? o.lr : o.minLr;
  const t = Math.min(1, (step - o.warmup) / (span - 1));
  return o.minLr + 0.5 * (o.lr - o.minLr) * (1 + Math.cos(Math.PI * t));
}

/** The default warm-up: 5% of the run, at most 1000 steps. */
export function defaultWarmup(total: number): number {
  return Math.min(1000, Math.floor(total * 0.05));
}
