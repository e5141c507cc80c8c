import { describe, expect, it } from 'vitest';
import { motionKernel, motionTrajectory, trajectoryKernel, type TrajectorySettings } from '../../../src/degradations/kernels/motion.js';

const base: TrajectorySettings = {
  length: 20, iters: 2000, expl: 0.005, centripetal: 0.35, probBigShake: 0.1, gaussianShake: 5, initAngle: 30, seed: 'traj',
};

function pathLength(p: Float64Array): number {
  let s = 0;
  for (let i = 2; i < p.length; i += 2) s += Math.hypot(p[i] - p[i - 2], p[i + 1] - p[i - 1]);
  return s;
}

describe('motionTrajectory (Boracchi & Foi, DeblurGAN)', () => {
  it('has iters points from the origin in equal steps totalling the length', () => {
    const p = motionTrajectory(base);
    expect(p.length).toBe(2 * base.iters);
    expect([p[0], p[1]]).toEqual([0, 0]);
    expect(pathLength(p)).toBeCloseTo(base.length, 8);
    const step = base.length / (base.iters - 1);
    expect(Math.hypot(p[2] - p[0], p[3] - p[1])).toBeCloseTo(step, 10);
    // starts near initAngle (the first step already carries one perturbation)
    expect(Math.abs(Math.atan2(p[3], p[2]) - (30 * Math.PI) / 180)).toBeLessThan(0.35);
  });

  it('is deterministic per settings and changes with the seed', () => {
    expect(Buffer.from(motionTrajectory(base).buffer)).toEqual(Buffer.from(motionTrajectory({ ...base }).buffer));
    expect(Buffer.from(motionTrajectory({ ...base, seed: 'other' }).buffer)).not.toEqual(Buffer.from(motionTrajectory(base).buffer));
  });

  it('keeps its shape across lengths (scaled copies)', () => {
    const a = motionTrajectory(base);
    const b = motionTrajectory({ ...base, length: 50 });
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i] * 2.5, 9);
  });

  it('curves and shakes: not a straight line', () => {
    const p = motionTrajectory({ ...base, gaussianShake: 10, expl: 0.01 });
    const n = base.iters - 1;
    const chord = Math.hypot(p[2 * n], p[2 * n + 1]);
    expect(chord).toBeLessThan(0.99 * base.length);
  });

  it('rejects bad settings', () => {
    expect(() => motionTrajectory({ ...base, length: 0 })).toThrow(/length/);
    expect(() => motionTrajectory({ ...base, iters: 1 })).toThrow(/iters/);
    expect(() => motionTrajectory({ ...base, expl: 0 })).toThrow(/expl/);
    expect(() => motionTrajectory({ ...base, centripetal: -1 })).toThrow(/centripetal/);
    expect(() => motionTrajectory({ ...base, seed: '' })).toThrow(/seed/);
  });
});

describe('trajectoryKernel', () => {
  it('sums to 1, is non-negative and centred on its centroid', () => {
    for (const length of [4, 20, 65]) {
      const k = motionKernel({ ...base, length });
      const n = k.size;
      const r = (n - 1) >> 1;
      let s = 0;
      let mx = 0;
      let my = 0;
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          const v = k.data[y * n + x];
          expect(v).toBeGreaterThanOrEqual(0);
          s += v;
          mx += v * (x - r);
          my += v * (y - r);
        }
      }
      expect(s).toBeCloseTo(1, 5);
      expect(Math.abs(mx)).toBeLessThan(1e-4);
      expect(Math.abs(my)).toBeLessThan(1e-4);
    }
  });

  it('rasterizes a horizontal segment onto one row with bilinear ends', () => {
    const pts = new Float64Array([0, 0, 1, 0, 2, 0, 3, 0]);
    const k = trajectoryKernel(pts);
    const n = k.size;
    const r = (n - 1) >> 1;
    // mean x = 1.5: points land at -1.5, -0.5, 0.5, 1.5 around the centre, half in each neighbour
    const row = Array.from(k.data.subarray(r * n, (r + 1) * n));
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(row[r - 2]).toBeCloseTo(0.125, 6);
    expect(row[r]).toBeCloseTo(0.25, 6);
    expect(row[r + 2]).toBeCloseTo(0.125, 6);
    expect(() => trajectoryKernel(new Float64Array(3))).toThrow(/pairs/);
  });

  it('grows with the length', () => {
    const sizes = [4, 12, 30, 65].map((length) => motionKernel({ ...base, length }).size);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeGreaterThan(sizes[i - 1]);
  });
});
