#!/usr/bin/env node
// Synthesis throughput, on the built code (dist/):
//  1. where the CPU goes per pair: every stage of a worker task (decode, crop, params, each type's
//     apply, quantize, PSNR, PNG encode split into filter and deflate, JSON, SHA-256, packing), the
//     hand-off of a task's result between threads, and the main thread's tar writing and SQLite
//     commit, timed on this thread over the same plan the pipeline runs;
//  2. `uirgen synthesize --types GN,GB,MB,J,H,LL` beside the OpenCV pipeline a researcher would
//     write (../shared/peers/opencv_synthesize.py, naive and --decode-once), same photos, crop,
//     pair count and worker count, in alternating rounds so that a noisy neighbour slows all alike;
//     pairs/s, CPU ms per pair (all processes/threads), output KB per pair, and the ratios; then once more
//     on --long-pairs (one round), the rate once start-up and JIT warm-up are paid, and the fixed cost;
//  3. all 19 types: pairs/s, CPU ms per pair and peak RSS.
//
//   npm run bench:synthesize
//   node scripts/bench-synthesize.mjs --pairs 600 --rounds 3 --long-pairs 3000 --all-pairs 760 --workers 2 [--json]
//   node scripts/bench-synthesize.mjs --no-peer --rounds 1      # uirgen only
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const SIX = ['GN', 'GB', 'MB', 'J', 'H', 'LL'];

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '3' },
    'all-pairs': { type: 'string', default: '760' },
    'long-pairs': { type: 'string', default: '3000' },
    'breakdown-pairs': { type: 'string', default: '240' },
    workers: { type: 'string', default: '2' },
    crop: { type: 'string', default: '256' },
    sources: { type: 'string', default: join(root, 'samples/images') },
    peer: { type: 'string', default: resolve(root, '../shared/peers/opencv_synthesize.py') },
    python: { type: 'string' },
    'no-peer': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    // internal: one uirgen run in this (child) process, printed as JSON
    child: { type: 'string' },
  },
});
const workers = Number(values.workers);
const crop = Number(values.crop);
const sources = resolve(values.sources);

function recipeFor(types, samples) {
  return { sources: [sources], crop, samples, types, seed: 'bench', shard_samples: 200 };
}

