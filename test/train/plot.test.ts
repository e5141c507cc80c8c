import { describe, expect, it } from 'vitest';
import { lossCurveSvg, movingAverage, thin, type CurvePoint } from '../../src/train/plot.js';

const curve = (n: number): CurvePoint[] =>
  Array.from({ length: n }, (_, i) => ({ step: i + 1, loss_rec: 0.3 / (1 + i / 10), loss_cls: 1.1 - i / (2 * n), acc: Math.min(1, i / n) }));

function polylines(svg: string, kind = 'smooth'): Array<Array<[number, number]>> {
  return [...svg.matchAll(new RegExp(`<polyline class="${kind}"[^>]*points="([^"]*)"`, 'g'))].map((m) =>
    m[1].split(' ').map((p) => p.split(',').map(Number) as [number, number]),
  );
}

describe('lossCurveSvg', () => {
  it('draws the two losses and the accuracy as polylines, one point per record, raw and smoothed', () => {
    const svg = lossCurveSvg(curve(50), { title: 'run <a>' });
    expect(polylines(svg, 'raw')).toHaveLength(3);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('run &lt;a&gt;');
    const lines = polylines(svg);
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(l).toHaveLength(50);
      // x increases with the step
      for (let i = 1; i < l.length; i++) expect(l[i][0]).toBeGreaterThan(l[i - 1][0]);
    }
    // falling loss -> rising y in SVG coordinates; rising accuracy -> falling y
    expect(lines[0][49][1]).toBeGreaterThan(lines[0][0][1]);
    expect(lines[2][49][1]).toBeLessThan(lines[2][0][1]);
  });

  it('leaves out the reconstruction curve when there is none (DCPT)', () => {
    const svg = lossCurveSvg(curve(10).map((p) => ({ ...p, loss_rec: 0 })));
    expect(polylines(svg)).toHaveLength(2);
    expect(svg).not.toContain('L1 reconstruction');
  });

  it('smooths with a trailing moving average', () => {
    expect(movingAverage([1, 2, 3, 4, 5], 2)).toEqual([1, 1.5, 2.5, 3.5, 4.5]);
    expect(movingAverage([4, 8], 1)).toEqual([4, 8]);
  });

  it('thins long runs by averaging and handles empty input', () => {
    const t = thin(curve(1000), 100);
    expect(t).toHaveLength(100);
    expect(t[99].step).toBe(1000);
    expect(t[0].acc).toBeCloseTo((0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9) / 10 / 1000, 12);
    expect(polylines(lossCurveSvg(curve(1000), { maxPoints: 100 }))[0]).toHaveLength(100);
    expect(lossCurveSvg([])).toContain('no data');
  });
});
