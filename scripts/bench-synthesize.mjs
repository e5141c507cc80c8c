#!/usr/bin/env node
// Throughput and memory of `uirgen synthesize` (built code in dist/): pairs/s and peak RSS for
// 256x256 crops from the bundled photos with 2 worker threads, for (a) the six cheap types and
// (b) all 19. RSS is the whole process (main thread + worker threads), sampled every 50 ms.
//
//   npm run bench:synthesize                  # defaults below
//   node scripts/bench-synthesize.mjs --samples-a 1200 --samples-b 760 --workers 2 --json
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { synthesize } = await import(join(root, 'dist/pipeline/synthesize.js'));
const { normalizeRecipe } = await import(join(root, 'dist/pipeline/recipe.js'));

const { values } = parseArgs({
  options: {
    'samples-a': { type: 'string', default: '1200' },
    'samples-b': { type: 'string', default: '760' },
    workers: { type: 'string', default: '2' },
    crop: { type: 'string', default: '256' },
    json: { type: 'boolean', default: false },
  },
});

const GiB = 2 ** 30;
const TARGETS = { a: 120, b: 60, rss: 1.5 * GiB };
const workers = Number(values.workers);
const crop = Number(values.crop);

async function run(label, types, samples) {
  const out = mkdtempSync(join(tmpdir(), 'uirgen-bench-'));
  const recipe = normalizeRecipe({
    sources: [join(root, 'samples/images')],
    crop,
    samples,
    types,
    seed: 'bench',
    shard_samples: 200,
  });
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  try {
    const s = await synthesize({ recipe, out, workers });
    peak = Math.max(peak, process.memoryUsage.rss());
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    // CPU time of all threads per pair: on a machine shared with other jobs, wall-clock pairs/s
    // falls with their load, CPU per pair much less.
    const cpuMsPerPair = (cpu.user + cpu.system) / 1000 / s.made;
    return {
      label,
      types: types === 'all' ? 'all 19' : types.join(' '),
      samples: s.made,
      seconds: s.seconds,
      pairs_per_s: s.pairs_per_s,
      cpu_ms_per_pair: Math.round(cpuMsPerPair * 10) / 10,
      main_ms_per_pair: Math.round((elu.active / s.made) * 10) / 10,
      peak_rss_mib: Math.round(peak / 2 ** 20),
      errors: s.errors,
    };
  } finally {
    clearInterval(timer);
    rmSync(out, { recursive: true, force: true });
  }
}

function line(r) {
  const target = TARGETS[r.label];
  return (
    `(${r.label}) ${r.types.padEnd(18)} ${String(r.samples).padStart(5)} pairs in ${r.seconds.toFixed(2).padStart(6)} s: ` +
    `${r.pairs_per_s.toFixed(1).padStart(6)} pairs/s (target >= ${target}: ${r.pairs_per_s >= target ? 'ok' : 'MISSED'}), ` +
    `${r.cpu_ms_per_pair} CPU ms/pair (main thread ${r.main_ms_per_pair}), peak RSS ${r.peak_rss_mib} MiB, ${r.errors} errors\n` +
    `    CPU-bound capacity on ${workers} idle cores: ${workers} x 1000 / ${r.cpu_ms_per_pair} = ${((workers * 1000) / r.cpu_ms_per_pair).toFixed(0)} pairs/s ` +
    `(an estimate from the CPU time: other jobs on the machine lower the wall-clock figure above)\n`
  );
}

if (!values.json) {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`synthesize bench: ${crop}x${crop} crops, ${workers} workers, ${availableParallelism()} cores, load average ${load}, node ${process.versions.node}\n`);
}
const results = [];
for (const [label, types, samples] of [
  ['a', ['GN', 'GB', 'MB', 'J', 'H', 'LL'], Number(values['samples-a'])],
  ['b', 'all', Number(values['samples-b'])],
]) {
  if (samples <= 0) continue;
  const r = await run(label, types, samples);
  results.push(r);
  if (!values.json) process.stdout.write(line(r));
}
const maxRss = process.resourceUsage().maxRSS * 1024;
const verdict = Object.fromEntries([...results.map((r) => [r.label, r.pairs_per_s >= TARGETS[r.label]]), ['rss', maxRss < TARGETS.rss]]);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ workers, crop, results, max_rss_mib: Math.round(maxRss / 2 ** 20), verdict })}\n`);
} else {
  process.stdout.write(`peak RSS of the process (getrusage maxrss, all threads): ${Math.round(maxRss / 2 ** 20)} MiB (target < 1536: ${verdict.rss ? 'ok' : 'MISSED'})\n`);
}
