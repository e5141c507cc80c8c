#!/usr/bin/env node
// The demo (`npm run demo`): synthesize the recipe manifests/demo.json from the five bundled photos
// into ./demo-out (removed first, so every demo starts clean), then print what was made.
// Uses the built code in dist/ (npm run demo builds first).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => join(root, 'dist', p);
const { readRecipe } = await import(dist('pipeline/recipe.js'));
const { synthesize } = await import(dist('pipeline/synthesize.js'));
const { createProgress } = await import(dist('pipeline/progress.js'));
const { describeSummary } = await import(dist('cli/synthesize.js'));
const { Manifest } = await import(dist('pipeline/manifest.js'));

const out = join(process.cwd(), 'demo-out');
rmSync(out, { recursive: true, force: true });
const recipe = await readRecipe(join(root, 'manifests', 'demo.json'));
process.stdout.write(`uirgen demo: ${recipe.samples} pairs from ${recipe.sources.join(', ')} (recipe manifests/demo.json) into ${out}\n`);
const summary = await synthesize({ recipe, out, progress: createProgress() });
process.stdout.write(describeSummary(summary));

const m = Manifest.open(join(out, 'manifest.sqlite'), { readonly: true });
try {
  const rows = m.db
    .prepare('SELECT type, count(*) AS n, count(DISTINCT level) AS levels, avg(psnr) AS psnr FROM samples GROUP BY type')
    .all();
  const order = Object.keys(recipe.types);
  rows.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  process.stdout.write('\ntype   pairs  levels  mean PSNR(lq, gt)\n');
  for (const r of rows) {
    process.stdout.write(`${r.type.padEnd(6)} ${String(r.n).padStart(5)}  ${String(r.levels).padStart(6)}  ${r.psnr.toFixed(2).padStart(8)} dB\n`);
  }
  const splits = m.db.prepare('SELECT split, count(*) AS n FROM samples GROUP BY split ORDER BY split').all();
  process.stdout.write(`\nsplits: ${splits.map((s) => `${s.split} ${s.n}`).join(', ')}\n`);
} finally {
  m.close();
}
process.stdout.write(`\nshards: ${join(out, 'shards')}/*.tar (WebDataset: <key>.gt.png, <key>.lq.png, <key>.json)\nmanifest: ${join(out, 'manifest.sqlite')}\n`);
