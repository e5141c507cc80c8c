import { describe, expect, it } from 'vitest';
import { dataAddon } from '../../src/core/addon.js';
import { bytesFromUnitJs, clampUnitJs, quantizeUnitJs, unitFromBytesJs } from '../../src/core/image.js';
import { squaredErrorJs } from '../../src/core/metrics.js';
import { DISPLAY_TABLE, finishRgbJs, LINEAR_TABLE, unprocessPixels } from '../../src/degradations/camera.js';
import { BAYER_PATTERNS, cfaChannels, demosaicPaddedJs, padPlane } from '../../src/degradations/kernels/bayer.js';
import { curveFromLutJs } from '../../src/degradations/lowlight.js';
import { createRng } from '../../src/core/random.js';

// Floats that sit on every branch and rounding boundary of the conversions: NaN, infinities, -0,
// just either side of 0, 1 and each k/255 midpoint, the float32 neighbours of those, and far outside.
function edgeFloats(): Float32Array {
  const values: number[] = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2, 255, -255, 1e30, -1e30, 1e-30, -1e-30, 0.5, 254.5 / 255];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let k = 0; k <= 256; k++) {
    for (const x of [(k - 0.5) / 255, k / 255]) {
      f[0] = x;
      const bits = u[0];
      for (let d = -3; d <= 3; d++) {
        u[0] = bits + d;
        values.push(f[0]);
      }
    }
  }
  const rng = createRng('addon-edges');
  for (let i = 0; i < 20000; i++) values.push(-0.2 + 1.4 * rng.uniform());
  // Long enough to take the native path (NATIVE_MIN_LENGTH) in every dispatching function.
  return Float32Array.from(values);
}

/** Bit for bit, except that any NaN matches any NaN (only NaN-ness reaches a byte: toUint8 makes it 0). */
function sameFloats(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) throw new Error(`value ${i}: native ${a[i]} (0x${ua[i].toString(16)}), TypeScript ${b[i]} (0x${ub[i].toString(16)})`);
  }
}

