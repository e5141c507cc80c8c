#!/usr/bin/env node
// Does a level mean the same thing at every frame size? For each type, its mildest, middle and harshest level
// (per variant) is applied to the same view of each bundled photo (the largest centred square, resized to N x N)
// at several sizes N; the script prints the median PSNR (RGB and Y) over photos x seeds per size, and the spread
// (max - min over the sizes, in dB). A type whose particles or kernels are sized for 256 px crops but whose
// counts are per pixel shows a PSNR that falls as N grows.
// --native takes centre N x N crops at the photos' own resolution instead (only photos at least as large as the
// largest size): a larger frame is then a wider view at the same detail per pixel, which is the fair test for
// types sized in absolute pixels (blur kernels, JPEG blocks, mosaics), whose PSNR on resized views also moves
// with how much detail the resize leaves per pixel (upscaled photos are smooth, so a pixel-sized blur does less).
// Usage: npm run calibrate:sizes -- [--types S,RD,H] [--sizes 128,256,384,512] [--seeds 2] [--native] [--json]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../dist/core/io.js';
import { cropImage } from '../dist/core/image.js';
import { psnr } from '../dist/core/metrics.js';
import { resize } from '../dist/core/resize.js';
import { createRng, deriveSeed } from '../dist/core/random.js';
import { getDegradation, listDegradations } from '../dist/degradations/registry.js';

const USAGE = 'usage: node scripts/size-dependence.mjs [--types S,RD] [--sizes 128,256,384,512] [--seeds 2] [--native] [--json]';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`${USAGE}\nMedian PSNR of each type's mildest, middle and harshest level on the same photo views at several frame sizes\n(--native: centre crops at the photos' own resolution).`);
  process.exit(0);
}
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const sizes = opt('--sizes', '128,256,384,512').split(',').map(Number);
const seeds = Number(opt('--seeds', '2'));
const asJson = args.includes('--json');
const native = args.includes('--native');
if (!sizes.every((n) => Number.isInteger(n) && n >= 32) || !(Number.isInteger(seeds) && seeds >= 1)) {
  console.error(`size-dependence: --sizes must be integers >= 32 and --seeds an integer >= 1\n${USAGE}`);
  process.exit(2);
}
let types;
try {
  types = opt('--types', null)?.split(',').map((id) => getDegradation(id)) ?? listDegradations();
} catch (e) {
  console.error(`size-dependence: ${e.message}\n${USAGE}`);
  process.exit(2);
}

const samples = fileURLToPath(new URL('../samples/images/', import.meta.url));
const photos = [];
const views = [];
for (const f of readdirSync(samples).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()) {
  const im = await decodeImage(join(samples, f));
  const side = Math.min(im.width, im.height);
  if (native && side < Math.max(...sizes)) continue;
  photos.push(f);
  views.push(native ? im : cropImage(im, (im.width - side) >> 1, (im.height - side) >> 1, side, side));
}
if (views.length === 0) {
  console.error(`size-dependence: no bundled photo is ${Math.max(...sizes)} px on its short side; lower --sizes\n${USAGE}`);
  process.exit(1);
}
const frame = (v, n) => (native ? cropImage(v, (v.width - n) >> 1, (v.height - n) >> 1, n, n) : resize(v, n, n, v.width > n ? 'area' : 'bicubic'));
const framed = new Map(sizes.map((n) => [n, views.map((v) => frame(v, n))]));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (const d of types) {
  const variants = [...new Set(d.levels.map((l) => l.variant))];
  for (const variant of variants) {
    const indices = d.levels.flatMap((l, i) => (l.variant === variant ? [i] : []));
    const picks = [...new Set([indices[0], indices[(indices.length - 1) >> 1], indices[indices.length - 1]])];
    for (const level of picks) {
      const bySize = {};
      for (const n of sizes) {
        const rgb = [];
        const y = [];
        for (const [i, clean] of framed.get(n).entries()) {
          for (let s = 0; s < seeds; s++) {
            // The same seed at every size: the same random choices, drawn for a frame of that size.
            const lq = await d.apply(clean, d.sample(level, createRng(deriveSeed('size-dependence', d.id, i, s)), clean));
            rgb.push(Math.min(psnr(lq, clean), 99));
            y.push(Math.min(psnr(lq, clean, { test_y_channel: true }), 99));
          }
        }
        bySize[n] = { rgb: median(rgb), y: median(y) };
      }
      const ys = sizes.map((n) => bySize[n].y);
      rows.push({ type: d.id, version: d.version, level: d.levels[level].id, sizes: bySize, spreadY: Math.max(...ys) - Math.min(...ys) });
      if (!asJson) {
        const cells = sizes.map((n) => `${bySize[n].rgb.toFixed(2)}/${bySize[n].y.toFixed(2)}`.padStart(12)).join(' ');
        console.log(`${`${d.id}@${d.version}`.padEnd(8)} ${d.levels[level].id.padEnd(22)} ${cells}   spread Y ${rows.at(-1).spreadY.toFixed(2)} dB`);
      }
    }
  }
  if (!asJson) process.stderr.write(`size-dependence: ${d.id} done\n`);
}
if (asJson) process.stdout.write(`${JSON.stringify({ photos, sizes, seeds, mode: native ? 'native' : 'resized', rows })}\n`);
else console.log(`columns: RGB/Y dB at ${sizes.join(', ')} px (median over ${photos.length} photos x ${seeds} seeds, ${native ? 'centre crops at native resolution' : 'same view resized'}: ${photos.join(', ')})`);
