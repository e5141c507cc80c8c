#!/usr/bin/env node
// Contact sheet: every type at three levels (mildest, middle, most severe) beside the clean crop.
// Usage: npm run sheet [-- --out docs/degradations.jpg --tile 192]
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { decodeImage, encodePng } from '../dist/core/io.js';
import { cropImage } from '../dist/core/image.js';
import { createRng, deriveSeed } from '../dist/core/random.js';
import { listDegradations } from '../dist/degradations/registry.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const out = opt('--out', 'docs/degradations.jpg');
const tile = Number(opt('--tile', '192'));
const label = 22;
const photos = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg'];
const crops = [];
for (const f of photos) {
  const im = await decodeImage(new URL(`../samples/images/${f}`, import.meta.url).pathname);
  const s = Math.min(im.width, im.height, 320);
  const c = cropImage(im, (im.width - s) >> 1, (im.height - s) >> 1, s, s);
  crops.push(await sharp(await encodePng(c)).resize(tile, tile).png().toBuffer());
}

const types = listDegradations();
const cols = 4;
const W = cols * tile;
const H = types.length * (tile + label);
const layers = [];
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
for (const [row, d] of types.entries()) {
  const clean = crops[row % crops.length];
  const cleanImage = await decodeImage(clean);
  const picks = [0, Math.floor((d.levels.length - 1) / 2), d.levels.length - 1];
  const y = row * (tile + label);
  layers.push({ input: clean, left: 0, top: y + label });
  const captions = [`${d.id}: clean`];
  for (const [i, level] of picks.entries()) {
    const params = d.sample(level, createRng(deriveSeed('sheet', d.id, level)), { width: tile, height: tile });
    const lq = await d.apply(cleanImage, params);
    layers.push({ input: await encodePng(lq), left: (i + 1) * tile, top: y + label });
    captions.push(`${d.id} ${d.levels[level].id}`);
  }
  const svg = `<svg width="${W}" height="${label}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#222"/>${captions
    .map((c, i) => `<text x="${i * tile + 4}" y="16" font-family="DejaVu Sans, sans-serif" font-size="13" fill="#fff">${esc(c)}</text>`)
    .join('')}</svg>`;
  layers.push({ input: Buffer.from(svg), left: 0, top: y });
}
mkdirSync(dirname(out), { recursive: true });
const sheet = sharp({ create: { width: W, height: H, channels: 3, background: '#000' } }).composite(layers);
// a documentation picture: JPEG keeps the repository light (a PNG of this sheet is ~6 MB)
await (/\.png$/i.test(out) ? sheet.png() : sheet.jpeg({ quality: 85, mozjpeg: true })).toFile(out);
console.log(`wrote ${out} (${W}x${H}): ${types.length} types x (clean + 3 levels)`);
