import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { motionBlur } from '../../src/degradations/blur.js';
import { blurRain, lowHazeRainSnow } from '../../src/degradations/combined.js';
import type { CompositeParams } from '../../src/degradations/composite.js';
import { lowLight } from '../../src/degradations/lowlight.js';
import { rainStreaks } from '../../src/degradations/rain.js';

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

/** Mean squared difference between neighbours across the rows: what a sharp, near-vertical streak has much of. */
function crossGradient(im: Image, base: number): number {
  let s = 0;
  for (let y = 0; y < im.height; y++) {
    for (let x = 1; x < im.width; x++) {
      const a = im.data[(y * im.width + x) * 3] - base;
      const b = im.data[(y * im.width + x - 1) * 3] - base;
      s += (a - b) ** 2;
    }
  }
  return s / (im.height * (im.width - 1));
}

describe('BR (blur + rain)', () => {
  it("renders rain first, then blurs the whole frame with the camera's kernel: the streaks are blurred too", async () => {
    const grey = createImage(128, 128, new Float32Array(128 * 128 * 3).fill(0.25));
    const level = blurRain.levels.findIndex((l) => l.id === 'motion-rain:8');
    const p = blurRain.sample(level, createRng('br'), grey) as CompositeParams;
    expect(p.stages.map((s) => s.type)).toEqual(['RS', 'MB']);
    const rainy = await rainStreaks.apply(grey, p.stages[0].params);
    const out = await blurRain.apply(grey, p);
    // exactly the camera's blur of the rainy frame
    expect(bytes(out).equals(bytes(await motionBlur.apply(rainy, p.stages[1].params)))).toBe(true);
    // on a flat scene only the rain carries detail: blurring the rain layer smears its streaks' edges
    expect(crossGradient(out, 0.25)).toBeLessThan(0.5 * crossGradient(rainy, 0.25));
    // and keeps their light (the kernel sums to 1): mean brightness within 1%
    const mean = (im: Image) => im.data.reduce((a, b) => a + b, 0) / im.data.length;
    expect(Math.abs(mean(out) - mean(rainy))).toBeLessThan(0.01 * mean(rainy));
  });
});

describe('LHRS (CDD-11 combinations)', () => {
  it("follows OneRestore's order of operations: low light first, then rain or snow, then haze over everything", () => {
    const im = { width: 64, height: 64 };
    const byVariant = new Map<string, string[]>();
    lowHazeRainSnow.levels.forEach((l, i) => {
      const stages = (lowHazeRainSnow.sample(i, createRng(i), im) as CompositeParams).stages.map((s) => s.type);
      byVariant.set(l.variant, stages);
    });
    expect(Object.fromEntries(byVariant)).toEqual({
      'low-haze': ['LL', 'H'],
      'low-rain': ['LL', 'RS'],
      'low-snow': ['LL', 'S'],
      'haze-rain': ['RS', 'H'],
      'haze-snow': ['S', 'H'],
      'low-haze-rain': ['LL', 'RS', 'H'],
      'low-haze-snow': ['LL', 'S', 'H'],
    });
  });

  it('has three levels per combination; in the low-light ones the darkness rises over the same rain or snow', () => {
    const stages = (l: { settings: Record<string, unknown> }) => l.settings.stages as string[];
    const byVariant = new Map<string, string[][]>();
    for (const l of lowHazeRainSnow.levels) byVariant.set(l.variant, [...(byVariant.get(l.variant) ?? []), stages(l)]);
    expect(byVariant.size).toBe(7);
    for (const [variant, levels] of byVariant) {
      expect(levels, variant).toHaveLength(3);
      if (!variant.startsWith('low-')) continue;
      const gamma = levels.map((st) => Number(st[0].replace('LL@gamma:', '')));
      expect(gamma[0], variant).toBe(1.5);
      expect(gamma[1], variant).toBeGreaterThan(gamma[0]);
      expect(gamma[2], variant).toBeGreaterThan(gamma[1]);
      const weather = (st: string[]) => st.filter((x) => x.startsWith('RS@') || x.startsWith('S@'));
      for (const st of levels) expect(weather(st), variant).toEqual(weather(levels[0]));
    }
  });

  it('estimates depth from the clean scene, not from the darkened frame an earlier stage made', async () => {
    // A scene whose left half is far (bright, colourless) and right half near (dark, saturated): the haze
    // stage must veil the left more, although after low light both halves are nearly black.
    const n = 96;
    const scene = createImage(n, n);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const p = (y * n + x) * 3;
        if (x < n / 2) scene.data.fill(0.85, p, p + 3);
        else [scene.data[p], scene.data[p + 1], scene.data[p + 2]] = [0.6, 0.15, 0.05];
      }
    }
    const level = lowHazeRainSnow.levels.findIndex((l) => l.id === 'low-haze:2');
    const p = lowHazeRainSnow.sample(level, createRng('lh'), scene) as CompositeParams;
    const out = await lowHazeRainSnow.apply(scene, p);
    const dark = await lowLight.apply(scene, p.stages[0].params);
    // the haze stage's transmission, from I = D t + A (1 - t) over the darkened frame D
    const A = p.stages[1].params.airlight as number;
    const t = (x: number) => (out.data[(48 * n + x) * 3] - A) / (dark.data[(48 * n + x) * 3] - A);
    expect(t(10)).toBeLessThan(t(85) - 0.05);
  });
});
