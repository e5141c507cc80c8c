/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeRecipe } from '../../src/pipeline/recipe.js';
import { renderHtmlReport, writeHtmlReport } from '../../src/pipeline/report/html.js';
import { barChart, esc, heatmap, histogram, niceTicks, sequential } from '../../src/pipeline/report/svg.js';
import { computeStats, type DatasetStats } from '../../src/pipeline/stats.js';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { haveChromium, launchChromium } from '../support/chromium.js';
import { tempDir } from '../support/files.js';
import { SAMPLES_DIR } from '../support/samples.js';

describe('svg charts', () => {
  it('round axis ticks that reach the maximum', () => {
    expect(niceTicks(20)).toEqual([0, 5, 10, 15, 20]);
    expect(niceTicks(531_816)).toEqual([0, 200_000, 400_000, 600_000]);
    expect(niceTicks(38)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('escapes text and colours on an ordered scale', () => {
    expect(esc('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
    expect(sequential(0)).toBe('#440154');
    expect(sequential(1)).toBe('#fde725');
    expect(sequential(-3)).toBe(sequential(0));
  });

  it('one mark per value, each with a tooltip', () => {
    const bars = barChart([{ label: 'GN', segments: [{ value: 3, color: '#000', title: 'GN 3' }, { value: 2, color: '#f00', title: 'GN real 2' }], target: { value: 9, title: 'planned 9' } }], { title: 't' });
    expect(bars.match(/class="bar"/g)).toHaveLength(2);
    expect(bars).toContain('<title>planned 9</title>');
    expect(bars).toContain('5 of 9');
    const heat = heatmap(['GN', 'J'], 3, [{ row: 0, col: 0, value: 1, title: 'a' }, { row: 1, col: 2, value: 0, title: 'b' }], { title: 'h', colLabel: 'level' });
    expect(heat.match(/class="cell"/g)).toHaveLength(2);
    expect(heat).toContain('fill="#f3f4f6"'); // an empty cell is grey
    const hist = histogram([0, 2, 5], { title: 'x', from: 0, binWidth: 1, unit: 'dB', lastOpen: true });
    expect(hist.match(/class="bar"/g)).toHaveLength(2);
    expect(hist).toContain('2 dB and up: 5');
  });
});

describe('stats --html', () => {
  let ds: string;
  let stats: DatasetStats;
  let file: string;

  beforeAll(async () => {
    ds = tempDir('uirgen-report-');
    const recipe = normalizeRecipe({ sources: [SAMPLES_DIR], crop: 64, per_source: 6, types: ['GN', 'MB', 'J'], shard_samples: 10, seed: 'report' });
    await synthesize({ recipe, out: ds, workers: 1 });
    stats = await computeStats(ds, { ssimSamples: 2 });
    file = join(tempDir('uirgen-report-out-'), 'report.html');
    await writeHtmlReport(stats, file, { examples: 3 });
  });

  it('is one self-contained file: no script, no external URL, thumbnails as data URIs', () => {
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs.length).toBe(3 * 3 * 2);
    expect(refs.every((r) => r.startsWith('data:image/jpeg;base64,'))).toBe(true);
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(1 + 1 + 3 + 1);
  });

  it('is the same bytes for the same dataset', async () => {
    expect(await renderHtmlReport(stats, { examples: 3 })).toBe(readFileSync(file, 'utf8'));
  });

  // CI installs Chromium (.ci/run), so there this runs, and fails if Chromium cannot start; elsewhere it needs /usr/bin/chromium.
  describe.runIf(haveChromium || process.env.CI)('in headless Chromium (skipped where /usr/bin/chromium is absent, outside CI)', () => {
    it('renders every chart and thumbnail, asks for nothing over the network, and is not blank', async () => {
      const { context, close } = await launchChromium({ width: 1280, height: 900 });
      try {
        const page = await context.newPage();
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        await page.goto(`file://${file}`, { waitUntil: 'load' });
        const seen = await page.evaluate(() => {
          const box = (sel: string) => Array.from(document.querySelectorAll(sel)).map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0).length;
          const imgs = Array.from(document.querySelectorAll('img'));
          return {
            charts: box('svg.chart'),
            bars: box('#types rect.bar'),
            cells: box('#levels rect.cell'),
            histograms: box('#psnr svg.chart'),
            shards: box('#shards rect.bar'),
            images: imgs.length,
            decoded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
          };
        });
        expect(seen.bars).toBe(3); // one bar per type (all synthetic)
        expect(seen.cells).toBe(stats.types.reduce((a, t) => a + t.levels_total, 0));
        expect(seen.histograms).toBe(3);
        expect(seen.shards).toBe(stats.shards.count);
        expect(seen.images).toBe(18);
        expect(seen.decoded).toBe(18);
        expect(requests.every((u) => u.startsWith('file://') || u.startsWith('data:'))).toBe(true);
        const shot = await page.screenshot({ fullPage: true });
        const { channels } = await sharp(shot).stats();
        // A blank page is one colour; charts and photos spread every channel widely.
        expect(Math.min(...channels.map((c) => c.stdev))).toBeGreaterThan(20);
        const chart = await page.locator('#levels svg.chart').screenshot();
        const levels = await sharp(chart).stats();
        expect(levels.channels[1].stdev).toBeGreaterThan(20);
      } finally {
        await close();
      }
    });
  });
});
