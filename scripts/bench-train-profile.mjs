#!/usr/bin/env node
// Where the time of each training step goes, step by step: the reference net (or maskdcpt-tiny) on one backend,
// with every kernel timed, the native addon's calls timed, V8's garbage-collection pauses (PerformanceObserver),
// the wasm heap's size, the live tensor count, and per-thread CPU time and context switches from
// /proc/self/task/*/sched (Linux). Prints a summary of where slow steps (over 1.25x the median) spend their
// extra time against the median step, so a cause (GC, a kernel, the thread pool, being descheduled) shows
// directly rather than as a timing alone.
// Usage: node scripts/bench-train-profile.mjs [--net reference] [--backend native] [--steps 100] [--warmup 20] [--json FILE]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    net: { type: 'string', default: 'reference' },
    backend: { type: 'string', default: 'native' },
    steps: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '20' },
    json: { type: 'string' },
  },
});
const steps = Number(values.steps);
const warmup = Number(values.warmup);

const tf = await import('@tensorflow/tfjs-core');
// Threads alive before the backend starts: main, V8's platform workers (GC, compilers), libuv's pool. The
// ones that appear after (OpenMP's team, started by the first native call) are the kernels' workers.
const threadsAtStart = new Set(process.platform === 'linux' ? readdirSync('/proc/self/task') : []);
const { initBackend } = await import(join(root, 'dist/train/backend.js'));
const { createStepper } = await import(join(root, 'dist/train/bench.js'));

// The addon's functions, timed (the kernels look them up on the object at each call). Calls that run on the
// thread team (every convolution; elementwise calls over at least PARALLEL_MIN = 2^15 elements, native/loops.h)
// are logged with their start and end, to measure the gaps in which the team's threads wait.
const nativeMs = { total: 0, calls: 0 };
const teamCalls = [];
const teamSized = (key, args) => key === 'conv' || args.some((a) => ArrayBuffer.isView(a) && a.length >= 1 << 15);
if (values.backend === 'native') {
  const { loadNativeAddon } = await import(join(root, 'dist/train/native/addon.js'));
  const addon = loadNativeAddon();
  for (const key of Object.keys(addon)) {
    const f = addon[key];
    if (typeof f !== 'function' || key === 'info' || key === 'implementation') continue;
    addon[key] = (...args) => {
      const t0 = performance.now();
      try {
        return f(...args);
      } finally {
        const t1 = performance.now();
        nativeMs.total += t1 - t0;
        nativeMs.calls++;
        if (teamSized(key, args)) teamCalls.push([t0, t1]);
      }
    };
  }
}
const choice = await initBackend(values.backend, (line) => process.stderr.write(`${line}\n`));
const tfBackend = tf.getBackend();

// Every registered kernel of the running backend, timed by name (outermost call only: fallbacks nest).
const kernelMs = new Map();
let depth = 0;
for (const config of tf.getKernelsForBackend(tfBackend)) {
  const inner = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, tfBackend);
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      if (depth++ > 0) {
        try {
          return inner(args);
        } finally {
          depth--;
        }
      }
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        depth--;
        const k = kernelMs.get(config.kernelName) ?? { ms: 0, calls: 0 };
        k.ms += performance.now() - t0;
        k.calls++;
        kernelMs.set(config.kernelName, k);
      }
    },
  });
}

const gcs = [];
const gcKinds = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak-callbacks' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ start: e.startTime, ms: e.duration, kind: gcKinds[e.detail?.kind ?? e.kind] ?? String(e.detail?.kind ?? e.kind) });
}).observe({ entryTypes: ['gc'] });

