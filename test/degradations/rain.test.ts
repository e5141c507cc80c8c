import { describe, expect, it } from 'vitest';
import { createImage, cropImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import type { Degradation } from '../../src/degradations/types.js';
import {
  DROP_COUNTS,
  STREAK_DENSITIES,
  applyRaindrops,
  applyRainStreaks,
  applyRainStreaksAndDrops,
  renderStreakLayer,
  raindrops,
  rainStreaks,
  rainStreaksAndDrops,
  sampleRaindrops,
  sampleRainStreaks,
  sampleRainStreaksAndDrops,
  type RaindropSettings,
  type RainStreakSettings,
} from '../../src/degradations/rain.js';
import { estimateDepth } from '../../src/degradations/depth.js';
import { streakKernel } from '../../src/degradations/kernels/streak.js';
import { expectSameShareAtSizes } from '../support/frame-share.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

function flat(width: number, height: number, v: number): Image {
  return createImage(width, height, new Float32Array(width * height * 3).fill(v));
}

/** The contract every degradation keeps (types.ts and the degradation rules). */
function contract(deg: Degradation, count: number): void {
  it(`has ${count} levels, severity ascending within each variant`, () => {
    expect(deg.levels.length).toBe(count);
    const seen = new Map<string, number>();
    for (const l of deg.levels) {
      expect(l.id).toBe(`${l.variant}:${l.id.slice(l.variant.length + 1)}`);
      expect(l.severity).toBe(seen.get(l.variant) ?? 0);
      seen.set(l.variant, l.severity + 1);
    }
    expect(new Set(deg.levels.map((l) => l.id)).size).toBe(count);
    expect(() => deg.sample(count, createRng(1), { width: 8, height: 8 })).toThrow(new RegExp(`levels 0\\.\\.${count - 1}`));
  });

  it('every level keeps the size (non-square too), gives finite values in [0, 1], and changes the image', async () => {
    const [, , im0] = await sampleCrops(96);
    const im = cropImage(im0, 0, 0, 96, 64);
    for (let level = 0; level < deg.levels.length; level++) {
      const params = deg.sample(level, createRng(`every${level}`), im);
      expect(params.level).toBe(deg.levels[level].id);
      const out = await deg.apply(im, params);
      expect([out.width, out.height]).toEqual([96, 64]);
      expect(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
      expect(bytes(out).equals(bytes(im))).toBe(false);
    }
  });

  it('handles tiny images (3x2) at every level', async () => {
    const im = createImage(3, 2, Float32Array.from({ length: 18 }, (_, i) => i / 18));
    for (let level = 0; level < deg.levels.length; level++) {
      const out = await deg.apply(im, deg.sample(level, createRng(level), im));
      expect([out.width, out.height]).toEqual([3, 2]);
      expect(out.data.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('is deterministic and replays from JSON; other seeds give other params and pixels', async () => {
    const [im] = await sampleCrops(64);
    const level = deg.levels.length - 2;
    const a = deg.sample(level, createRng('a'), im);
    expect(deg.sample(level, createRng('a'), im)).toEqual(a);
    const out1 = await deg.apply(im, a);
    const out2 = await deg.apply(im, a);
    const replay = await deg.apply(im, JSON.parse(JSON.stringify(a)));
    expect(bytes(out1).equals(bytes(out2))).toBe(true);
    expect(bytes(out1).equals(bytes(replay))).toBe(true);
    const b = deg.sample(level, createRng('b'), im);
    expect(b).not.toEqual(a);
    expect(bytes(await deg.apply(im, b)).equals(bytes(out1))).toBe(false);
  });

  it('PSNR falls strictly as severity rises within each variant (5 photos, 2 seeds)', async () => {
    expectFallingWithinVariants(deg.id, await meanPsnrByVariant(deg, await sampleCrops(128), [1, 2]));
  });
}

describe('RS (rain streaks)', () => {
  it('renders a 12-megapixel frame at its harshest level (the streak gain is capped with the lengths)', async () => {
    const big = createImage(4000, 3000);
    big.data.fill(0.4);
    const top = rainStreaks.levels.length - 1;
    const out = await rainStreaks.apply(big, rainStreaks.sample(top, createRng('big'), { width: 4000, height: 3000 }));
    expect([out.width, out.height]).toEqual([4000, 3000]);
    expect(out.data.some((v) => v > 0.45)).toBe(true);
  });

  contract(rainStreaks, 12);

  it('levels are density:N with depth layers, length and the accumulation veil rising', () => {
    expect(rainStreaks.levels.map((l) => l.id)).toEqual(STREAK_DENSITIES.map((d) => `density:${d}`));
    const p0 = sampleRainStreaks(0, createRng(3), { width: 256, height: 256 });
    const p9 = sampleRainStreaks(STREAK_DENSITIES.length - 1, createRng(3), { width: 256, height: 256 });
    expect(p0.layers.length).toBe(1);
    expect(p9.layers.length).toBe(3);
    expect(p9.layers[1].length).toBeGreaterThan(p0.layers[0].length);
    expect(p0.veil).toBe(0);
    expect(p9.veil).toBeGreaterThan(0);
    expect(p9.depth).toBe('estimate');
    // far layer thin, faint and short; near layer wide, defocused and long (the main layer between)
    const [far, main, near] = p9.layers;
    expect(far.width).toBeLessThan(main.width);
    expect(far.brightness / far.length).toBeLessThan(main.brightness / main.length);
    expect(far.length).toBeLessThan(main.length);
    expect(near.width).toBeGreaterThan(main.width);
    expect(near.blur).toBeGreaterThan(0);
    expect(main.blur).toBe(0);
    expect(near.length).toBeGreaterThan(main.length);
    // One rng seed: the same rain direction at every level.
    expect(Math.abs(p9.layers[1].angle - p0.layers[0].angle)).toBeLessThan(1e-9);
    for (const l of p9.layers) expect(Math.abs(l.angle - 90)).toBeLessThanOrEqual(25);
  });

  it('heavy rain past density:52 (Rain100H lies between its top two levels) is denser, brighter and more veiled', () => {
    const at = (id: string) => sampleRainStreaks(STREAK_DENSITIES.indexOf(Number(id) as never), createRng(5), { width: 256, height: 256 });
    const [p52, p62, p72] = [at('52'), at('62'), at('72')];
    for (const [lo, hi] of [[p52, p62], [p62, p72]]) {
      expect(hi.layers.map((l) => l.density).every((d, k) => d > lo.layers[k].density)).toBe(true);
      expect(hi.layers[1].brightness).toBeGreaterThan(lo.layers[1].brightness);
      expect(hi.veil).toBeGreaterThan(lo.veil);
    }
  });

  it('a level covers the same share of the frame at any size: the seeds thin out as the streaks grow with it', () => {
    // On a flat frame, the share of pixels the rain brightens: with a fixed seed density per pixel it grew
    // with the square of the size (streaks longer and wider, as many per pixel), 4x from 256 to 512 px.
    const share = (n: number) => {
      const im = flat(n, n, 0.2);
      const params = sampleRainStreaks(4, createRng('share'), im);
      const out = applyRainStreaks(im, params);
      let lit = 0;
      for (let i = 0; i < out.data.length; i += 3) if (out.data[i] > 0.25) lit++;
      return lit / (n * n);
    };
    expectSameShareAtSizes(share, 0.02, 0.8, 1.25);
  });

  it('streaks only brighten (screen blend) and run along the rain direction', () => {
    const im = flat(128, 128, 0.2);
    const settings: RainStreakSettings = {
      layers: [{ seed: 'x', density: 0.004, length: 20, spread: 0.3, angle: 90, width: 1, blur: 0, brightness: 0.8, reference: 20 }],
      colour: 1,
      veil: 0,
      airlight: 0.9,
    };
    const out = applyRainStreaks(im, settings);
    let changed = 0;
    let darker = 0;
    for (let i = 0; i < out.data.length; i++) {
      if (out.data[i] < im.data[i] - 1e-6) darker++;
      if (out.data[i] > 0.21) changed++;
    }
    expect(darker).toBe(0);
    expect(changed).toBeGreaterThan(0);
    // Vertical streaks: neighbours above/below are far more alike than neighbours left/right.
    const g = (x: number, y: number) => out.data[(y * 128 + x) * 3] - 0.2;
    let vert = 0;
    let horiz = 0;
    for (let y = 1; y < 127; y++) {
      for (let x = 1; x < 127; x++) {
        vert += g(x, y) * g(x, y + 1);
        horiz += g(x, y) * g(x + 1, y);
      }
    }
    expect(vert).toBeGreaterThan(3 * horiz);
    const rot = applyRainStreaks(im, { ...settings, layers: [{ ...settings.layers[0], angle: 0 }] });
    const h = (x: number, y: number) => rot.data[(y * 128 + x) * 3] - 0.2;
    let v2 = 0;
    let h2 = 0;
    for (let y = 1; y < 127; y++) {
      for (let x = 1; x < 127; x++) {
        v2 += h(x, y) * h(x, y + 1);
        h2 += h(x, y) * h(x + 1, y);
      }
    }
    expect(h2).toBeGreaterThan(3 * v2);
  });

  it("a streak's cross-section is soft, not flat: it peaks on the path and falls off across it; its ends fade", () => {
    const k = streakKernel(24, 90, { width: 3 });
    const r = (k.size - 1) >> 1;
    const at = (dx: number, dy: number) => (Math.abs(dx) > r || Math.abs(dy) > r ? 0 : k.data[(r + dy) * k.size + r + dx]);
    const row = [-3, -2, -1, 0, 1, 2, 3].map((dx) => at(dx, 0));
    expect(row[2]).toBeLessThan(row[3]);
    expect(row[1]).toBeLessThan(row[2]);
    expect(row[0]).toBeLessThan(row[1]);
    expect(row[4]).toBeCloseTo(row[2], 6);
    expect(row[1] / row[3]).toBeLessThan(0.5);
    // along the path: flat in the middle, fading over the last pixels instead of stopping as a bar
    expect(at(0, 6)).toBeCloseTo(row[3], 3);
    expect(at(0, 12)).toBeLessThan(0.6 * row[3]);
    expect(at(0, 12)).toBeGreaterThan(0.4 * row[3]);
    expect(at(0, 14)).toBeLessThan(0.1 * row[3]);
    expect(k.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('a longer streak of the same drop is fainter: its brightness falls with length (the kernel sums to 1)', () => {
    const layer = { seed: 'len', density: 0.0008, spread: 0, angle: 90, width: 1.5, blur: 0, brightness: 0.6, reference: 20 };
    const brightness = (length: number) => {
      // Mean value over the streak pixels (those lit above 5% of the brightest) and how many are lit.
      const p = renderStreakLayer(160, 160, { ...layer, length });
      const max = p.reduce((m, v) => (v > m ? v : m), 0);
      let s = 0;
      let n = 0;
      for (const v of p) if (v > 0.05 * max) [s, n] = [s + v, n + 1];
      return { mean: s / n, max, lit: n };
    };
    const short = brightness(10);
    const long = brightness(40);
    expect(long.max).toBeLessThan(0.5 * short.max);
    expect(long.mean).toBeLessThan(0.5 * short.mean);
    expect(long.lit).toBeGreaterThan(2 * short.lit);
  });

  it('a defocused (near) streak is wider and dimmer at its peak than a sharp one', () => {
    const base = { seed: 'focus', density: 0.003, length: 30, spread: 0, angle: 90, width: 2, brightness: 0.6, reference: 20 };
    const peak = (p: Float32Array) => p.reduce((m, v) => (v > m ? v : m), 0);
    const sharp = renderStreakLayer(96, 96, { ...base, blur: 0 });
    const soft = renderStreakLayer(96, 96, { ...base, blur: 2.5 });
    expect(peak(soft)).toBeLessThan(0.6 * peak(sharp));
    const lit = (p: Float32Array) => p.filter((v) => v > 0.05 * peak(sharp)).length;
    expect(lit(soft)).toBeGreaterThan(lit(sharp));
  });

  it('heavy rain veils the scene by its depth, as O = alpha (B + S) + (1 - alpha) A: far parts more than near', () => {
    const im = flat(64, 64, 0.1);
    const layer = { seed: 'v', density: 0, length: 10, spread: 0, angle: 90, width: 1, blur: 0, brightness: 0.5, reference: 20 };
    const depth = new Float32Array(64 * 64);
    for (let i = 0; i < depth.length; i++) depth[i] = i % 64 < 32 ? 0.2 : 1;
    const out = applyRainStreaks(im, { layers: [layer], colour: 1, veil: 0.5, airlight: 0.9 }, depth);
    const near = out.data[(10 * 64 + 5) * 3];
    const far = out.data[(10 * 64 + 60) * 3];
    expect(near).toBeCloseTo(Math.exp(-0.1) * 0.1 + (1 - Math.exp(-0.1)) * 0.9, 5);
    expect(far).toBeCloseTo(Math.exp(-0.5) * 0.1 + (1 - Math.exp(-0.5)) * 0.9, 5);
  });

  it('validates its settings with messages naming the field', () => {
    const im = flat(16, 16, 0.5);
    const layer = { seed: 's', density: 0.01, length: 10, spread: 0.3, angle: 90, width: 1, blur: 0, brightness: 0.5, reference: 20 };
    const base = { colour: 1, veil: 0, airlight: 0.9 };
    expect(() => applyRainStreaks(im, { ...base, layers: [] })).toThrow(/layers/);
    expect(() => applyRainStreaks(im, { ...base, layers: [{ ...layer, density: -1 }] })).toThrow(/density/);
    expect(() => applyRainStreaks(im, { ...base, layers: [{ ...layer, length: 0 }] })).toThrow(/length/);
    expect(() => applyRainStreaks(im, { ...base, layers: [{ ...layer, seed: '' }] })).toThrow(/seed/);
    expect(() => applyRainStreaks(im, { ...base, layers: [{ ...layer, blur: 20 }] })).toThrow(/blur/);
    expect(() => applyRainStreaks(im, { ...base, layers: [layer], veil: 9 })).toThrow(/veil/);
  });
});

describe('RD (raindrops)', () => {
  contract(raindrops, 8);

  it('levels are drops:N, N drops per frame: a larger frame has larger drops, not more', () => {
    expect(raindrops.levels.map((l) => l.id)).toEqual(DROP_COUNTS.map((n) => `drops:${n}`));
    const a = sampleRaindrops(3, createRng(1), { width: 256, height: 256 });
    const b = sampleRaindrops(3, createRng(1), { width: 512, height: 512 });
    const c = sampleRaindrops(3, createRng(1), { width: 1024, height: 256 });
    expect([a.count, b.count, c.count]).toEqual([DROP_COUNTS[3], DROP_COUNTS[3], DROP_COUNTS[3]]);
    expect([b.radiusMin, b.radiusMax, b.blur]).toEqual([2 * a.radiusMin, 2 * a.radiusMax, 2 * a.blur]);
  });

  it('a level covers the same share of the frame at 128, 256 and 512 px', () => {
    // The share of pixels a level changes by more than 0.1 over a frame-relative pattern (vertical bars, 8 per
    // frame, so a drop's inverted view differs from what it covers at any size): with a count per 256x256 area
    // and radii grown with the frame it went with the square of the size, 4x from 256 to 512 px.
    const share = (n: number) => {
      const im = createImage(n, n);
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) im.data.set([0.5 + 0.4 * Math.sin((2 * Math.PI * 8 * x) / n), 0.5, 0.5], (y * n + x) * 3);
      }
      const out = applyRaindrops(im, sampleRaindrops(4, createRng('share'), im));
      let changed = 0;
      for (let i = 0; i < out.data.length; i += 3) if (Math.abs(out.data[i] - im.data[i]) > 0.1) changed++;
      return changed / (n * n);
    };
    expectSameShareAtSizes(share, 0.03);
  });

  const base: RaindropSettings = { seed: 'd', count: 1, radiusMin: 10, radiusMax: 10, blur: 2, softness: 0.2, zoom: 2 };

  it('no drops leave the image as it is; drops change only a part of it', async () => {
    const [im] = await sampleCrops(64);
    expect(bytes(applyRaindrops(im, { ...base, count: 0 })).equals(bytes(im))).toBe(true);
    const out = applyRaindrops(im, { ...base, count: 3 });
    let changed = 0;
    for (let i = 0; i < out.data.length; i += 3) if (Math.abs(out.data[i] - im.data[i]) > 1e-6) changed++;
    expect(changed).toBeGreaterThan(50);
    expect(changed).toBeLessThan(0.8 * 64 * 64);
  });

  it('a drop shows the scene inverted: over a top-bright/bottom-dark image, its top is darker than its bottom', () => {
    const im = createImage(96, 96);
    for (let y = 0; y < 96; y++) im.data.fill(y < 48 ? 0.9 : 0.1, y * 96 * 3, (y + 1) * 96 * 3);
    // Find a seed whose single drop sits on the bright/dark boundary, away from the sides: the drop
    // is located as the region a flat grey image changes in (its rim darkens), then probed.
    const settings = { ...base, radiusMin: 12, radiusMax: 12, zoom: 1.5 };
    const grey = flat(96, 96, 0.5);
    let found = false;
    for (let k = 0; k < 400 && !found; k++) {
      const s = { ...settings, seed: `inv${k}` };
      const out = applyRaindrops(grey, s);
      let sx = 0;
      let sy = 0;
      let n = 0;
      for (let i = 0; i < 96 * 96; i++) {
        if (Math.abs(out.data[i * 3] - 0.5) > 0.02) {
          sx += i % 96;
          sy += Math.floor(i / 96);
          n++;
        }
      }
      if (n < 50) continue;
      const cx = sx / n;
      const cy = sy / n;
      if (Math.abs(cy - 48) > 2 || cx < 20 || cx > 76) continue;
      found = true;
      const res = applyRaindrops(im, s);
      const at = (x: number, y: number) => res.data[(Math.round(y) * 96 + Math.round(x)) * 3];
      expect(at(cx, cy - 6)).toBeLessThan(at(cx, cy + 6));
    }
    expect(found).toBe(true);
  });

  it('validates its settings', () => {
    const im = flat(16, 16, 0.5);
    expect(() => applyRaindrops(im, { ...base, count: 1.5 })).toThrow(/count must be an integer/);
    expect(() => applyRaindrops(im, { ...base, radiusMin: 5, radiusMax: 4 })).toThrow(/radiusMax/);
    expect(() => applyRaindrops(im, { ...base, zoom: 100 })).toThrow(/zoom/);
    expect(() => applyRaindrops(im, { ...base, seed: '' })).toThrow(/seed/);
  });
});

describe('RSD (rain streaks and drops)', () => {
  contract(rainStreaksAndDrops, 8);

  it('is RS then RD with the recorded params, both rising with the level', async () => {
    const [im] = await sampleCrops(64);
    const p = sampleRainStreaksAndDrops(4, createRng(9), im);
    expect(p.level).toBe('mix:5');
    const direct = applyRaindrops(applyRainStreaks(im, p.streaks, p.streaks.veil > 0 ? estimateDepth(im).data : undefined), p.drops);
    expect(bytes(applyRainStreaksAndDrops(im, p)).equals(bytes(direct))).toBe(true);
    const lo = sampleRainStreaksAndDrops(0, createRng(9), im);
    const hi = sampleRainStreaksAndDrops(7, createRng(9), im);
    expect(STREAK_DENSITIES.indexOf(Number(hi.streaks.level.split(':')[1]) as never)).toBeGreaterThan(
      STREAK_DENSITIES.indexOf(Number(lo.streaks.level.split(':')[1]) as never),
    );
    expect(hi.drops.count).toBeGreaterThan(lo.drops.count);
  });
});
