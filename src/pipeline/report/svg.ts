/**
 * The few charts the stats report draws, as plain SVG strings: horizontal stacked bars, a heat map,
 * a histogram and a column chart. No script, no fonts beyond the browser's own sans-serif, so the
 * report stays one self-contained file that any browser (or an SVG viewer) shows the same way.
 * Every mark carries a <title>, which browsers show as a tooltip. Pure functions of their input.
 */

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, sans-serif"';
const AXIS = '#6b7280';
const GRID = '#e5e7eb';

function fmt(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 0 : 1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(x >= 1e4 ? 0 : 1)}k`;
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

/** Round numbers for an axis from 0 to at least `max`: about `count` steps of 1, 2 or 5 x 10^k. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

export interface Segment {
  value: number;
  color: string;
  title: string;
}

export interface BarRow {
  label: string;
  segments: Segment[];
  /** A thin outline to this value (planned, expected), drawn behind the bar. */
  target?: { value: number; title: string };
}

/** Horizontal stacked bars, one row per label, value axis on top. */
export function barChart(rows: readonly BarRow[], opts: { width?: number; rowHeight?: number; title: string }): string {
  const width = opts.width ?? 720;
  const rh = opts.rowHeight ?? 22;
  const left = 64;
  const right = 96;
  const top = 26;
  const plotW = width - left - right;
  const max = Math.max(1, ...rows.map((r) => Math.max(r.segments.reduce((a, s) => a + s.value, 0), r.target?.value ?? 0)));
  const ticks = niceTicks(max);
  const scale = plotW / ticks[ticks.length - 1];
  const height = top + rows.length * rh + 8;
  const parts: string[] = [];
  for (const t of ticks) {
    const x = left + t * scale;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${height - 8}" stroke="${GRID}"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${top - 10}" text-anchor="middle" font-size="11" fill="${AXIS}">${fmt(t)}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rh;
    parts.push(`<text x="${left - 8}" y="${y + rh / 2 + 4}" text-anchor="end" font-size="12" fill="#111827">${esc(r.label)}</text>`);
    if (r.target && r.target.value > 0) {
      parts.push(
        `<rect class="target" x="${left}" y="${y + 4}" width="${(r.target.value * scale).toFixed(1)}" height="${rh - 8}" fill="#f3f4f6" stroke="#9ca3af" stroke-dasharray="3 2"><title>${esc(r.target.title)}</title></rect>`,
      );
    }
    let x = left;
    for (const s of r.segments) {
      if (s.value <= 0) continue;
      const w = s.value * scale;
      parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${y + 4}" width="${Math.max(w, 0.5).toFixed(1)}" height="${rh - 8}" fill="${s.color}"><title>${esc(s.title)}</title></rect>`);
      x += w;
    }
    const total = r.segments.reduce((a, s) => a + s.value, 0);
    const end = Math.max(x, left + (r.target?.value ?? 0) * scale);
    const of = r.target && r.target.value > total ? ` of ${fmt(r.target.value)}` : '';
    parts.push(`<text x="${(end + 6).toFixed(1)}" y="${y + rh / 2 + 4}" font-size="11" fill="${AXIS}">${fmt(total)}${of}</text>`);
  });
  return svg(width, height, opts.title, parts);
}

