/**
 * The pre-training loss curve as a self-contained SVG: one panel with the reconstruction and
 * classification losses (log scale when they span more than a decade), one with the classification
 * accuracy, both against the step. Hand-written markup, no dependencies; long runs are thinned to a
 * bounded number of points by averaging consecutive records so the file stays small.
 */

export interface CurvePoint {
  step: number;
  loss_rec: number;
  loss_cls: number;
  acc: number;
}

export interface PlotOptions {
  title?: string;
  /** Most points drawn per series (records are averaged in buckets above this); default 600. */
  maxPoints?: number;
  /** Draw the reconstruction-loss series (false for DCPT, which has none); default: any non-zero value. */
  showRec?: boolean;
}

const W = 720;
const PANEL_H = 220;
const GAP = 46;
const M = { left: 64, right: 20, top: 52, bottom: 34 };
const H = M.top + PANEL_H + GAP + PANEL_H * 0.6 + M.bottom;
const COLORS = { rec: '#1f77b4', cls: '#d62728', acc: '#2ca02c' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** Average consecutive points into at most `max` buckets. */
export function thin(points: readonly CurvePoint[], max: number): CurvePoint[] {
  if (points.length <= max) return [...points];
  const out: CurvePoint[] = [];
  for (let b = 0; b < max; b++) {
    const lo = Math.floor((b * points.length) / max);
    const hi = Math.floor(((b + 1) * points.length) / max);
    const n = hi - lo;
    let rec = 0;
    let cls = 0;
    let acc = 0;
    for (let i = lo; i < hi; i++) {
      rec += points[i].loss_rec;
      cls += points[i].loss_cls;
      acc += points[i].acc;
    }
    out.push({ step: points[hi - 1].step, loss_rec: rec / n, loss_cls: cls / n, acc: acc / n });
  }
  return out;
}

/** 1-2-5 ticks covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

interface Axis {
  map(v: number): number;
  ticks: number[];
}

function linearAxis(lo: number, hi: number, from: number, to: number, count: number): Axis {
  const l = lo === hi ? lo - 1 : lo;
  const h = lo === hi ? hi + 1 : hi;
  return { map: (v) => from + ((v - l) / (h - l)) * (to - from), ticks: niceTicks(l, h, count) };
}

function logAxis(lo: number, hi: number, from: number, to: number): Axis {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  const ticks: number[] = [];
  for (let e = Math.floor(a); e <= Math.ceil(b); e++) for (const k of [1, 2, 5]) {
    const v = k * 10 ** e;
    if (v >= lo && v <= hi) ticks.push(v);
  }
  return { map: (v) => from + ((Math.log10(v) - a) / (b - a || 1)) * (to - from), ticks };
}

function legend(showRec: boolean): Array<[string, string]> {
  const items: Array<[string, string]> = showRec ? [[COLORS.rec, 'L1 reconstruction']] : [];
  items.push([COLORS.cls, 'cross-entropy (type)'], [COLORS.acc, 'type accuracy']);
  return items;
}

function polyline(xs: number[], ys: number[], color: string, kind: 'raw' | 'smooth'): string {
  const pts = xs.map((x, i) => `${x.toFixed(1)},${ys[i].toFixed(1)}`).join(' ');
  const style = kind === 'raw' ? 'stroke-width="1" stroke-opacity="0.3"' : 'stroke-width="1.8"';
  return `<polyline class="${kind}" fill="none" stroke="${color}" ${style} points="${pts}"/>`;
}

/** Trailing moving average over `window` points (per-step losses are noisy; the trend is what matters). */
export function movingAverage(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/** A series drawn faint as measured and solid as its moving average. */
function series(xs: number[], values: number[], map: (v: number) => number, color: string, window: number): string {
  const smooth = movingAverage(values, window);
  return [polyline(xs, values.map(map), color, 'raw'), polyline(xs, smooth.map(map), color, 'smooth')].join('\n');
}

function panel(top: number, height: number, xAxis: Axis, yAxis: Axis, yLabel: string): string {
  const x0 = M.left;
  const x1 = W - M.right;
  const parts = [`<rect x="${x0}" y="${top}" width="${x1 - x0}" height="${height}" fill="none" stroke="#888"/>`];
  for (const t of yAxis.ticks) {
    const y = yAxis.map(t);
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xAxis.ticks) {
    const x = xAxis.map(t);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${top + height}" stroke="#eee"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${top + height + 15}" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(`<text transform="translate(16 ${top + height / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  return parts.join('\n');
}

export function lossCurveSvg(records: readonly CurvePoint[], opt: PlotOptions = {}): string {
  const finite = records.filter((r) => Number.isFinite(r.loss_rec) && Number.isFinite(r.loss_cls) && Number.isFinite(r.acc));
  const pts = thin(finite, opt.maxPoints ?? 600);
  const showRec = opt.showRec ?? pts.some((p) => p.loss_rec !== 0);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`;
  const title = `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opt.title ?? 'pre-training')}</text>`;
  if (pts.length === 0) {
    return `${head}\n<rect width="100%" height="100%" fill="white"/>\n${title}\n<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>\n</svg>\n`;
  }
  const steps = pts.map((p) => p.step);
  const xAxis = linearAxis(Math.min(...steps), Math.max(...steps), M.left, W - M.right, 8);
  const xs = steps.map((s) => xAxis.map(s));

  const losses = pts.flatMap((p) => (showRec ? [p.loss_rec, p.loss_cls] : [p.loss_cls]));
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const top1 = M.top;
  const bottom1 = top1 + PANEL_H;
  const lossAxis = lo > 0 && hi / lo > 10 ? logAxis(lo, hi, bottom1, top1) : linearAxis(Math.min(0, lo), hi, bottom1, top1, 5);
  const top2 = bottom1 + GAP;
  const h2 = PANEL_H * 0.6;
  const accAxis = linearAxis(0, 1, top2 + h2, top2, 4);

  const window = Math.max(1, Math.round(pts.length / 40));
  const legendItems = legend(showRec);
  const body = [
    '<rect width="100%" height="100%" fill="white"/>',
    title,
    panel(top1, PANEL_H, xAxis, lossAxis, 'loss'),
    showRec ? series(xs, pts.map((p) => p.loss_rec), lossAxis.map, COLORS.rec, window) : '',
    series(xs, pts.map((p) => p.loss_cls), lossAxis.map, COLORS.cls, window),
    panel(top2, h2, xAxis, accAxis, 'accuracy'),
    series(xs, pts.map((p) => p.acc), accAxis.map, COLORS.acc, window),
    `<text x="${W / 2}" y="${H - 6}" text-anchor="middle">step</text>`,
    // legend: one row between the title and the first panel, clear of the curves
    ...legendItems.map(([c, label], i) => {
      const x = M.left + i * 170;
      return (
        `<line x1="${x}" x2="${x + 20}" y1="${M.top - 10}" y2="${M.top - 10}" stroke="${c}" stroke-width="2"/>` +
        `<text x="${x + 25}" y="${M.top - 6}">${esc(label)}</text>`
      );
    }),
    window > 1 ? `<text x="${W - M.right}" y="${M.top - 6}" text-anchor="end" fill="#666">solid: mean of ${window} points</text>` : '',
  ].filter((s) => s !== '');
  return `${head}\n${body.join('\n')}\n</svg>\n`;
}
