#!/usr/bin/env node
// npm run bench:plan: the full UIR-2.5M composition (manifests/uir-2.5m.json, 2,403,691 synthetic rows)
// planned over virtual sources, then `uirgen stats` on it; then the same stats on a samples table of the
// same size (rows copied from the plan with made-up hashes, offsets and PSNR: no pixels), which is what
// stats meets on the rendered dataset. Each step runs in its own process (wall time, peak RSS).
// Targets (issue 9): plan < 120 s on the 2-core machine, stats < 5 s, manifest < 1.5 GB, memory bounded.
// Usage: npm run bench:plan [-- --keep DIR] [--stats-runs N] [--no-rendered]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => join(root, 'dist', p);
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);

async function child(kind, dir) {
  const t0 = performance.now();
  if (kind === 'plan') {
    const { readRecipe } = await import(dist('pipeline/recipe.js'));
    const { writePlan } = await import(dist('pipeline/planned.js'));
    const recipe = await readRecipe(join(root, 'manifests', 'uir-2.5m.json'));
    const s = await writePlan({ recipe, out: dir, virtualSources: true });
    report({ samples: s.samples, shards: s.shards, sources: s.sources });
  } else if (kind === 'stats') {
    const { computeStats } = await import(dist('pipeline/stats.js'));
    const s = await computeStats(dir, { ssimSamples: 0 });
    report({ planned: s.totals.planned, samples: s.totals.samples, types: s.types.length, levels: s.levels.length });
  } else if (kind === 'render-rows') {
    // Stand-in rendered rows: the plan's rows as samples, one shard row per planned shard.
    const { Manifest, MANIFEST_FILE } = await import(dist('pipeline/manifest.js'));
    const m = Manifest.open(join(dir, MANIFEST_FILE));
    m.db.exec(`BEGIN;
      INSERT INTO samples (key, type, level, level_id, params, seed, source_id, crop_x, crop_y, width, height, split, real, shard,
                           offset_gt, offset_lq, lq_sha256, gt_sha256, psnr)
        SELECT key, type, level, level_id, '{}', seed, source_id, crop_x, crop_y, width, height, split, 0, shard,
               512, 100352, seed || seed || substr(seed, 1, 16), seed || seed || substr(seed, 1, 16), 8 + (abs(random()) % 4000) / 100.0
        FROM plan;
      INSERT INTO shards (name, samples, bytes, sha256) SELECT shard, count(*), count(*) * 190000, 'bench' FROM plan GROUP BY shard;
      COMMIT;`);
    m.close();
    report({});
  }
  function report(extra) {
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(`${JSON.stringify({ seconds, max_rss_mib: process.resourceUsage().maxRSS / 1024, ...extra })}\n`);
  }
}

if (args[0] === '--child') {
  await child(args[1], args[2]);
  process.exit(0);
}

function step(kind, dir) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`${kind} failed (exit ${r.status})`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const sizeOf = (dir) => ['manifest.sqlite', 'manifest.sqlite-wal'].map((f) => join(dir, f)).filter(existsSync).reduce((a, f) => a + statSync(f).size, 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const keep = opt('--keep', null);
const statsRuns = Number(opt('--stats-runs', '3'));
const dir = keep ?? mkdtempSync(join(tmpdir(), 'uirgen-bench-plan-'));
if (keep) rmSync(keep, { recursive: true, force: true });

const cpu = cpus();
console.log(`bench:plan: node ${process.versions.node}, ${cpu.length} x ${cpu[0]?.model ?? '?'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`dataset: ${dir}`);
try {
  const plan = step('plan', dir);
  const bytes = sizeOf(dir);
  console.log(
    `plan   ${plan.samples.toLocaleString('en-US')} rows, ${plan.shards} shards, ${plan.sources.toLocaleString('en-US')} virtual sources: ` +
      `${plan.seconds.toFixed(1)} s, peak RSS ${plan.max_rss_mib.toFixed(0)} MiB, manifest ${(bytes / 2 ** 20).toFixed(0)} MiB (${(bytes / plan.samples).toFixed(0)} B/row)`,
  );
  const stats = Array.from({ length: statsRuns }, () => step('stats', dir));
  console.log(`stats  on the plan: median ${median(stats.map((s) => s.seconds)).toFixed(2)} s of ${statsRuns} (${stats.map((s) => s.seconds.toFixed(2)).join(', ')}), peak RSS ${Math.max(...stats.map((s) => s.max_rss_mib)).toFixed(0)} MiB`);
  if (!args.includes('--no-rendered')) {
    const fill = step('render-rows', dir);
    const rendered = Array.from({ length: statsRuns }, () => step('stats', dir));
    console.log(`rows   ${plan.samples.toLocaleString('en-US')} stand-in samples rows written in ${fill.seconds.toFixed(1)} s; manifest now ${(sizeOf(dir) / 2 ** 20).toFixed(0)} MiB`);
    console.log(`stats  on ${plan.samples.toLocaleString('en-US')} samples rows (with PSNR percentiles and histograms): median ${median(rendered.map((s) => s.seconds)).toFixed(2)} s of ${statsRuns} (${rendered.map((s) => s.seconds.toFixed(2)).join(', ')}), peak RSS ${Math.max(...rendered.map((s) => s.max_rss_mib)).toFixed(0)} MiB`);
  }
  console.log(`targets: plan < 120 s, stats < 5 s, manifest < 1536 MiB; load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')} (a shared machine: compare runs taken together)`);
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