// Per-thread CPU time (ms) and context switches from the scheduler's own accounting.
function threads() {
  const out = new Map();
  if (process.platform !== 'linux') return out;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const text = readFileSync(`/proc/self/task/${tid}/sched`, 'utf8');
      const field = (name) => Number(new RegExp(`^${name.replace(/\./g, '\\.')}\\s*:\\s*([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { comm, cpu: field('se.sum_exec_runtime'), vol: field('nr_voluntary_switches'), invol: field('nr_involuntary_switches') });
    } catch {
      // a thread that ended between readdir and read
    }
  }
  return out;
}
const mainTid = String(process.pid);
const heapBytes = () => tf.backend().wasm?.HEAPU8?.buffer.byteLength ?? 0;

const stepper = createStepper(values.net, { batch: 16, size: 64, seed: 0, learningRate: 1e-3 });
for (let i = 0; i < warmup; i++) await stepper.step();
await new Promise((r) => setTimeout(r, 50));
gcs.length = 0;

const rows = [];
const kernelSnapshot = () => new Map([...kernelMs].map(([k, v]) => [k, v.ms]));
for (let i = 0; i < steps; i++) {
  const th0 = threads();
  const k0 = kernelSnapshot();
  const n0 = nativeMs.total;
  const heap0 = heapBytes();
  const t0 = performance.now();
  await stepper.step();
  const t1 = performance.now();
  const th1 = threads();
  const k1 = kernelSnapshot();
  let kernels = 0;
  const perKernel = {};
  for (const [name, ms] of k1) {
    const d = ms - (k0.get(name) ?? 0);
    if (d > 0) perKernel[name] = d;
    kernels += d;
  }
  // kernel workers (threads started with the backend) and V8/libuv threads, apart
  const acc = { poolCpu: 0, poolWakeups: 0, poolInvol: 0, v8Cpu: 0 };
  for (const [tid, b] of th1) {
    const a = th0.get(tid) ?? { cpu: 0, vol: 0, invol: 0 };
    if (tid === mainTid) continue;
    if (threadsAtStart.has(tid)) {
      acc.v8Cpu += b.cpu - a.cpu;
    } else {
      acc.poolCpu += b.cpu - a.cpu;
      acc.poolWakeups += b.vol - a.vol;
      acc.poolInvol += b.invol - a.invol;
    }
  }
  const m0 = th0.get(mainTid);
  const m1 = th1.get(mainTid);
  rows.push({
    step: i,
    t0,
    t1,
    wall: t1 - t0,
    kernels,
    native: nativeMs.total - n0,
    perKernel,
    mainCpu: m1 && m0 ? m1.cpu - m0.cpu : NaN,
    mainInvol: m1 && m0 ? m1.invol - m0.invol : NaN,
    mainVol: m1 && m0 ? m1.vol - m0.vol : NaN,
    ...acc,
    heapGrowth: heapBytes() - heap0,
    tensors: tf.memory().numTensors,
  });
}
await new Promise((r) => setTimeout(r, 100));
for (const row of rows) {
  const mine = gcs.filter((g) => g.start >= row.t0 && g.start < row.t1);
  row.gc = mine.reduce((s, g) => s + g.ms, 0);
  row.gcKinds = mine.map((g) => g.kind);
}
stepper.dispose();

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const q = (xs, p) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const walls = rows.map((r) => r.wall);
const med = q(walls, 0.5);
const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
console.log(`${values.net} on ${values.backend} (${choice.detail}): ${steps} steps after ${warmup} warm-up`);
console.log(`wall ms/step: mean ${f(mean(walls))}  median ${f(med)}  p90 ${f(q(walls, 0.9))}  max ${f(Math.max(...walls))}`);
console.log(`tensors after each step: ${[...new Set(rows.map((r) => r.tensors))].join(', ')}; wasm heap grew in ${rows.filter((r) => r.heapGrowth > 0).length} steps (${(heapBytes() / 2 ** 20).toFixed(0)} MiB now)`);
const groups = [
  ['all steps', rows],
  ['steps <= median', rows.filter((r) => r.wall <= med)],
  ['slow steps (> 1.25x median)', rows.filter((r) => r.wall > 1.25 * med)],
];
console.log('\nmean per step (ms)            n   wall  kernels  native  outside    gc  main-cpu  main-off  main-invol  pool-cpu  pool-sleeps  pool-invol  v8-cpu');
for (const [label, rs] of groups) {
  if (!rs.length) continue;
  const m = (k) => mean(rs.map(k));
  console.log(
    `${label.padEnd(28)} ${String(rs.length).padStart(3)} ${f(m((r) => r.wall)).padStart(6)} ${f(m((r) => r.kernels)).padStart(8)} ${f(m((r) => r.native)).padStart(7)} ${f(m((r) => r.wall - r.kernels)).padStart(8)} ${f(m((r) => r.gc)).padStart(5)} ${f(m((r) => r.mainCpu)).padStart(9)} ${f(m((r) => r.wall - r.mainCpu)).padStart(9)} ${f(m((r) => r.mainInvol)).padStart(11)} ${f(m((r) => r.poolCpu)).padStart(9)} ${f(m((r) => r.poolWakeups)).padStart(12)} ${f(m((r) => r.poolInvol)).padStart(11)} ${f(m((r) => r.v8Cpu)).padStart(7)}`,
  );
}
// Over the run: V8's own threads (background compilation, concurrent GC) against the step time. Run with
// --warmup 0 to see the warm-up (V8 compiles tfjs's code during the first 20-40 steps).
console.log('\nby measured step           wall   v8-cpu   gc   pool-sleeps');
for (const [a, b] of [[0, 10], [10, 20], [20, 40], [40, 80], [80, 160], [160, Infinity]]) {
  const rs = rows.slice(a, b);
  if (!rs.length) continue;
  const m = (k) => mean(rs.map(k));
  console.log(`  ${`${a}-${Math.min(b, rows.length) - 1}`.padEnd(22)} ${f(m((r) => r.wall)).padStart(6)} ${f(m((r) => r.v8Cpu)).padStart(8)} ${f(m((r) => r.gc)).padStart(5)} ${f(m((r) => r.poolWakeups)).padStart(12)}`);
}
// The kernels whose time grows most in slow steps, against the fast half.
const fast = rows.filter((r) => r.wall <= med);
const slow = rows.filter((r) => r.wall > 1.25 * med);
if (slow.length) {
  const names = new Set(rows.flatMap((r) => Object.keys(r.perKernel)));
  const extra = [...names]
    .map((n) => [n, mean(slow.map((r) => r.perKernel[n] ?? 0)) - mean(fast.map((r) => r.perKernel[n] ?? 0)), mean(fast.map((r) => r.perKernel[n] ?? 0))])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8);
  console.log('\nkernels with the most extra time in slow steps (ms per step, slow minus fast; fast-step time):');
  for (const [n, d, base] of extra) console.log(`  ${n.padEnd(36)} +${f(d)}  (${f(base)})`);
}
// Gaps between consecutive team calls within a step: the time the team's threads spin or sleep.
const buckets = [0.05, 0.1, 0.3, 1, 3, Infinity];
const gapCounts = buckets.map(() => 0);
const gapMs = buckets.map(() => 0);
for (const row of rows) {
  const calls = teamCalls.filter(([a]) => a >= row.t0 && a < row.t1);
  for (let i = 1; i < calls.length; i++) {
    const gap = calls[i][0] - calls[i - 1][1];
    const b = buckets.findIndex((x) => gap < x);
    gapCounts[b]++;
    gapMs[b] += gap;
  }
}
console.log(`\nthread-team calls per step: ${f(teamCalls.filter(([a]) => a >= rows[0].t0).length / steps)}; gaps between them per step (count, ms) by length:`);
console.log('  ' + buckets.map((b, i) => `<${b === Infinity ? 'inf' : b} ms: ${f(gapCounts[i] / steps)} (${f(gapMs[i] / steps)})`).join('   '));
const gcAll = gcs.length ? gcs : [];
console.log(`\nGC during measured steps: ${rows.reduce((s, r) => s + r.gcKinds.length, 0)} pauses, ${f(rows.reduce((s, r) => s + r.gc, 0))} ms in all; kinds ${JSON.stringify(Object.fromEntries(Object.entries(Object.groupBy ? Object.groupBy(gcAll, (g) => g.kind) : {}).map(([k, v]) => [k, v.length])))}`);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load average ${load}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ net: values.net, backend: values.backend, rows }, null, 1));
// Per kernel over all measured steps: calls per step and mean ms per step.
console.log('\nkernels per step (calls, ms):');
for (const [name, k] of [...kernelMs].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(`  ${name.padEnd(36)} ${(k.calls / (steps + warmup)).toFixed(1).padStart(6)} ${f(k.ms / (steps + warmup)).padStart(8)}`);
}
console.log(`native addon calls per step: ${(nativeMs.calls / (steps + warmup)).toFixed(1)}`);
