import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { getDegradation } from '../degradations/registry.js';
import { isTypeId, TYPE_IDS } from '../degradations/types.js';
import { pickExamples, readPair, type ExampleRow } from './examples.js';
import { Manifest, MANIFEST_FILE } from './manifest.js';
import { esc } from './report/svg.js';

/**
 * `uirgen preview`: a labelled contact sheet of a dataset, one row per type, each cell the clean
 * crop (gt) beside the degraded one (lq) at one level, levels spread from mildest to most severe.
 * The pairs are read from the shards through the manifest's offsets (examples.ts), so the sheet
 * shows exactly the stored PNGs, scaled to the tile size; labels are SVG composited by sharp.
 */

export const DEFAULT_PREVIEW_LEVELS = 4;
export const DEFAULT_TILE = 128;

export interface PreviewOptions {
  /** Types, in the order wanted (default: every type in the dataset, in registry order). */
  types?: readonly string[];
  /** Pairs per type, spread over its levels. */
  perType?: number;
  split?: string;
  /** Side of each image in pixels. */
  tile?: number;
}

export interface PreviewSummary {
  out: string;
  width: number;
  height: number;
  types: string[];
  pairs: number;
}

/** A preview that cannot be made as asked (no such type in the dataset, nothing in the split). */
export class PreviewError extends Error {
  override name = 'PreviewError';
}

const LABEL_W = 168;
const CAPTION_H = 18;
const GAP = 8;
/** Between the gt and lq of one pair: small, so the pairs read as pairs. */
const INNER = 2;
/** Between pairs. */
const PAIR_GAP = 16;
const HEADER_H = 34;
const FONT = 'DejaVu Sans, Verdana, sans-serif';

export interface SheetLayout {
  width: number;
  height: number;
  /** Top-left corner of the tile of row `r`, pair `c`, image `k` (0 gt, 1 lq). */
  tile(r: number, c: number, k: 0 | 1): { left: number; top: number };
}

/** Where everything goes on a sheet of `rows` types with `perType` pairs of `tile`-pixel images. */
export function sheetLayout(rows: number, perType: number, tile: number): SheetLayout {
  const cellW = 2 * tile + INNER;
  const rowH = tile + CAPTION_H + GAP;
  return {
    width: LABEL_W + perType * (cellW + PAIR_GAP) - PAIR_GAP + GAP,
    height: HEADER_H + rows * rowH + GAP,
    tile: (r, c, k) => ({ left: LABEL_W + c * (cellW + PAIR_GAP) + k * (tile + INNER), top: HEADER_H + r * rowH }),
  };
}

function order(a: string, b: string): number {
  const ia = isTypeId(a) ? TYPE_IDS.indexOf(a) : TYPE_IDS.length;
  const ib = isTypeId(b) ? TYPE_IDS.indexOf(b) : TYPE_IDS.length;
  return ia - ib || (a < b ? -1 : 1);
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function caption(row: ExampleRow): string {
  const what = row.real ? 'real' : row.level_id;
  if (row.psnr === null) return what;
  return `${what} · ${Number.isFinite(row.psnr) ? `${row.psnr.toFixed(1)} dB` : 'identical'}`;
}

export async function makePreview(dataset: string, out: string, options: PreviewOptions = {}): Promise<PreviewSummary> {
  const ds = resolve(dataset);
  const perType = options.perType ?? DEFAULT_PREVIEW_LEVELS;
  const tile = options.tile ?? DEFAULT_TILE;
  if (!Number.isInteger(perType) || perType < 1) throw new RangeError(`perType must be an integer >= 1, got ${String(perType)}`);
  if (!Number.isInteger(tile) || tile < 16 || tile > 1024) throw new RangeError(`tile must be an integer in 16..1024, got ${String(tile)}`);
  const m = Manifest.open(join(ds, MANIFEST_FILE), { readonly: true });
  let rows: ExampleRow[];
  let types: string[];
  try {
    const present = (m.db.prepare('SELECT DISTINCT type FROM samples').pluck().all() as string[]).sort(order);
    if (present.length === 0) throw new PreviewError(`${ds} has no rendered samples yet (run uirgen synthesize or import first)`);
    types = options.types ? options.types.map((t) => t.toUpperCase()) : present;
    const absent = types.filter((t) => !present.includes(t));
    if (absent.length > 0) throw new PreviewError(`${ds} has no samples of ${absent.join(', ')} (it has ${present.join(' ')})`);
    rows = pickExamples(m.db, { types, perType, ...(options.split === undefined ? {} : { split: options.split }) });
  } finally {
    m.close();
  }
  types = types.filter((t) => rows.some((r) => r.type === t));
  if (types.length === 0) throw new PreviewError(`${ds} has no samples in split "${options.split ?? ''}"`);

  const layout = sheetLayout(types.length, perType, tile);
  const { width, height } = layout;
  const layers: sharp.OverlayOptions[] = [];
  const texts: string[] = [];
  const title = `${ds.split('/').pop() ?? ds}: clean (gt) | degraded (lq), levels mildest to most severe${options.split ? `, split ${options.split}` : ''}`;
  texts.push(`<text x="${GAP}" y="22" font-size="15" font-weight="bold" fill="#111827">${esc(title)}</text>`);
  for (const [r, type] of types.entries()) {
    const y = layout.tile(r, 0, 0).top;
    const name = isTypeId(type) ? getDegradation(type).name : type;
    texts.push(`<text x="${GAP}" y="${y + 22}" font-size="17" font-weight="bold" fill="#111827">${esc(type)}</text>`);
    wrap(name, 20).forEach((line, i) => texts.push(`<text x="${GAP}" y="${y + 42 + i * 15}" font-size="12" fill="#4b5563">${esc(line)}</text>`));
    if (r > 0) texts.push(`<line x1="${GAP}" y1="${y - GAP / 2}" x2="${width - GAP}" y2="${y - GAP / 2}" stroke="#e5e7eb"/>`);
    const mine = rows.filter((x) => x.type === type);
    for (const [c, row] of mine.entries()) {
      const pair = readPair(ds, row);
      for (const [k, png] of [pair.gt, pair.lq].entries()) {
        const at = layout.tile(r, c, k as 0 | 1);
        const { data, info } = await sharp(png).resize(tile, tile, { fit: 'inside' }).png().toBuffer({ resolveWithObject: true });
        // Centred in its tile when the pair is not square (real captures).
        layers.push({ input: data, left: at.left + ((tile - info.width) >> 1), top: at.top + ((tile - info.height) >> 1) });
      }
      const mid = layout.tile(r, c, 1).left - INNER / 2;
      texts.push(`<text x="${mid}" y="${y + tile + 13}" font-size="11" text-anchor="middle" fill="#374151">${esc(caption(row))}</text>`);
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">${texts.join('')}</svg>`;
  layers.push({ input: Buffer.from(svg), left: 0, top: 0 });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .png()
    .toFile(out);
  return { out, width, height, types, pairs: rows.length };
}
