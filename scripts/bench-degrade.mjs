#!/usr/bin/env node
// Milliseconds per 256x256 crop for each of the 19 types on one core: median over runs that cycle
// through every level with fresh random params (seeded, so the figure is repeatable).
// Usage: npm run bench:degrade [-- --runs 21 --json --cpu]
// --cpu times each run by the process's CPU time (user + system) instead of the wall clock: on a machine
// shared with other jobs, wall time includes waiting for a core, CPU time much less so.
import sharp from 'sharp';
import { decodeImage } from '../dist/core/io.js';
import { cropImage } from '../dist/core/image.js';
import { createRng, deriveSeed } from '../dist/core/random.js';
import { listDegradations } from '../dist/degradations/registry.js';

sharp.concurrency(1); // one libvips thread: the figure is per core
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) > 0 && args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 21;
const asJson = args.includes('--json');
const cpu = args.includes('--cpu');
const clock = cpu
  ? () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
  : () => performance.now();

const photo = await decodeImage(new URL('../samples/images/coffee.png', import.meta.url).pathname);
const crop = cropImage(photo, 100, 60, 256, 256);
const info = { width: 256, height: 256 };
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (const d of listDegradations()) {
  // warm-up: one apply per level so JIT and lazily built tables are not timed
  for (let l = 0; l < d.levels.length; l++) await d.apply(crop, d.sample(l, createRng(deriveSeed('warm', d.id, l)), info));
  const times = [];
  for (let r = 0; r < runs; r++) {
    const level = r % d.levels.length;
    const t0 = clock();
    const params = d.sample(level, createRng(deriveSeed('bench', d.id, r)), info);
    await d.apply(crop, params);
    times.push(clock() - t0);
  }
  rows.push({ type: d.id, levels: d.levels.length, median_ms: median(times), max_ms: Math.max(...times) });
}
const mean = rows.reduce((s, r) => s + r.median_ms, 0) / rows.length;
if (asJson) {
  process.stdout.write(`${JSON.stringify({ runs, crop: '256x256', clock: cpu ? 'cpu' : 'wall', rows, mean_of_medians_ms: mean })}\n`);
} else {
  console.log(`ms per 256x256 crop, one core, median of ${runs} runs over the type's levels (${cpu ? 'CPU time' : 'wall clock'})`);
  console.log('type   levels  median_ms   max_ms');
  for (const r of rows) console.log(`${r.type.padEnd(6)} ${String(r.levels).padStart(6)} ${r.median_ms.toFixed(2).padStart(10)} ${r.max_ms.toFixed(2).padStart(8)}`);
  console.log(`mean of medians over ${rows.length} types: ${mean.toFixed(2)} ms; worst median: ${Math.max(...rows.map((r) => r.median_ms)).toFixed(2)} ms`);
  console.log(`targets: every type < 40 ms, mean < 12 ms -> ${rows.every((r) => r.median_ms < 40) && mean < 12 ? 'met' : 'NOT met'}`);
}
