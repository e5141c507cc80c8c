import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { TOOLKIT_VERSION } from '../../version.js';
import { pickExamples, readPair, type ExampleRow } from '../examples.js';
import { Manifest, MANIFEST_FILE } from '../manifest.js';
import { HISTOGRAM_TOP, type DatasetStats, type Quantiles } from '../stats.js';
import { barChart, columns, esc, heatmap, histogram, type BarRow, type HeatCell } from './svg.js';

/**
 * `uirgen stats --html`: one self-contained HTML file (no network, no script, no external font):
 * the figures of DatasetStats as SVG charts (svg.ts) and tables, and a grid of example pairs per
 * type whose thumbnails are embedded as data URIs, read from the shards through the manifest.
 */

export const DEFAULT_EXAMPLES = 4;
/** Thumbnail side in pixels (each example shows gt and lq at this size). */
const THUMB = 112;

const COLORS = { synthetic: '#2563eb', real: '#ea580c', imported: '#7c3aed', planned: '#9ca3af' };

export interface HtmlOptions {
  /** Example pairs per type (0: no example grid). */
  examples?: number;
}

const n = (x: number): string => x.toLocaleString('en-US');

function bytes(x: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = x;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${x} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

function quant(x: Quantiles | null, digits: number): string {
  if (!x || x.n === 0 || x.median === null) return '–';
  return `${x.median.toFixed(digits)} <span class="dim">[${(x.p10 as number).toFixed(digits)}, ${(x.p90 as number).toFixed(digits)}]</span>`;
}

async function thumbnail(png: Buffer): Promise<string> {
  const jpeg = await sharp(png).resize(THUMB, THUMB, { fit: 'inside' }).jpeg({ quality: 85 }).toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

interface Example {
  row: ExampleRow;
  gt: string;
  lq: string;
}

async function examplesOf(dataset: string, types: readonly string[], perType: number): Promise<Example[]> {
  if (perType <= 0 || types.length === 0) return [];
  const m = Manifest.open(`${dataset}/${MANIFEST_FILE}`, { readonly: true });
  let rows: ExampleRow[];
  try {
    rows = pickExamples(m.db, { types, perType });
  } finally {
    m.close();
  }
  const out: Example[] = [];
  for (const row of rows) {
    const pair = readPair(dataset, row);
    out.push({ row, gt: await thumbnail(pair.gt), lq: await thumbnail(pair.lq) });
  }
  return out;
}

function section(id: string, title: string, body: string, note = ''): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${note ? `<p class="note">${note}</p>` : ''}${body}</section>`;
}

function typeBars(s: DatasetStats): string {
  const expected = new Map(s.imports.map((e) => [e.type, e.expected]));
  const rows: BarRow[] = s.types.map((t) => {
    const target = (t.planned ?? 0) + (expected.get(t.type) ?? 0);
    return {
      label: t.type,
      segments: [
        { value: t.synthetic, color: COLORS.synthetic, title: `${t.type} synthetic: ${n(t.synthetic)}` },
        { value: t.real, color: COLORS.real, title: `${t.type} real captures: ${n(t.real)}` },
        { value: t.imported_other, color: COLORS.imported, title: `${t.type} imported (not real): ${n(t.imported_other)}` },
      ],
      ...(target > t.samples ? { target: { value: target, title: `${t.type}: ${n(target)} planned or expected, ${n(t.samples)} present` } } : {}),
    };
  });
  const legend =
    `<div class="legend"><span><i style="background:${COLORS.synthetic}"></i>synthetic</span><span><i style="background:${COLORS.real}"></i>real captures</span>` +
    `<span><i style="background:${COLORS.imported}"></i>imported</span><span><i class="outline"></i>planned or expected, not yet there</span></div>`;
  return legend + barChart(rows, { title: 'samples per type', width: 760 });
}

function levelHeatmap(s: DatasetStats): string {
  const types = s.types.filter((t) => t.levels_total > 0 && s.levels.some((l) => l.type === t.type));
  if (types.length === 0) return '<p class="dim">No synthetic samples or planned rows.</p>';
  const rendered = s.totals.synthetic > 0;
  const cols = Math.max(...types.map((t) => t.levels_total));
  const cells: HeatCell[] = [];
  types.forEach((t, row) => {
    // Every level of the type, so a level with no sample shows as an empty (grey) cell.
    for (let level = 0; level < t.levels_total; level++) {
      const l = s.levels.find((x) => x.type === t.type && x.level === level);
      const value = l ? (rendered ? l.samples : (l.planned ?? 0)) : 0;
      const planned = l && l.planned !== null ? `, ${n(l.planned)} planned` : '';
      const id = l ? ` (${l.level_id})` : '';
      cells.push({ row, col: level, value, title: `${t.type} level ${level}${id}: ${n(l?.samples ?? 0)} samples${planned}` });
    }
  });
  return heatmap(
    types.map((t) => t.type),
    cols,
    cells,
    { title: rendered ? 'samples per type and level' : 'planned samples per type and level', colLabel: 'level index (mildest 0); grey: no sample' },
  );
}

function psnrGrid(s: DatasetStats): string {
  const charts = s.types
    .filter((t) => t.psnr.n > 0)
    .map((t) => {
      const med = t.psnr.median === null ? '' : ` · median ${t.psnr.median.toFixed(1)} dB`;
      return `<figure>${histogram(s.psnr_histograms[t.type] ?? [], {
        title: `${t.type}${med}`,
        from: 0,
        binWidth: 1,
        unit: 'dB',
        labelEvery: 10,
        lastOpen: true,
        color: t.real > t.synthetic ? COLORS.real : COLORS.synthetic,
      })}</figure>`;
    });
  return charts.length ? `<div class="grid">${charts.join('')}</div>` : '<p class="dim">No rendered samples yet.</p>';
}

function shardChart(s: DatasetStats): string {
  const sh = s.shards;
  if (sh.count === 0) return `<p class="dim">No shards written yet${sh.planned !== null ? ` (${n(sh.planned)} planned)` : ''}.</p>`;
  const summary = `<p>${n(sh.count)} shards, ${bytes(sh.bytes)}; ${bytes(sh.bytes_min)} to ${bytes(sh.bytes_max)} each (median ${bytes(sh.bytes_median)}), largest/mean ${(sh.bytes_max_over_mean ?? 0).toFixed(2)}; ${n(sh.samples_min)} to ${n(sh.samples_max)} samples each${sh.planned !== null ? `; ${n(sh.planned)} planned, ${n(sh.missing ?? 0)} missing` : ''}.</p>`;
  if (sh.sizes.length <= 800) {
    return summary + columns(sh.sizes.map((x) => ({ label: x.name, value: x.bytes })), { title: 'shard sizes', unit: bytes });
  }
  // Too many shards for a column each: a histogram of their sizes.
  const lo = sh.bytes_min;
  const width = Math.max(1, (sh.bytes_max - lo) / 40);
  const bins = new Array<number>(40).fill(0);
  for (const x of sh.sizes) bins[Math.min(39, Math.floor((x.bytes - lo) / width))]++;
  return summary + histogram(bins, { title: 'shards by size', from: 0, binWidth: 1, width: 720, height: 160, unit: 'bin', color: '#0f766e' });
}

function exampleGrid(s: DatasetStats, examples: readonly Example[]): string {
  if (examples.length === 0) return '<p class="dim">No rendered samples yet.</p>';
  const rows = s.types
    .map((t) => {
      const mine = examples.filter((e) => e.row.type === t.type);
      if (mine.length === 0) return '';
      const figs = mine
        .map((e) => {
          const psnr = e.row.psnr === null ? '' : Number.isFinite(e.row.psnr) ? ` · ${e.row.psnr.toFixed(1)} dB` : ' · identical';
          const what = e.row.real ? 'real' : e.row.level_id;
          return `<figure class="pair"><div><img src="${e.gt}" alt="${esc(`${t.type} ${what} gt`)}"><img src="${e.lq}" alt="${esc(`${t.type} ${what} lq`)}"></div><figcaption>${esc(what)}${esc(psnr)}</figcaption></figure>`;
        })
        .join('');
      return `<div class="examples"><div class="typelabel"><b>${esc(t.type)}</b><span>${esc(t.name)}</span></div>${figs}</div>`;
    })
    .join('');
  return `<p class="note">Each pair: clean (gt) left, degraded (lq) right; levels from mildest to most severe. Thumbnails are JPEG; the shards hold lossless PNG.</p>${rows}`;
}

function typeTable(s: DatasetStats): string {
  const withSsim = s.types.some((t) => t.ssim !== null);
  const withPlan = s.types.some((t) => t.planned !== null);
  const head = `<tr><th>type</th><th>name</th><th>samples</th><th>real</th><th>levels</th><th>per level</th><th>PSNR dB median [p10, p90]</th>${withSsim ? '<th>SSIM median [p10, p90]</th><th>n</th>' : ''}${withPlan ? '<th>planned</th><th>missing</th>' : ''}</tr>`;
  const body = s.types
    .map((t) => {
      const per = t.levels_present ? (t.per_level_min === t.per_level_max ? n(t.per_level_min) : `${n(t.per_level_min)}–${n(t.per_level_max)}`) : '–';
      return (
        `<tr><td><b>${esc(t.type)}</b></td><td>${esc(t.name)}</td><td class="r">${n(t.samples)}</td><td class="r">${n(t.real)}</td><td class="r">${t.levels_present}/${t.levels_total}</td><td class="r">${per}</td>` +
        `<td class="r">${quant(t.psnr, 2)}${t.psnr.identical ? ` <span class="dim">+${n(t.psnr.identical)} identical</span>` : ''}</td>` +
        (withSsim ? `<td class="r">${quant(t.ssim, 3)}</td><td class="r">${t.ssim ? t.ssim.n : '–'}</td>` : '') +
        (withPlan ? `<td class="r">${t.planned === null ? '–' : n(t.planned)}</td><td class="r">${t.missing === null ? '–' : n(t.missing)}</td>` : '') +
        '</tr>'
      );
    })
    .join('');
  return `<table>${head}${body}</table>`;
}

function otherTables(s: DatasetStats): string {
  const splits =
    '<table><tr><th>split</th><th>samples</th><th>sources</th><th>planned</th><th>asked (fraction of sources)</th></tr>' +
    s.splits
      .map((x) => `<tr><td>${esc(x.split)}</td><td class="r">${n(x.samples)}</td><td class="r">${n(x.sources)}</td><td class="r">${x.planned === null ? '–' : n(x.planned)}</td><td class="r">${x.requested_fraction ?? '–'}</td></tr>`)
      .join('') +
    '</table>';
  const src = s.sources;
  const errors = src.errors.length
    ? `<table><tr><th>stage</th><th>count</th><th>examples</th></tr>${src.errors
        .map((e) => `<tr><td>${esc(e.stage)}</td><td class="r">${n(e.count)}</td><td>${e.examples.map((x) => `<code>${esc(x.path)}</code>: ${esc(x.message)}`).join('<br>')}</td></tr>`)
        .join('')}</table>`
    : '<p class="dim">No input was skipped.</p>';
  const collections = src.by_collection.length ? `<p>By collection: ${src.by_collection.map((c) => `${esc(c.collection)} ${n(c.sources)}`).join(' · ')}</p>` : '';
  const sources = `<p>${n(src.known)} sources known, ${n(src.used)} used${src.planned !== null ? `, ${n(src.planned)} planned` : ''}; ${n(src.skipped)} inputs skipped, ${n(src.duplicated)} duplicates.</p>${collections}${errors}`;
  const imports = s.imports.length
    ? `<table><tr><th>type</th><th>datasets</th><th>layout</th><th>expected</th><th>present</th><th>missing</th><th>add with</th></tr>${s.imports
        .map(
          (e) =>
            `<tr><td><b>${esc(e.type)}</b></td><td>${esc(e.datasets.join(', '))}</td><td>${esc(e.layout)}</td><td class="r">${n(e.expected)}</td><td class="r">${n(e.present)}</td><td class="r">${n(e.missing)}</td><td>${e.missing > 0 ? `<code>${esc(e.command)}</code>` : '✓'}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const v = s.runs.latest_versions;
  const runs =
    `<p>${s.runs.count} runs (${Object.entries(s.runs.commands).map(([k, c]) => `${esc(k)} ${c}`).join(', ')}); uirgen ${esc(s.runs.toolkit_versions.join(', '))}` +
    `${Object.entries(v).filter(([k, x]) => k !== 'uirgen' && typeof x === 'string').map(([k, x]) => ` · ${esc(k)} ${esc(String(x))}`).join('')}` +
    `${s.runs.last_finished ? ` · last finished ${esc(s.runs.last_finished)}` : ''}.</p>` +
    (s.recipe ? `<p>Recipe <b>${esc(s.recipe.name)}</b>: seed <code>${esc(s.recipe.seed)}</code>, crop ${s.recipe.crop}, ${n(s.recipe.shard_samples)} samples per shard, prefix <code>${esc(s.recipe.prefix)}</code>.</p>` : '') +
    (s.plan ? `<p>Plan: ${n(s.plan.samples)} samples in ${n(s.plan.shards)} shards${s.plan.virtual ? ', over <b>virtual</b> sources (for inspection)' : ''}; fingerprint <code>${esc(s.plan.fingerprint.slice(0, 16))}</code>.</p>` : '');
  return (
    section('splits', 'Splits', splits) +
    section('sources', 'Sources', sources) +
    (imports ? section('imports', 'Imports the recipe expects', imports, 'Real paired datasets are added with <code>uirgen import</code>, not synthesized.') : '') +
    section('provenance', 'Recipe, runs and versions', runs)
  );
}

function cards(s: DatasetStats): string {
  const t = s.totals;
  const items: [string, string][] = [
    ['samples', n(t.samples)],
    ['synthetic / real', `${n(t.synthetic)} / ${n(t.real)}`],
    ['types', `${t.types} of 19`],
    ['levels', `${t.levels_present} / ${t.levels_total}`],
    ['shards', `${n(s.shards.count)} · ${bytes(s.shards.bytes)}`],
    ['sources', n(s.sources.used || s.sources.known)],
  ];
  if (t.planned !== null) items.push(['planned / missing', `${n(t.planned)} / ${n(t.missing ?? 0)}`]);
  const missingImports = s.imports.reduce((a, e) => a + e.missing, 0);
  if (s.imports.length) items.push(['imports missing', n(missingImports)]);
  return `<div class="cards">${items.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('')}</div>`;
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111827;background:#f9fafb}
header{background:#111827;color:#f9fafb;padding:20px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#d1d5db}
main{max-width:1240px;margin:0 auto;padding:8px 32px 48px}section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:16px 20px;margin:18px 0}
h2{font-size:16px;margin:0 0 10px}.note,.dim{color:#6b7280}.note{margin:0 0 10px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin-top:18px}.card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:10px 14px}
.card .k{color:#6b7280;font-size:12px}.card .v{font-size:18px;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(224px,1fr));gap:6px}.grid figure{margin:0}
.legend{display:flex;gap:16px;font-size:12px;color:#374151;margin-bottom:4px}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend i.outline{border:1px dashed #9ca3af}
table{border-collapse:collapse;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #f3f4f6;text-align:left;vertical-align:top}th{color:#374151;font-weight:600;background:#f9fafb}
td.r{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}code{font-size:12px;background:#f3f4f6;padding:1px 4px;border-radius:4px}
.examples{display:flex;flex-wrap:nowrap;overflow-x:auto;align-items:flex-start;gap:10px;padding:8px 0;border-bottom:1px solid #f3f4f6}
.typelabel{flex:0 0 120px;display:flex;flex-direction:column}.typelabel span{color:#6b7280;font-size:12px}
figure.pair{margin:0}figure.pair div{display:flex;gap:2px}figure.pair img{width:${THUMB}px;height:${THUMB}px;object-fit:contain;background:#e5e7eb;border-radius:3px}
figure.pair figcaption{font-size:11px;color:#374151;text-align:center;max-width:${2 * THUMB + 2}px}
svg.chart{max-width:100%;height:auto}
`;

/** The report as one HTML string. */
export async function renderHtmlReport(s: DatasetStats, options: HtmlOptions = {}): Promise<string> {
  const perType = options.examples ?? DEFAULT_EXAMPLES;
  const examples = await examplesOf(
    s.dataset,
    s.types.filter((t) => t.samples > 0).map((t) => t.type),
    perType,
  );
  const title = s.recipe ? `${s.recipe.name}` : s.dataset.split('/').pop() ?? s.dataset;
  const writing = s.writer ? `<p>Being written by ${esc(s.writer)}: figures as of the last committed shard.</p>` : '';
  const psnrNote = `Every sample's PSNR(lq, gt) from the manifest, 1 dB bins; the last bin holds ${HISTOGRAM_TOP} dB and up. Identical pairs (infinite PSNR) are not drawn.`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`uirgen stats: ${title}`)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1><p>${esc(s.dataset)} · uirgen ${esc(TOOLKIT_VERSION)} stats</p>${writing}</header><main>
${cards(s)}
${section('types', 'Samples per type', typeBars(s))}
${section('levels', 'Type × level', levelHeatmap(s), 'Each cell: samples of one level (hover for the level id and count). Real captures are not in this map.')}
${section('psnr', 'PSNR of lq against gt, per type', psnrGrid(s), psnrNote)}
${section('table', 'Per type', typeTable(s), s.types.some((t) => t.ssim) ? 'SSIM is measured on a sampled subset decoded from the shards (n per type); PSNR on every sample.' : '')}
${section('shards', 'Shards', shardChart(s))}
${section('examples', 'Example pairs', exampleGrid(s, examples))}
${otherTables(s)}
</main></body></html>
`;
}

export async function writeHtmlReport(s: DatasetStats, file: string, options: HtmlOptions = {}): Promise<void> {
  await writeFile(file, await renderHtmlReport(s, options));
}
