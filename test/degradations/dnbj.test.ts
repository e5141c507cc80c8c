import { describe, expect, it } from 'vitest';
import { detailRetention } from '../../src/core/metrics.js';
import { createRng, deriveSeed } from '../../src/core/random.js';
import { downsampleNoiseBlurJpeg as dnbj, type DnbjParams, type DnbjStage } from '../../src/degradations/dnbj.js';
import type { RealEsrganKernelParams } from '../../src/degradations/kernels/realesrgan.js';
import { sampleCrops } from '../support/samples.js';

/**
 * Real-ESRGAN's options, copied here by hand from options/train_realesrnet_x4plus.yml (resize, noise, JPEG) and
 * the dataset options of the same file (kernels), so the test holds the code to the reference, not to itself.
 */
const YML = {
  resize_prob: [0.2, 0.7, 0.1],
  resize_range: [0.15, 1.5],
  gaussian_noise_prob: 0.5,
  noise_range: [1, 30],
  poisson_scale_range: [0.05, 3],
  gray_noise_prob: 0.4,
  jpeg_range: [30, 95],
  second_blur_prob: 0.8,
  resize_prob2: [0.3, 0.4, 0.3],
  resize_range2: [0.3, 1.2],
  noise_range2: [1, 25],
  poisson_scale_range2: [0.05, 2.5],
  jpeg_range2: [30, 95],
  kernel_list: ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso'],
  kernel_prob: [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
  sinc_prob: 0.1,
  blur_sigma: [0.2, 3],
  blur_sigma2: [0.2, 1.5],
  betag_range: [0.5, 4],
  betap_range: [1, 2],
  final_sinc_prob: 0.8,
} as const;

const N = 2000;
const within = (v: number, [lo, hi]: readonly number[]): boolean => v >= lo && v <= hi;
const stagesOf = (p: DnbjParams, op: DnbjStage['op']): DnbjStage[] => p.stages.filter((s) => s.op === op);

function checkKernel(k: RealEsrganKernelParams, sigma: readonly number[]): void {
  expect([7, 9, 11, 13, 15, 17, 19, 21]).toContain(k.size);
  expect(k.padTo).toBe(21);
  if (k.kind === 'sinc') {
    expect(within(k.omega, [Math.PI / (k.size < 13 ? 3 : 5), Math.PI])).toBe(true);
    return;
  }
  expect(YML.kernel_list).toContain(k.kind);
  expect(within(k.sigmaX, sigma)).toBe(true);
  if (k.kind.includes('aniso')) {
    expect(within(k.sigmaY, sigma)).toBe(true);
    expect(within(k.theta, [-Math.PI, Math.PI])).toBe(true);
  }
  if (k.kind.startsWith('generalized')) expect(within(k.beta, YML.betag_range)).toBe(true);
  if (k.kind.startsWith('plateau')) expect(within(k.beta, YML.betap_range)).toBe(true);
}

describe('DNBJ (Real-ESRGAN high-order degradation)', () => {
  it('has the overall scale as its levels, one variant, 1.25 to 4', () => {
    expect(dnbj.levels.map((l) => l.id)).toEqual(['scale:1.25', 'scale:1.5', 'scale:1.75', 'scale:2', 'scale:2.5', 'scale:3', 'scale:3.5', 'scale:4']);
  });

  it("draws every parameter inside Real-ESRGAN's ranges, with its odds, over many seeds", () => {
    const count = { up1: 0, down1: 0, keep1: 0, up2: 0, down2: 0, keep2: 0, gauss: 0, gray: 0, blur2: 0, sinc: 0, sincFirst: 0, sinc1: 0, iso1: 0 };
    const info = { width: 256, height: 192 };
    for (let i = 0; i < N; i++) {
      const level = i % dnbj.levels.length;
      const p = dnbj.sample(level, createRng(deriveSeed('dnbj-ranges', i)), info) as DnbjParams;
      const scale = p.scale;
      const blurs = stagesOf(p, 'blur') as Extract<DnbjStage, { op: 'blur' }>[];
      expect(p.stages[0].op).toBe('blur');
      checkKernel(blurs[0].kernel, YML.blur_sigma);
      if (blurs[0].kernel.kind === 'sinc') count.sinc1++;
      if (blurs[0].kernel.kind === 'iso') count.iso1++;
      if (blurs.length === 2) {
        count.blur2++;
        checkKernel(blurs[1].kernel, YML.blur_sigma2);
      }
      const [r1, r2, back] = stagesOf(p, 'resize') as Extract<DnbjStage, { op: 'resize' }>[];
      for (const [r, range, counts] of [[r1, YML.resize_range, 1], [r2, YML.resize_range2, 2]] as const) {
        expect(['area', 'bilinear', 'bicubic']).toContain(r.mode);
        if (r.updown === 'up') expect(within(r.factor, [1, range[1]])).toBe(true);
        else if (r.updown === 'down') expect(within(r.factor, [range[0], 1])).toBe(true);
        else expect(r.factor).toBe(1);
        count[`${r.updown}${counts}` as keyof typeof count]++;
      }
      expect([r1.width, r1.height]).toEqual([Math.floor(256 * r1.factor), Math.floor(192 * r1.factor)]);
      expect([r2.width, r2.height]).toEqual([Math.trunc((256 / scale) * r2.factor), Math.trunc((192 / scale) * r2.factor)]);
      expect([back.width, back.height]).toEqual([Math.floor(256 / scale), Math.floor(192 / scale)]);
      const noises = stagesOf(p, 'noise') as Extract<DnbjStage, { op: 'noise' }>[];
      expect(noises).toHaveLength(2);
      noises.forEach((n, k) => {
        if (n.kind === 'gaussian') {
          count.gauss++;
          expect(within(n.sigma, k === 0 ? YML.noise_range : YML.noise_range2)).toBe(true);
        } else {
          expect(within(n.scale, k === 0 ? YML.poisson_scale_range : YML.poisson_scale_range2)).toBe(true);
        }
        if (n.gray) count.gray++;
      });
      const jpegs = stagesOf(p, 'jpeg') as Extract<DnbjStage, { op: 'jpeg' }>[];
      expect(jpegs).toHaveLength(2);
      for (const j of jpegs) {
        expect(within(j.draw, YML.jpeg_range)).toBe(true);
        expect(j.quality).toBe(Math.round(j.draw));
      }
      const [final] = stagesOf(p, 'sinc') as Extract<DnbjStage, { op: 'sinc' }>[];
      if (final.kernel) {
        count.sinc++;
        expect(final.kernel.kind).toBe('sinc');
        expect(within(final.kernel.omega, [Math.PI / 3, Math.PI])).toBe(true);
      }
      // the last three stages: [resize back + sinc] then JPEG, or JPEG then [resize back + sinc]
      const tail = p.stages.slice(-3).map((s) => s.op).join(',');
      expect(['resize,sinc,jpeg', 'jpeg,resize,sinc']).toContain(tail);
      if (tail === 'resize,sinc,jpeg') count.sincFirst++;
    }
    const near = (k: number, prob: number, of = N) => expect(Math.abs(k / of - prob), `${k}/${of} vs ${prob}`).toBeLessThan(0.04);
    near(count.up1, YML.resize_prob[0]);
    near(count.down1, YML.resize_prob[1]);
    near(count.keep1, YML.resize_prob[2]);
    near(count.up2, YML.resize_prob2[0]);
    near(count.down2, YML.resize_prob2[1]);
    near(count.keep2, YML.resize_prob2[2]);
    near(count.gauss, YML.gaussian_noise_prob, 2 * N);
    near(count.gray, YML.gray_noise_prob, 2 * N);
    near(count.blur2, YML.second_blur_prob);
    near(count.sinc, YML.final_sinc_prob);
    near(count.sincFirst, 0.5);
    near(count.sinc1, YML.sinc_prob);
    near(count.iso1, (1 - YML.sinc_prob) * YML.kernel_prob[0]);
  });

  it('one seed makes the same choices at every scale: only the sizes change', () => {
    const info = { width: 128, height: 128 };
    const strip = (p: DnbjParams) => p.stages.map((s) => (s.op === 'resize' ? { ...s, width: 0, height: 0, factor: s.updown === 'final' ? 0 : s.factor } : s));
    const a = dnbj.sample(0, createRng('same'), info) as DnbjParams;
    const b = dnbj.sample(7, createRng('same'), info) as DnbjParams;
    expect(strip(b)).toEqual(strip(a));
    const finalSize = (p: DnbjParams) => p.stages.find((s) => s.op === 'resize' && s.updown === 'final');
    expect(finalSize(a)).toMatchObject({ width: 102, height: 102 });
    expect(finalSize(b)).toMatchObject({ width: 32, height: 32 });
  });

  it('keeps the input size, also for small and odd sizes', async () => {
    const [crop] = await sampleCrops(37);
    for (let level = 0; level < dnbj.levels.length; level++) {
      const out = await dnbj.apply(crop, dnbj.sample(level, createRng(deriveSeed('dnbj-size', level)), crop));
      expect([out.width, out.height]).toEqual([37, 37]);
      expect(out.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });

  it('names detail retention as its severity measure, and it falls as the scale rises on every photo (mean over seeds)', async () => {
    expect(dnbj.severity?.measure).toBe('detail-retention');
    const crops = await sampleCrops(96);
    for (const [i, crop] of crops.entries()) {
      const means: number[] = [];
      for (const level of [0, 3, 5, 7]) {
        let sum = 0;
        for (let s = 0; s < 4; s++) sum += detailRetention(await dnbj.apply(crop, dnbj.sample(level, createRng(deriveSeed('dnbj-sev', i, s)), crop)), crop);
        means.push(sum / 4);
      }
      for (let k = 1; k < means.length; k++) expect(means[k], `photo ${i}: ${means.map((m) => m.toFixed(3)).join(' > ')}`).toBeLessThan(means[k - 1]);
    }
  });
});
