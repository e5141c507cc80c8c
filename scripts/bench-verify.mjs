#!/usr/bin/env node
// Throughput of `uirgen verify` against coreutils `sha256sum -c` on the same files (built code in dist/).
//
// Makes (or takes) a released dataset, then alternates rounds: `sha256sum -c SHA256SUMS` inside the dataset
// (one process, what a user runs with no uirgen) and `uirgen verify DS` (every file hashed on worker threads,
// every member hashed and checked against the manifest, lock and checksums). Both read the same bytes; the
// files stay in the page cache after the first round, so both are measured hashing from memory. Prints
// each round, the medians and the ratio; --json prints the same as one object.
//
//   npm run bench:verify                                   # 400 samples of 256x256, 4 rounds
//   node scripts/bench-verify.mjs --samples 1000 --rounds 5 --workers 2
//   node scripts/bench-verify.mjs --dataset path/to/released/ds
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');

const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    samples: { type: 'string', default: '400' },
    crop: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '4' },
    workers: { type: 'string', default: String(availableParallelism()) },
    json: { type: 'boolean', default: false },
  },
});
const workers = Number(values.workers);
const rounds = Number(values.rounds);

function run(cmd, args, cwd) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { seconds, stdout: r.stdout };
}

let ds = values.dataset;
let made = null;
if (!ds) {
  made = mkdtempSync(join(tmpdir(), 'uirgen-bench-verify-'));
  ds = join(made, 'ds');
  const log = (m) => values.json || process.stderr.write(`${m}\n`);
  log(`making ${values.samples} samples of ${values.crop}x${values.crop} in ${ds} ...`);
  run(process.execPath, [cli, 'synthesize', '--sources', join(root, 'samples/images'), '--out', ds, '--samples', values.samples, '--crop', values.crop, '--shard-samples', '100', '--seed', 'bench', '--workers', String(workers), '--quiet']);
  run(process.execPath, [cli, 'release', ds, '--name', 'bench', '--workers', String(workers), '--quiet']);
}
if (!existsSync(join(ds, 'SHA256SUMS'))) throw new Error(`${ds} has no SHA256SUMS: give a released dataset (uirgen release)`);

const files = readFileSync(join(ds, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.slice(66));
const bytes = files.reduce((n, f) => n + statSync(join(ds, f)).size, 0);
const MB = 1e6;

const rows = [];
try {
  // One warm-up of each brings the files into the page cache, so no round pays for the disk.
  run('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], ds);
  run(process.execPath, [cli, 'verify', ds, '--quiet', '--json', '--workers', String(workers)]);
  for (let i = 0; i < rounds; i++) {
    const s = run('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], ds);
    const v = run(process.execPath, [cli, 'verify', ds, '--quiet', '--json', '--workers', String(workers)]);
    const f = run(process.execPath, [cli, 'verify', ds, '--quiet', '--json', '--fast', '--workers', String(workers)]);
    const report = JSON.parse(v.stdout);
    const fastReport = JSON.parse(f.stdout);
    if (!report.ok || !fastReport.ok) throw new Error(`verify found problems in ${ds}: ${JSON.stringify(report.problems.slice(0, 3))}`);
    rows.push({
      round: i + 1,
      sha256sum_s: s.seconds,
      verify_s: v.seconds,
      verify_hash_mb_per_s: report.mb_per_s,
      fast_s: f.seconds,
      fast_hash_mb_per_s: fastReport.mb_per_s,
    });
  }
} finally {
  if (made) rmSync(made, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const shaS = median(rows.map((r) => r.sha256sum_s));
const verS = median(rows.map((r) => r.verify_s));
const fastS = median(rows.map((r) => r.fast_s));
const summary = {
  dataset: values.dataset ?? `${values.samples} samples of ${values.crop}x${values.crop} (made for the run)`,
  files: files.length,
  mb: Math.round((bytes / MB) * 10) / 10,
  workers,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.versions.node,
  openssl: process.versions.openssl,
  sha_ni: readFileSync('/proc/cpuinfo', 'utf8').includes(' sha_ni'),
  loadavg_1m: Math.round(loadavg()[0] * 100) / 100,
  rounds: rows,
  median: {
    sha256sum_mb_per_s: Math.round((bytes / MB / shaS) * 10) / 10,
    verify_mb_per_s: Math.round((bytes / MB / verS) * 10) / 10,
    verify_hash_phase_mb_per_s: median(rows.map((r) => r.verify_hash_mb_per_s)),
    ratio_verify_to_sha256sum: Math.round((shaS / verS) * 100) / 100,
    fast_mb_per_s: Math.round((bytes / MB / fastS) * 10) / 10,
    fast_hash_phase_mb_per_s: median(rows.map((r) => r.fast_hash_mb_per_s)),
    ratio_fast_to_sha256sum: Math.round((shaS / fastS) * 100) / 100,
  },
};

if (values.json) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  const m = summary.median;
  const lines = [
    `uirgen verify vs sha256sum -c: ${summary.files} files, ${summary.mb} MB (${summary.dataset})`,
    `machine: ${summary.cores} cores (${summary.cpu}), sha_ni ${summary.sha_ni ? 'yes' : 'no'}, Node ${summary.node}, OpenSSL ${summary.openssl}, load ${summary.loadavg_1m}; verify --workers ${workers}`,
    '',
    'MB/s of the same bytes; "hash" is verify\'s own figure for its hashing phase (without process start-up and the manifest checks)',
    'round   sha256sum -c          uirgen verify              uirgen verify --fast',
    ...rows.map((r) => {
      const rate = (s) => `${s.toFixed(2).padStart(6)} s ${(bytes / MB / s).toFixed(0).padStart(5)}`;
      return `${String(r.round).padStart(5)}   ${rate(r.sha256sum_s)}     ${rate(r.verify_s)} (hash ${String(r.verify_hash_mb_per_s).padStart(5)})   ${rate(r.fast_s)} (hash ${String(r.fast_hash_mb_per_s).padStart(5)})`;
    }),
    '',
    `median MB/s: sha256sum -c ${m.sha256sum_mb_per_s} | uirgen verify ${m.verify_mb_per_s} (hashing phase ${m.verify_hash_phase_mb_per_s}), ratio ${m.ratio_verify_to_sha256sum}` +
      ` | verify --fast ${m.fast_mb_per_s} (hashing phase ${m.fast_hash_phase_mb_per_s}), ratio ${m.ratio_fast_to_sha256sum}`,
    'verify hashes every byte twice (each file for the checksums, each member for the manifest) on worker threads; --fast hashes members',
    'only where a checksum differs; sha256sum hashes each byte once on one core.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
