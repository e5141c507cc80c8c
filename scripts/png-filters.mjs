#!/usr/bin/env node
// The measurement behind src/core/png.ts's choice of the Average filter: the size, after uirgen's
// level-1 deflate, of every PNG filter choice (five fixed ones and libpng's per-row adaptive
// heuristic) over pairs that `synthesize` makes from the bundled photos.
//   npm run build && node scripts/png-filters.mjs [six|all] [pairs]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { zlibCompress } from '../dist/core/deflate.js';
import { synthesize } from '../dist/pipeline/synthesize.js';
import { normalizeRecipe } from '../dist/pipeline/recipe.js';

const root = fileURLToPath(new URL('..', import.meta.url));
async function pngMembers(file) {
  const out = [];
  await tar.t({
    file,
    onReadEntry: (entry) => {
      const chunks = [];
      entry.on('data', (c) => chunks.push(c));
      entry.on('end', () => entry.path.endsWith('.png') && out.push(Buffer.concat(chunks)));
    },
  });
  return out;
}
const types = process.argv[2] === 'all' ? 'all' : ['GN', 'GB', 'MB', 'J', 'H', 'LL'];
const out = mkdtempSync(join(tmpdir(), 'filt-'));
await synthesize({ recipe: normalizeRecipe({ sources: [join(root, 'samples/images')], crop: 256, samples: Number(process.argv[3] ?? 120), types, seed: 'filters', shard_samples: 1000 }), out, workers: 2 });
const paeth = (a, b, c) => { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c); return pa <= pb && pa <= pc ? a : pb <= pc ? b : c; };
function filterRow(px, y, w, t, out, o) {
  const s = w * 3, r = y * s, u = r - s;
  out[o] = t;
  for (let i = 0; i < s; i++) {
    const x = px[r + i], a = i >= 3 ? px[r + i - 3] : 0, b = y > 0 ? px[u + i] : 0, c = y > 0 && i >= 3 ? px[u + i - 3] : 0;
    const pred = t === 0 ? 0 : t === 1 ? a : t === 2 ? b : t === 3 ? (a + b) >> 1 : paeth(a, b, c);
    out[o + 1 + i] = (x - pred) & 255;
  }
}
const totals = { none: 0, sub: 0, up: 0, average: 0, paeth: 0, adaptive: 0 };
for (const f of readdirSync(join(out, 'shards'))) {
  for (const png of await pngMembers(join(out, 'shards', f))) {
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const w = info.width, h = info.height, n = h * (w * 3 + 1);
    for (const [k, t] of [['none', 0], ['sub', 1], ['up', 2], ['average', 3], ['paeth', 4]]) {
      const buf = new Uint8Array(n);
      for (let y = 0; y < h; y++) filterRow(data, y, w, t, buf, y * (w * 3 + 1));
      totals[k] += zlibCompress(buf, 1).length;
    }
    // libpng's heuristic: per row, the filter with the least sum of |residual| (as signed bytes)
    const buf = new Uint8Array(n), row = new Uint8Array(w * 3 + 1);
    for (let y = 0; y < h; y++) {
      let best = Infinity, bt = 0;
      for (let t = 0; t < 5; t++) { filterRow(data, y, w, t, row, 0); let s = 0; for (let i = 1; i < row.length; i++) s += row[i] < 128 ? row[i] : 256 - row[i]; if (s < best) { best = s; bt = t; } }
      filterRow(data, y, w, bt, buf, y * (w * 3 + 1));
    }
    totals.adaptive += zlibCompress(buf, 1).length;
  }
}
rmSync(out, { recursive: true });
const base = totals.average;
console.log(`${types === 'all' ? 'all 19 types' : 'six types'}: bytes of all PNGs per filter, and as a share of Average's`);
for (const [k, v] of Object.entries(totals)) console.log(`  ${k.padEnd(9)} ${String(v).padStart(10)} ${((100 * v) / base).toFixed(1).padStart(6)}%`);
