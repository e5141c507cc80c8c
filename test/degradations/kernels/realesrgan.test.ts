import { describe, expect, it } from 'vitest';
import { gaussianTaps } from '../../../src/core/conv.js';
import { createRng } from '../../../src/core/random.js';
import {
  REAL_ESRGAN_FIRST_ORDER,
  REAL_ESRGAN_SECOND_ORDER,
  REAL_ESRGAN_SIZES,
  besselJ1,
  bivariateKernel,
  kernelParams,
  realEsrganKernel,
  sampleFinalSinc,
  sampleRealEsrganKernel,
  sincKernel,
} from '../../../src/degradations/kernels/realesrgan.js';

function sum(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/** Power series of J1, exact enough in double for |x| <= 12. */
function j1Series(x: number): number {
  let term = x / 2;
  let s = term;
  for (let m = 1; m < 60; m++) {
    term *= -(x * x) / (4 * m * (m + 1));
    s += term;
  }
  return s;
}

describe('besselJ1', () => {
  it('matches tabulated values and the power series', () => {
    expect(besselJ1(0)).toBeCloseTo(0, 15);
    expect(besselJ1(1)).toBeCloseTo(0.44005058574493355, 13);
    expect(besselJ1(10)).toBeCloseTo(0.04347274616886144, 13);
    expect(besselJ1(-2)).toBeCloseTo(-j1Series(2), 13);
    expect(besselJ1(3.8317059702075125)).toBeCloseTo(0, 12); // first zero
    for (let x = 0.25; x <= 12; x += 0.75) expect(besselJ1(x)).toBeCloseTo(j1Series(x), 11);
    expect(() => besselJ1(NaN)).toThrow(/finite/);
  });
});

describe('bivariate kernels (BasicSR)', () => {
  it('isotropic Gaussian is the outer product of 1-D Gaussian taps', () => {
    const k = bivariateKernel(11, 1.7, 1.7, 0);
    const t = gaussianTaps(1.7, 11);
    for (let r = 0; r < 11; r++) for (let c = 0; c < 11; c++) expect(k.data[r * 11 + c]).toBeCloseTo(t[r] * t[c], 7);
  });

  it('rotating by pi/2 transposes an anisotropic kernel; x runs along columns', () => {
    const a = bivariateKernel(9, 2.5, 0.6, 0);
    const b = bivariateKernel(9, 2.5, 0.6, Math.PI / 2);
    for (let r = 0; r < 9; r++) for (let c = 0; c < 9; c++) expect(b.data[r * 9 + c]).toBeCloseTo(a.data[c * 9 + r], 7);
    // theta = 0, sigmaX > sigmaY: wide along x, i.e. along a row
    expect(a.data[4 * 9 + 8]).toBeGreaterThan(a.data[8 * 9 + 4]);
  });

  it('generalized with beta 1 is the Gaussian; plateau follows 1 / (1 + q^beta)', () => {
    const g = bivariateKernel(7, 1.2, 0.8, 0.4);
    const gg = bivariateKernel(7, 1.2, 0.8, 0.4, 'generalized', 1);
    for (let i = 0; i < 49; i++) expect(gg.data[i]).toBeCloseTo(g.data[i], 7);
    const p = bivariateKernel(7, 1.5, 1.5, 0, 'plateau', 2);
    // q = (x^2 + y^2) / sigma^2; ratio of cell (1, 0) to the centre
    const q = 1 / 2.25;
    expect(p.data[3 * 7 + 4] / p.data[3 * 7 + 3]).toBeCloseTo(1 / (1 + q * q), 6);
    expect(sum(p.data)).toBeCloseTo(1, 6);
  });

  it('rejects bad arguments', () => {
    expect(() => bivariateKernel(8, 1, 1, 0)).toThrow(/odd/);
    expect(() => bivariateKernel(7, 0, 1, 0)).toThrow(/sigma/);
    expect(() => bivariateKernel(7, 1, 1, 0, 'plateau', 0)).toThrow(/beta/);
  });
});

describe('sincKernel (circular_lowpass_kernel)', () => {
  it('is symmetric, sums to 1, and follows omega J1(omega d) / (2 pi d)', () => {
    const omega = Math.PI / 3;
    const k = sincKernel(13, omega);
    expect(sum(k.data)).toBeCloseTo(1, 6);
    for (let r = 0; r < 13; r++) for (let c = 0; c < 13; c++) expect(k.data[r * 13 + c]).toBeCloseTo(k.data[c * 13 + r], 8);
    const centre = k.data[6 * 13 + 6];
    // ratio to the centre is independent of the normalization
    expect(k.data[6 * 13 + 9] / centre).toBeCloseTo(((omega * besselJ1(3 * omega)) / (2 * Math.PI * 3)) / ((omega * omega) / (4 * Math.PI)), 5);
    expect(Math.min(...k.data)).toBeLessThan(0); // ringing lobes
    expect(() => sincKernel(7, 4)).toThrow(/omega/);
  });
});

describe('realEsrganKernel', () => {
  it('builds every kind from plain JSON and pads like Real-ESRGAN', () => {
    for (const kind of ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso', 'sinc'] as const) {
      const p = kernelParams({ kind, size: 9, sigmaX: 1.4, sigmaY: 0.5, theta: 0.3, beta: 1.5, omega: 1.5, padTo: 21 });
      const k = realEsrganKernel(JSON.parse(JSON.stringify(p)));
      expect(k.size).toBe(21);
      expect(sum(k.data)).toBeCloseTo(1, 5);
      expect(k.data[0]).toBe(0);
      expect(k.data[10 * 21 + 10]).toBeGreaterThan(0);
      expect(k.data[5 * 21 + 10]).toBe(0);
    }
    // iso ignores sigmaY and theta
    const a = realEsrganKernel(kernelParams({ kind: 'iso', size: 7, sigmaX: 1, sigmaY: 3, theta: 1 }));
    const b = realEsrganKernel(kernelParams({ kind: 'iso', size: 7, sigmaX: 1 }));
    expect(Buffer.from(a.data.buffer)).toEqual(Buffer.from(b.data.buffer));
  });

  it('rejects unknown kinds and sizes', () => {
    expect(() => realEsrganKernel(kernelParams({ kind: 'box' as 'iso', size: 7 }))).toThrow(/kind/);
    expect(() => realEsrganKernel(kernelParams({ kind: 'iso', size: 8 }))).toThrow(/size/);
    expect(() => realEsrganKernel(kernelParams({ kind: 'iso', size: 7, padTo: 20 }))).toThrow(/padTo/);
  });
});

describe('sampleRealEsrganKernel', () => {
  it('is deterministic per seed and returns plain JSON', () => {
    const a = sampleRealEsrganKernel(createRng('s1'));
    expect(sampleRealEsrganKernel(createRng('s1'))).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    const many = Array.from({ length: 20 }, (_, i) => sampleRealEsrganKernel(createRng(`d${i}`)));
    expect(new Set(many.map((p) => JSON.stringify(p))).size).toBe(20);
  });

  it('draws kinds with Real-ESRGAN odds and stays in its ranges', () => {
    const rng = createRng('odds');
    const n = 4000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const p = sampleRealEsrganKernel(rng, REAL_ESRGAN_SECOND_ORDER);
      counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
      expect(REAL_ESRGAN_SIZES).toContain(p.size);
      expect(p.padTo).toBe(21);
      if (p.kind === 'sinc') {
        expect(p.omega).toBeGreaterThanOrEqual(p.size < 13 ? Math.PI / 3 : Math.PI / 5);
        expect(p.omega).toBeLessThanOrEqual(Math.PI);
      } else {
        expect(p.sigmaX).toBeGreaterThanOrEqual(0.2);
        expect(p.sigmaX).toBeLessThanOrEqual(1.5);
        if (p.kind.startsWith('generalized')) expect(p.beta >= 0.5 && p.beta <= 4).toBe(true);
        if (p.kind.startsWith('plateau')) expect(p.beta >= 1 && p.beta <= 2).toBe(true);
      }
    }
    const frac = (k: string): number => (counts.get(k) ?? 0) / n;
    expect(frac('sinc')).toBeCloseTo(0.1, 1);
    expect(frac('iso')).toBeCloseTo(0.9 * 0.45, 1);
    expect(frac('aniso')).toBeCloseTo(0.9 * 0.25, 1);
    expect(frac('plateau_iso')).toBeCloseTo(0.9 * 0.12, 1);
    expect(frac('generalized_aniso')).toBeGreaterThan(0);
  });

  it('final sinc: about 80% sinc kernels padded to 21, else null', () => {
    const rng = createRng('final');
    let sincs = 0;
    for (let i = 0; i < 1000; i++) {
      const p = sampleFinalSinc(rng);
      if (p) {
        sincs++;
        expect(p.kind).toBe('sinc');
        expect(p.omega).toBeGreaterThanOrEqual(Math.PI / 3);
      }
    }
    expect(sincs / 1000).toBeCloseTo(0.8, 1);
    expect(() => sampleFinalSinc(rng, 2)).toThrow(/prob/);
  });

  it('rejects malformed options', () => {
    expect(() => sampleRealEsrganKernel(createRng('x'), { ...REAL_ESRGAN_FIRST_ORDER, probs: [1] })).toThrow(/equal length/);
    expect(() => sampleRealEsrganKernel(createRng('x'), { ...REAL_ESRGAN_FIRST_ORDER, sigma: [3, 1] })).toThrow(/sigma/);
    expect(() => sampleRealEsrganKernel(createRng('x'), { ...REAL_ESRGAN_FIRST_ORDER, sizes: [8] })).toThrow(/sizes/);
  });
});
