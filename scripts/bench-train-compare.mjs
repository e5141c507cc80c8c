#!/usr/bin/env node
// Same-machine comparison for the trainer's speed target: `uirgen bench-train --net reference` on the given
// backends and the same net in PyTorch (scripts/bench-train-torch.py, when a python3 with torch is found),
// run in alternation for several rounds so that a noisy neighbour slows every contender alike. Prints each
// round's mean and median, then per contender the mean, median and p90 over every measured step of every
// round, and each uirgen backend's ratio to PyTorch (the median over rounds of the per-round ratios, which
// cancels most of a shared machine's drift from round to round).
// Every contender runs the same warm-up first (default 20 steps: V8 compiles tfjs's code over the first 20-40
// steps of a run, see BENCH_WARMUP_DEFAULT in src/train/bench.ts; PyTorch gets the same).
// Usage: node scripts/bench-train-compare.mjs [--rounds 5] [--steps 60] [--warmup 20] [--backends native,wasm] [--python PY] [--threads N] [--json]
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '20' },
    backends: { type: 'string', default: 'native,wasm' },
    python: { type: 'string' },
    threads: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const steps = values.steps;
const warmup = values.warmup;

function runJson(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const contenders = values.backends
  .split(',')
  .filter(Boolean)
  .map((b) => ({ label: `uirgen ${b}`, run: () => runJson(process.execPath, [join(root, 'dist/cli/main.js'), 'bench-train', '--net', 'reference', '--backend', b, '--steps', steps, '--warmup', warmup, '--json']) }));
// The first Python that imports torch: --python, $PYTHON, python3 on PATH, then the system one (Debian's
// python3-torch lives there when a pyenv python3 comes first on PATH).
const pythons = [values.python, process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
let python;
let version = '';
for (const candidate of pythons) {
  const probe = spawnSync(candidate, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status === 0) {
    [python, version] = [candidate, probe.stdout.trim()];
    break;
  }
}
const torchLabel = `pytorch ${version}`;
if (python) {
  const threadArgs = values.threads ? ['--threads', values.threads] : [];
  contenders.push({
    label: torchLabel,
    run: () => runJson(python, [join(root, 'scripts/bench-train-torch.py'), '--steps', steps, '--warmup', warmup, ...threadArgs]),
  });
} else {
  console.log(`(no PyTorch: none of ${pythons.join(', ')} imports torch; Debian: apt-get install python3-torch)`);
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const p90 = (xs) => sorted(xs)[Math.min(xs.length - 1, Math.ceil(0.9 * xs.length) - 1)];
const f = (x) => x.toFixed(2);

/** Per contender, each round's step times (an empty list for a failed round). */
const results = new Map(contenders.map((c) => [c.label, []]));
/** What each contender ran on, as it said in its first successful round (backend, threads, wait policy). */
const details = new Map();
for (let round = 1; round <= rounds; round++) {
  const line = [];
  for (const c of contenders) {
    const r = c.run();
    if (r.error) {
      results.get(c.label).push([]);
      line.push(`${c.label}: failed (${r.error})`);
      continue;
    }
    results.get(c.label).push(r.step_ms);
    if (!details.has(c.label)) details.set(c.label, r.backend_detail ?? `${r.backend}, ${r.threads} threads`);
    line.push(`${c.label} mean ${f(mean(r.step_ms))} median ${f(median(r.step_ms))}`);
  }
  console.log(`round ${round}: ${line.join(' | ')} (load ${loadavg()[0].toFixed(2)})`);
}

const summary = {};
for (const [label, perRound] of results) {
  const all = perRound.flat();
  if (all.length === 0) continue;
  summary[label] = { mean_ms: mean(all), median_ms: median(all), p90_ms: p90(all), max_ms: Math.max(...all), steps: all.length, rounds: perRound.filter((r) => r.length).length };
}
// Per-round ratios to PyTorch (rounds where both ran), summarised by their median.
const torchRounds = results.get(torchLabel);
const ratios = {};
if (torchRounds) {
  for (const [label, perRound] of results) {
    if (label === torchLabel) continue;
    const pairs = perRound.map((r, i) => [r, torchRounds[i]]).filter(([a, b]) => a.length && b.length);
    if (!pairs.length) continue;
    ratios[label] = {
      mean: median(pairs.map(([a, b]) => mean(a) / mean(b))),
      median: median(pairs.map(([a, b]) => median(a) / median(b))),
      p90: median(pairs.map(([a, b]) => p90(a) / p90(b))),
    };
  }
}

console.log('');
for (const [label, detail] of details) console.log(`${label}: ${detail}`);
console.log(`\nreference net, batch 16, 64x64, ms per training step over all measured steps (${steps} per round after ${warmup} warm-up, ${availableParallelism()} CPUs):`);
console.log(`${'contender'.padEnd(22)} ${'mean'.padStart(8)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'max'.padStart(8)}   steps`);
for (const [label, s] of Object.entries(summary)) {
  console.log(`${label.padEnd(22)} ${f(s.mean_ms).padStart(8)} ${f(s.median_ms).padStart(8)} ${f(s.p90_ms).padStart(8)} ${f(s.max_ms).padStart(8)}   ${s.steps} (${s.rounds} rounds)`);
}
if (Object.keys(ratios).length) {
  console.log('\nratio to PyTorch, median of the per-round ratios (below 1: faster than PyTorch):');
  for (const [label, r] of Object.entries(ratios)) console.log(`${label.padEnd(22)} mean ${f(r.mean)}   median ${f(r.median)}   p90 ${f(r.p90)}`);
}
if (values.json) console.log(JSON.stringify({ steps_per_round: Number(steps), warmup: Number(warmup), rounds, details: Object.fromEntries(details), summary, ratios_to_pytorch: ratios }));