describe('data addon (native/png/pixels.cc) against its TypeScript twins', () => {
  const addon = dataAddon;
  const skip = (): boolean => {
    if (addon) return false;
    if (process.env.UIRGEN_NATIVE === 'required') throw new Error('UIRGEN_NATIVE=required, but build/native/uirgen_png.node did not load');
    console.warn('skipped: build/native/uirgen_png.node not built (npm run build with a C++ compiler)');
    return true;
  };

  it('unitFromBytes gives the float32 k/255 of every byte', () => {
    if (skip() || !addon) return;
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 97 + (i >> 8)) & 255);
    const native = new Float32Array(bytes.length);
    const js = new Float32Array(bytes.length);
    addon.unitFromBytes(bytes, native);
    unitFromBytesJs(bytes, js);
    sameFloats(native, js);
    // A view into a larger buffer reads from its own offset.
    const view = bytes.subarray(1000, 3048);
    const fromView = new Float32Array(view.length);
    addon.unitFromBytes(view, fromView);
    sameFloats(fromView, js.subarray(1000, 3048));
  });

  it('bytesFromUnit rounds, clamps and maps NaN exactly as toUint8', () => {
    if (skip() || !addon) return;
    const x = edgeFloats();
    const native = new Uint8Array(x.length);
    const js = new Uint8Array(x.length);
    addon.bytesFromUnit(x, native);
    bytesFromUnitJs(x, js);
    expect(Buffer.from(native).equals(Buffer.from(js))).toBe(true);
    expect(native[0]).toBe(0); // NaN
    expect(native[1]).toBe(255); // +Infinity
  });

  it('quantizeUnit and clampUnit leave the same floats as quantizeInPlace and clampInPlace', () => {
    if (skip() || !addon) return;
    const x = edgeFloats();
    for (const [native, js] of [
      [addon.quantizeUnit, quantizeUnitJs],
      [addon.clampUnit, clampUnitJs],
    ] as const) {
      const a = x.slice();
      const b = x.slice();
      native(a);
      js(b);
      sameFloats(a, b);
    }
    const clamped = x.slice();
    addon.clampUnit(clamped);
    expect(Number.isNaN(clamped[0])).toBe(true); // NaN stays NaN
    expect(Object.is(clamped[4], -0)).toBe(true); // -0 stays -0
  });

  it('curveFromLut and cameraToDisplay give the floats of darken and finishRgb', () => {
    if (skip() || !addon) return;
    const x = edgeFloats();
    const n = 4096;
    const lut = Float64Array.from({ length: n + 2 }, (_, i) => 0.8 * (0.9 * (Math.min(i, n) / n)) ** 2.7);
    const a = new Float32Array(x.length);
    const b = new Float32Array(x.length);
    addon.curveFromLut(x, a, lut, n);
    curveFromLutJs(x, b, lut, n);
    sameFloats(a, b);
    // A camera matrix with negative entries, so values leave [0, 1] before the curve.
    const m = [1.7, -0.5, -0.2, -0.3, 1.45, -0.15, 0.05, -0.6, 1.55];
    const rgb = x.subarray(0, x.length - (x.length % 3));
    const ramp = Float32Array.from({ length: 3 * 5000 }, (_, i) => ((i * 37) % 1000) / 999);
    for (const values of [rgb, ramp]) {
      const c = values.slice();
      const d = values.slice();
      addon.cameraToDisplay(c, Float64Array.from(m), DISPLAY_TABLE.lut, DISPLAY_TABLE.steps);
      finishRgbJs(d, m);
      sameFloats(c, d);
    }
    const display = DISPLAY_TABLE.lut;
    const dn = DISPLAY_TABLE.steps;
    expect(() => addon.cameraToDisplay(new Float32Array(4), Float64Array.from(m), display, dn)).toThrow(TypeError);
    expect(() => addon.curveFromLut(x, a, lut.subarray(0, n), n)).toThrow(TypeError);
  });

  it('unprocessRgb gives the floats of unprocessPixels, and leaves the (0.995, 1) corner to it', () => {
    if (skip() || !addon) return;
    const x = edgeFloats();
    const src = x.subarray(0, x.length - (x.length % 3));
    const m = [0.72, 0.21, 0.07, 0.09, 0.85, 0.06, 0.02, 0.14, 0.84];
    const gains = [1 / 2.1 / 1.3, 1 / 1.3, 1 / 1.7 / 1.3];
    let corners = 0;
    for (const protect of [true, false]) {
      const native = new Float32Array(src.length);
      const js = new Float32Array(src.length);
      const corner = new Int32Array(src.length / 3);
      const count = addon.unprocessRgb(src, native, Float64Array.from(m), Float64Array.from(gains), protect, LINEAR_TABLE.lut, LINEAR_TABLE.steps, corner);
      for (let k = 0; k < count; k++) {
        const i = corner[k];
        expect([src[i], src[i + 1], src[i + 2]].some((v) => v > 0.995 && v < 1)).toBe(true);
      }
      unprocessPixels(src, native, m, gains, protect, corner.subarray(0, count));
      unprocessPixels(src, js, m, gains, protect, null);
      sameFloats(native, js);
      corners += count;
    }
    expect(corners).toBeGreaterThan(0);
  });

  it('demosaicPadded gives the floats of demosaicLinear, bilinear and Malvar, every CFA phase and odd sizes', () => {
    if (skip() || !addon) return;
    const x = edgeFloats();
    for (const [w, h] of [[64, 48], [37, 29], [2, 2], [3, 700]]) {
      const plane = Float32Array.from({ length: w * h }, (_, i) => x[(i * 7919) % x.length]);
      const { p, pw } = padPlane(plane, w, h);
      for (const pattern of BAYER_PATTERNS) {
        for (const corrected of [false, true]) {
          const a = new Float32Array(w * h * 3);
          const b = new Float32Array(w * h * 3);
          addon.demosaicPadded(p, pw, w, h, cfaChannels(pattern), corrected, a);
          demosaicPaddedJs(p, pw, w, h, cfaChannels(pattern), corrected, b);
          sameFloats(a, b);
        }
      }
    }
    expect(() => addon.demosaicPadded(new Float32Array(10), 6, 2, 2, cfaChannels('RGGB'), false, new Float32Array(12))).toThrow(TypeError);
  });

  it('squaredError is the exact integer sum of psnrBytes', () => {
    if (skip() || !addon) return;
    const rng = createRng('addon-se');
    const n = 3 * 700 * 500; // past the 32768-value chunks of the TypeScript sum
    const a = Uint8Array.from({ length: n }, () => rng.int(0, 255));
    const b = Uint8Array.from({ length: n }, () => rng.int(0, 255));
    expect(addon.squaredError(a, b)).toBe(squaredErrorJs(a, b));
    const worst = new Uint8Array(n).fill(255);
    expect(addon.squaredError(worst, new Uint8Array(n))).toBe(n * 255 * 255);
  });

  it('refuses arguments of the wrong type or length', () => {
    if (skip() || !addon) return;
    expect(() => addon.unitFromBytes(new Uint8Array(4), new Float32Array(3))).toThrow(/equal lengths/);
    expect(() => addon.bytesFromUnit(new Float64Array(4) as unknown as Float32Array, new Uint8Array(4))).toThrow(TypeError);
    expect(() => addon.squaredError(new Uint8Array(4), new Uint8ClampedArray(4) as unknown as Uint8Array)).toThrow(TypeError);
  });
});