/** Colour for t in [0, 1] on a perceptually ordered scale (viridis stops, linear between them). */
export function sequential(t: number): string {
  const stops = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = (h: string, k: number): number => parseInt(h.slice(1 + 2 * k, 3 + 2 * k), 16);
  const mix = [0, 1, 2].map((k) => Math.round(c(stops[i], k) + f * (c(stops[i + 1], k) - c(stops[i], k))));
  return `#${mix.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

export interface HeatCell {
  row: number;
  col: number;
  value: number;
  title: string;
}

/** Rows x columns of coloured cells (0 drawn light grey), with a colour legend. */
export function heatmap(
  rowLabels: readonly string[],
  cols: number,
  cells: readonly HeatCell[],
  opts: { title: string; colLabel: string; cell?: number },
): string {
  const cs = opts.cell ?? 22;
  const left = 64;
  const top = 34;
  const width = Math.max(left + cols * cs + 20, 360);
  const height = top + rowLabels.length * cs + 54;
  const values = cells.map((c) => c.value).filter((v) => v > 0);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  // Counts spanning more than 20x are coloured on a log scale, or the small ones would all look alike.
  const log = lo > 0 && hi / lo > 20;
  const t = (v: number): number => (hi > lo ? (log ? Math.log(v / lo) / Math.log(hi / lo) : (v - lo) / (hi - lo)) : 1);
  const parts: string[] = [];
  for (let c = 0; c < cols; c++) {
    if (cols <= 30 || c % 5 === 0) parts.push(`<text x="${left + c * cs + cs / 2}" y="${top - 6}" text-anchor="middle" font-size="10" fill="${AXIS}">${c}</text>`);
  }
  parts.push(`<text x="${left}" y="${top - 22}" font-size="11" fill="${AXIS}">${esc(opts.colLabel)}</text>`);
  rowLabels.forEach((label, r) => {
    parts.push(`<text x="${left - 8}" y="${top + r * cs + cs / 2 + 4}" text-anchor="end" font-size="12" fill="#111827">${esc(label)}</text>`);
  });
  for (const c of cells) {
    const fill = c.value > 0 ? sequential(t(c.value)) : '#f3f4f6';
    parts.push(
      `<rect class="cell" x="${left + c.col * cs + 1}" y="${top + c.row * cs + 1}" width="${cs - 2}" height="${cs - 2}" rx="2" fill="${fill}"><title>${esc(c.title)}</title></rect>`,
    );
  }
  // Legend: the scale from the fewest to the most samples in a cell.
  const ly = top + rowLabels.length * cs + 18;
  const lw = 200;
  for (let i = 0; i < 20; i++) parts.push(`<rect x="${left + (i * lw) / 20}" y="${ly}" width="${lw / 20 + 0.5}" height="10" fill="${sequential(i / 19)}"/>`);
  parts.push(`<text x="${left}" y="${ly + 24}" font-size="10" fill="${AXIS}">${fmt(lo)}</text>`);
  parts.push(`<text x="${left + lw}" y="${ly + 24}" text-anchor="end" font-size="10" fill="${AXIS}">${fmt(hi)}</text>`);
  parts.push(`<text x="${left + lw + 10}" y="${ly + 9}" font-size="10" fill="${AXIS}">samples per cell${log ? ' (log scale)' : ''}</text>`);
  return svg(width, height, opts.title, parts);
}

/** Vertical bars over equal-width bins starting at `from`; the x axis labelled every `labelEvery` bins. */
export function histogram(
  bins: readonly number[],
  opts: { title: string; from: number; binWidth: number; width?: number; height?: number; color?: string; unit: string; labelEvery?: number; lastOpen?: boolean },
): string {
  const width = opts.width ?? 220;
  const height = opts.height ?? 120;
  const left = 6;
  const bottom = 18;
  const top = 20;
  const plotW = width - left * 2;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...bins);
  const bw = plotW / Math.max(1, bins.length);
  const parts: string[] = [];
  parts.push(`<text x="${left}" y="13" font-size="12" font-weight="600" fill="#111827">${esc(opts.title)}</text>`);
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="${AXIS}"/>`);
  bins.forEach((v, i) => {
    if (v <= 0) return;
    const h = (v / max) * plotH;
    const a = opts.from + i * opts.binWidth;
    const range = opts.lastOpen && i === bins.length - 1 ? `${a} ${opts.unit} and up` : `${a}-${a + opts.binWidth} ${opts.unit}`;
    parts.push(
      `<rect class="bar" x="${(left + i * bw + 0.5).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(bw - 1, 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${opts.color ?? '#2563eb'}"><title>${esc(`${range}: ${v}`)}</title></rect>`,
    );
  });
  const every = opts.labelEvery ?? Math.max(1, Math.ceil(bins.length / 6));
  for (let i = 0; i <= bins.length; i += every) {
    parts.push(`<text x="${(left + i * bw).toFixed(1)}" y="${height - 4}" text-anchor="middle" font-size="10" fill="${AXIS}">${fmt(opts.from + i * opts.binWidth)}</text>`);
  }
  return svg(width, height, opts.title, parts);
}

/** One column per item (shards in name order), height = value, with a value axis. */
export function columns(values: readonly { label: string; value: number }[], opts: { title: string; width?: number; height?: number; unit: (v: number) => string; color?: string }): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 180;
  const left = 56;
  const top = 12;
  const bottom = 22;
  const plotW = width - left - 10;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...values.map((v) => v.value));
  const ticks = niceTicks(max, 4);
  const scale = plotH / ticks[ticks.length - 1];
  const bw = plotW / Math.max(1, values.length);
  const parts: string[] = [];
  for (const t of ticks) {
    const y = top + plotH - t * scale;
    parts.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${left + plotW}" y2="${y.toFixed(1)}" stroke="${GRID}"/>`);
    parts.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="${AXIS}">${esc(opts.unit(t))}</text>`);
  }
  values.forEach((v, i) => {
    const h = v.value * scale;
    parts.push(
      `<rect class="bar" x="${(left + i * bw).toFixed(2)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(bw - (bw > 3 ? 1 : 0), 0.6).toFixed(2)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${opts.color ?? '#0f766e'}"><title>${esc(`${v.label}: ${opts.unit(v.value)}`)}</title></rect>`,
    );
  });
  parts.push(`<text x="${left}" y="${height - 5}" font-size="10" fill="${AXIS}">${esc(values[0]?.label ?? '')}</text>`);
  if (values.length > 1) parts.push(`<text x="${left + plotW}" y="${height - 5}" text-anchor="end" font-size="10" fill="${AXIS}">${esc(values[values.length - 1].label)}</text>`);
  return svg(width, height, opts.title, parts);
}

function svg(width: number, height: number, title: string, parts: readonly string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${esc(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>` +
    `<title>${esc(title)}</title>${parts.join('')}</svg>`
  );
}