function dirBytes(dir) {
  let n = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    n += name.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

// --------------------------------------------------------------------------------------------
// A child: one synthesize run, measured from inside (all threads of this process).
if (values.child) {
  const { synthesize } = await import(join(root, 'dist/pipeline/synthesize.js'));
  const { normalizeRecipe } = await import(join(root, 'dist/pipeline/recipe.js'));
  const { types, samples } = JSON.parse(values.child);
  const out = mkdtempSync(join(tmpdir(), 'uirgen-bench-'));
  try {
    const s = await synthesize({ recipe: normalizeRecipe(recipeFor(types, samples)), out, workers });
    const u = process.resourceUsage();
    process.stdout.write(
      `${JSON.stringify({
        pairs: s.made,
        seconds: s.seconds,
        pairs_per_s: s.pairs_per_s,
        cpu_s: (u.userCPUTime + u.systemCPUTime) / 1e6,
        max_rss_mib: Math.round(u.maxRSS / 1024),
        bytes: dirBytes(join(out, 'shards')),
        errors: s.errors,
      })}\n`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  process.exit(0);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const say = (text) => {
  if (!values.json) process.stdout.write(`${text}\n`);
};

// --------------------------------------------------------------------------------------------
// 1. Per-stage breakdown on this thread.
async function breakdown(types, samples) {
  const { buildPlan, workerTask, writeResult } = await import(join(root, 'dist/pipeline/synthesize.js'));
  const { discoverRecipeSources } = await import(join(root, 'dist/pipeline/discover.js'));
  const { normalizeRecipe } = await import(join(root, 'dist/pipeline/recipe.js'));
  const { runTask } = await import(join(root, 'dist/pipeline/worker.js'));
  const { ShardWriter } = await import(join(root, 'dist/pipeline/shards.js'));
  const { Manifest } = await import(join(root, 'dist/pipeline/manifest.js'));
  const { filterAverage, pngEncoder } = await import(join(root, 'dist/core/png.js'));
  const { zlibCompress } = await import(join(root, 'dist/core/deflate.js'));
  const { default: sharp } = await import('sharp');
  const recipe = normalizeRecipe(recipeFor(types, samples));
  const found = await discoverRecipeSources(recipe, () => {});
  const plan = buildPlan(recipe, found.sources);
  // CPU time of this process (this thread, plus libvips' and V8's helper threads working for it):
  // on a machine shared with other jobs it is far steadier than the wall clock.
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const stages = new Map();
  let last = cpuMs();
  const clock = {
    lap(stage) {
      const now = cpuMs();
      stages.set(stage, (stages.get(stage) ?? 0) + (now - last));
      last = now;
    },
    reset() {
      last = cpuMs();
    },
  };
  const out = mkdtempSync(join(tmpdir(), 'uirgen-breakdown-'));
  const manifest = Manifest.open(join(out, 'manifest.sqlite'));
  manifest.upsertSources(plan.sources.map((s) => ({ id: s.sha256.slice(0, 16), path: s.rel, sha256: s.sha256, width: s.width, height: s.height })));
  const pngSamples = [];
  let pairs = 0;
  const t0 = cpuMs();
  try {
    for (let shard = 0; shard < plan.shardCount; shard++) {
      const writer = await ShardWriter.create(join(out, 'shards'), plan.shardName(shard));
      const rows = [];
      for (const task of plan.tasksOfShard(shard, 8)) {
        clock.reset();
        const result = await runTask(workerTask(plan, task, recipe.png_level), clock);
        // What postMessage does with the result: a structured clone, the data buffer transferred.
        const moved = structuredClone(result, { transfer: [result.data.buffer] });
        clock.lap('hand-off (structured clone)');
        rows.push(...(await writeResult(writer, plan, task, moved, () => {})));
        clock.lap('tar write + shard SHA-256');
        pairs += moved.outputs.length;
        if (pngSamples.length < 24) {
          const o = moved.outputs[0];
          pngSamples.push(Buffer.from(moved.data.buffer, moved.data.byteOffset + o.lq[0], o.lq[1]));
          pngSamples.push(Buffer.from(moved.data.buffer, moved.data.byteOffset + o.gt[0], o.gt[1]));
        }
      }
      clock.reset();
      const info = await writer.close();
      clock.lap('shard close (fsync, rename)');
      manifest.commitShard(info, rows);
      clock.lap('SQLite commit');
    }
  } finally {
    manifest.close();
    rmSync(out, { recursive: true, force: true });
  }
  const cpu = cpuMs() - t0;
  // The PNG encode split into its two parts, on decoded copies of some of the stored images.
  let filterMs = 0;
  let deflateMs = 0;
  for (const png of pngSamples) {
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const px = new Uint8Array(data);
    // Ten times each: one encode is too short for the CPU clock's resolution.
    const a = cpuMs();
    let f;
    for (let k = 0; k < 10; k++) f = filterAverage(px, info.width, info.height);
    const b = cpuMs();
    for (let k = 0; k < 10; k++) zlibCompress(f, recipe.png_level);
    filterMs += b - a;
    deflateMs += cpuMs() - b;
  }
  // Per pair (two PNGs): the TypeScript encoder's two parts, whichever encoder the pipeline ran.
  const perPng = (ms) => ms / 10 / pngSamples.length;
  const tsParts = { filter: 2 * perPng(filterMs), deflate: 2 * perPng(deflateMs) };
  // Pipeline order, the types' apply stages together.
  const order = ['decode', 'crop', 'params', 'apply', 'quantize', 'psnr', 'png encode', 'json', 'sha256', 'pack', 'hand-off (structured clone)', 'tar write + shard SHA-256', 'shard close (fsync, rename)', 'SQLite commit'];
  const rank = (stage) => (stage.startsWith('apply ') ? order.indexOf('apply') : order.indexOf(stage));
  const perPair = [...stages].sort((x, y) => rank(x[0]) - rank(y[0]) || (x[0] < y[0] ? -1 : 1)).map(([stage, ms]) => ({ stage, ms_per_pair: ms / pairs }));
  return { pairs, cpu_ms_per_pair: cpu / pairs, stages: perPair, png_encoder: pngEncoder(), typescript_png_parts: tsParts };
}

function printBreakdown(label, b, pipelineCpu) {
  say(`\n${label}: where the CPU goes, ms per pair, one thread (${b.pairs} pairs after a warm-up; 'apply X' is X's share of the pairs' total)`);
  const ts = b.typescript_png_parts;
  const rows = b.stages.flatMap((s) =>
    s.stage === 'png encode'
      ? [
          { ...s, stage: `png encode (${b.png_encoder})` },
          ...(b.png_encoder === 'native' ? [{ stage: '  TypeScript encoder instead', ms_per_pair: ts.filter + ts.deflate, sub: true }] : []),
          { stage: '  TypeScript: filter (Average)', ms_per_pair: ts.filter, sub: true },
          { stage: '  TypeScript: deflate + Adler-32', ms_per_pair: ts.deflate, sub: true },
        ]
      : [s],
  );
  const total = b.stages.reduce((a, s) => a + s.ms_per_pair, 0);
  for (const r of rows) say(`  ${r.stage.padEnd(30)} ${r.ms_per_pair.toFixed(3).padStart(8)}  ${r.sub ? '' : `${((100 * r.ms_per_pair) / total).toFixed(1).padStart(5)}%`}`);
  say(`  ${'sum of stages'.padEnd(30)} ${total.toFixed(3).padStart(8)}`);
  if (pipelineCpu !== undefined) {
    say(`  ${'synthesize, CPU ms per pair'.padEnd(30)} ${pipelineCpu.toFixed(3).padStart(8)}  (all threads, from part 2; the difference is thread scheduling, GC between stages, startup)`);
  }
}

// --------------------------------------------------------------------------------------------
// 2. End to end, alternating.
function runUirgen(types, samples) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify({ types, samples }), '--workers', String(workers), '--crop', String(crop), '--sources', sources], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`uirgen run failed: ${(r.stderr || r.error?.message || '').trim()}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  return { pairs_per_s: j.pairs_per_s, cpu_ms_per_pair: (1000 * j.cpu_s) / j.pairs, kb_per_pair: j.bytes / 1024 / j.pairs, max_rss_mib: j.max_rss_mib, errors: j.errors };
}

// Runs the peer under a Python wrapper that reports the CPU time of the peer and its pool processes.
const PEER_WRAPPER = `
import json, os, resource, subprocess, sys
p = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[1]) for f in fs)
print(json.dumps({"status": p.returncode, "stdout": p.stdout.strip(), "stderr": p.stderr.strip()[-400:], "cpu_s": r.ru_utime + r.ru_stime, "bytes": size}))
`;

function findPython() {
  const candidates = [values.python, process.env.PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const c of candidates) {
    const probe = spawnSync(c, ['-c', 'import cv2, numpy; print(cv2.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) return { python: c, cv2: probe.stdout.trim() };
  }
  return null;
}

function runPeer(python, decodeOnce, samples) {
  const out = mkdtempSync(join(tmpdir(), 'uirgen-peer-'));
  try {
    const args = [values.peer, sources, out, String(samples), '--procs', String(workers), '--crop', String(crop), ...(decodeOnce ? ['--decode-once'] : [])];
    const r = spawnSync(python, ['-c', PEER_WRAPPER, out, python, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`peer wrapper failed: ${r.stderr}`);
    const j = JSON.parse(r.stdout.trim().split('\n').pop());
    if (j.status !== 0) throw new Error(`peer failed (exit ${j.status}): ${j.stderr}`);
    const m = /: (\d+) pairs in ([\d.]+) s = ([\d.]+) pairs\/s/.exec(j.stdout);
    if (!m) throw new Error(`unexpected peer output: ${j.stdout}`);
    const pairs = Number(m[1]);
    return { pairs_per_s: Number(m[3]), cpu_ms_per_pair: (1000 * j.cpu_s) / pairs, kb_per_pair: j.bytes / 1024 / pairs };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const fmt = (r) => `${r.pairs_per_s.toFixed(1).padStart(6)} pairs/s ${r.cpu_ms_per_pair.toFixed(2).padStart(6)} CPU ms/pair ${r.kb_per_pair.toFixed(0).padStart(4)} KB/pair`;

const pairs = Number(values.pairs);
const rounds = Number(values.rounds);
const allPairs = Number(values['all-pairs']);
const report = { machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, load: loadavg(), node: process.versions.node }, workers, crop };
say(`synthesize bench: ${crop}x${crop} crops from ${sources}, ${workers} workers, ${availableParallelism()} cores (${cpus()[0]?.model}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.versions.node}`);

await breakdown('all', 38); // warm-up: every type compiled and its tables built
const six = await breakdown(SIX, Number(values['breakdown-pairs']));
report.breakdown_six = six;

let peer = null;
if (!values['no-peer']) {
  if (!existsSync(values.peer)) say(`(peer skipped: ${values.peer} not found; --peer PATH)`);
  else {
    peer = findPython();
    if (!peer) say('(peer skipped: no Python with cv2 and numpy; Debian: apt-get install python3-opencv, or --python PY)');
  }
}
const contendersFor = (n) => [
  ...(peer
    ? [
        { label: 'opencv_synthesize.py', run: () => runPeer(peer.python, false, n) },
        { label: 'opencv_synthesize.py --decode-once', run: () => runPeer(peer.python, true, n) },
      ]
    : []),
  { label: `uirgen synthesize --types ${SIX.join(',')} --workers ${workers}`, run: () => runUirgen(SIX, n) },
];

/** Alternating rounds of every contender on `n` pairs: the table, the ratios against the peer, the summary. */
function compare(n, roundCount, what) {
  const contenders = contendersFor(n);
  const results = new Map(contenders.map((c) => [c.label, []]));
  say(`\nend to end${what}: ${n} pairs each${peer ? `, OpenCV ${peer.cv2} (${peer.python})` : ''}, ${roundCount} alternating round(s)`);
  for (let round = 1; round <= roundCount; round++) {
    // Rotate the order each round so no contender always runs first (or right after another).
    const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length]);
    for (const c of order) {
      const r = c.run();
      results.get(c.label).push(r);
      say(`  round ${round}  ${c.label.padEnd(52)} ${fmt(r)}`);
    }
  }
  const summary = contenders.map((c) => {
    const rs = results.get(c.label);
    return { label: c.label, pairs_per_s: median(rs.map((r) => r.pairs_per_s)), cpu_ms_per_pair: median(rs.map((r) => r.cpu_ms_per_pair)), kb_per_pair: median(rs.map((r) => r.kb_per_pair)), rounds: rs };
  });
  say('\n| pipeline | pairs/s (median) | CPU ms/pair | KB/pair |\n|---|---|---|---|');
  for (const s of summary) say(`| ${s.label} | ${s.pairs_per_s.toFixed(1)} | ${s.cpu_ms_per_pair.toFixed(2)} | ${s.kb_per_pair.toFixed(0)} |`);
  const mine = summary[summary.length - 1];
  const ratios = {};
  if (peer) {
    for (const [key, label, target] of [['naive', contenders[0].label, 2], ['decode_once', contenders[1].label, 1.5]]) {
      const theirs = summary.find((s) => s.label === label);
      const perRound = results.get(label).map((r, i) => results.get(mine.label)[i].pairs_per_s / r.pairs_per_s);
      const ratio = mine.pairs_per_s / theirs.pairs_per_s;
      const cpuRatio = theirs.cpu_ms_per_pair / mine.cpu_ms_per_pair;
      ratios[key] = { pairs_per_s: ratio, per_round: perRound, cpu: cpuRatio, target, met: ratio >= target };
      say(
        `uirgen / ${label}: ${ratio.toFixed(2)}x pairs/s (rounds ${perRound.map((x) => x.toFixed(2)).join(', ')}; target >= ${target}: ${ratio >= target ? 'ok' : 'MISSED'}), ` +
          `${cpuRatio.toFixed(2)}x less CPU per pair`,
      );
    }
  }
  return { summary, mine, ratios };
}

const longPairs = Number(values['long-pairs']);
if (pairs > 0 && rounds > 0) {
  const short = compare(pairs, rounds, '');
  report.end_to_end = short.summary;
  if (peer) report.ratios = short.ratios;
  printBreakdown(`six types (${SIX.join(' ')})`, six, short.mine.cpu_ms_per_pair);
  if (longPairs > 0) {
    // A short run pays a fixed cost that a dataset does not: each worker thread loads its modules and V8
    // compiles the degradations anew in every thread (about a second of wall time on 2 cores). A longer
    // run shows the rate a real synthesis runs at; the peer pays its own fixed costs in both.
    const long = compare(longPairs, 1, ' (steady state: a longer run)');
    report.end_to_end_long = long.summary;
    if (peer) report.ratios_long = long.ratios;
    const a = short.mine;
    const b = long.mine;
    const perPairS = (longPairs / b.pairs_per_s - pairs / a.pairs_per_s) / (longPairs - pairs);
    const fixedS = pairs / a.pairs_per_s - pairs * perPairS;
    if (perPairS > 0) say(`uirgen from the two run lengths: ${(1 / perPairS).toFixed(1)} pairs/s once running, ${fixedS.toFixed(2)} s fixed (start-up, warm-up, tail)`);
  }
} else {
  printBreakdown(`six types (${SIX.join(' ')})`, six);
}

// --------------------------------------------------------------------------------------------
// 3. All 19 types.
if (allPairs > 0) {
  const all = await breakdown('all', Number(values['breakdown-pairs']));
  const r = runUirgen('all', allPairs);
  report.all_types = { ...r, breakdown: all };
  say(`\nall 19 types, ${allPairs} pairs: ${fmt(r)}, peak RSS ${r.max_rss_mib} MiB, ${r.errors} errors`);
  printBreakdown('all 19 types', all, r.cpu_ms_per_pair);
}
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
