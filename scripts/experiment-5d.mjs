#!/usr/bin/env node
// `npm run experiment:5d`: does MaskDCPT pre-training help, on a mini-5D benchmark, on the CPU?
//
// 1. synthesize a pre-training set and a fine-tuning set from the training photos (samples/images and
//    samples/photos/train) and a held-out mini-5D benchmark from the benchmark photos (samples/photos/bench,
//    built with --exclude on both datasets, so no training photo is in it);
// 2. pre-train MaskDCPT (nafnet-tiny) on the pre-training set;
// 3. fine-tune the restoration network on the five tasks twice for the same steps and seed: from the
//    pre-trained weights (--init) and from scratch;
// 4. evaluate the input (identity), both models, and write docs/experiment-5d.md with the table, the exact
//    commands, seeds, versions and timings.
//
// Options: --pretrain-steps N --finetune-steps N --batch B --out DIR --doc FILE --backend B (defaults below:
// sized for about 30 minutes on a quiet 2-core machine: 1000 + 600 steps took 10.9 min). Uses dist/ (the npm script builds first).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    'pretrain-steps': { type: 'string', default: '2500' },
    'finetune-steps': { type: 'string', default: '1500' },
    batch: { type: 'string', default: '16' },
    patch: { type: 'string', default: '64' },
    out: { type: 'string', default: join(root, '.tmp', 'experiment-5d') },
    doc: { type: 'string', default: join(root, 'docs', 'experiment-5d.md') },
    backend: { type: 'string', default: 'auto' },
    seed: { type: 'string', default: '5' },
  },
});
const out = opt.out;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const rel = (p) => relative(root, p) || '.';
const cli = join(root, 'dist', 'cli', 'main.js');
const commands = [];
const timings = [];

function uirgen(label, args) {
  const shown = `uirgen ${args.map((a) => (a.startsWith(root) ? rel(a) : a)).join(' ')}`;
  commands.push(shown);
  process.stderr.write(`\n== ${label}: ${shown}\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  timings.push([label, seconds]);
  if (r.status !== 0) {
    process.stderr.write(r.stdout ?? '');
    throw new Error(`${label} failed (exit ${r.status}): ${shown}`);
  }
  return r.stdout.trim() ? JSON.parse(r.stdout.trim().split('\n').pop()) : null;
}

const trainPhotos = [join(root, 'samples', 'images'), join(root, 'samples', 'photos', 'train')];
const benchPhotos = join(root, 'samples', 'photos', 'bench');
const photoCount = (dirs) => dirs.reduce((n, d) => n + readdirSync(d).filter((f) => /\.(png|jpe?g)$/i.test(f)).length, 0);
const TASK_TYPES = 'GN,RS,H,MB,LL';
// Pre-training sees more kinds of degradation than the five tasks, as UIR-2.5M's 19 do for the paper.
const PRETRAIN_TYPES = 'GN,RS,H,MB,LL,J,GB,DB,S,RD';
const common = ['--batch', opt.batch, '--patch', opt.patch, '--backend', opt.backend, '--seed', opt.seed, '--checkpoint-every', '100000', '--log-every', '10', '--json'];

const started = new Date();
const t0 = performance.now();
const ptData = join(out, 'pretrain-data');
const ftData = join(out, 'finetune-data');
uirgen('synthesize pre-training data', ['synthesize', '--sources', ...trainPhotos, '--out', ptData, '--types', PRETRAIN_TYPES, '--per-source', '150', '--crop', '96', '--seed', '1', '--json']);
uirgen('synthesize fine-tuning data', ['synthesize', '--sources', ...trainPhotos, '--out', ftData, '--types', TASK_TYPES, '--per-source', '80', '--crop', '96', '--seed', '2', '--json']);
const bench = join(out, 'bench5d');
uirgen('build the mini-5D benchmark', ['bench', 'build', '--preset', '5d', '--sources', benchPhotos, '--out', bench, '--exclude', ptData, '--exclude', ftData, '--json']);
const pre = join(out, 'pretrained');
const ptRun = uirgen('pre-train MaskDCPT', ['pretrain', '--data', ptData, '--out', pre, '--net', 'nafnet-tiny', '--steps', opt['pretrain-steps'], ...common]);
// BasicSR's EMA decay 0.999 averages over ~1000 steps and starts from the initial weights: in a run this short
// the EMA would still be mostly the initial network (pre-trained or random). 0.99 averages over ~100 steps.
const ftCommon = [...common, '--ema-decay', '0.99'];
const withPt = join(out, 'finetuned-from-pretrained');
const ftPre = uirgen('fine-tune from the pre-trained weights', ['finetune', '--data', ftData, '--out', withPt, '--init', pre, '--steps', opt['finetune-steps'], ...ftCommon]);
const scratch = join(out, 'finetuned-from-scratch');
const ftScratch = uirgen('fine-tune from scratch', ['finetune', '--data', ftData, '--out', scratch, '--net', 'nafnet-tiny', '--steps', opt['finetune-steps'], ...ftCommon]);
const evalArgs = ['--bench', bench, '--json'];
const evIdentity = uirgen('evaluate the inputs', ['eval', '--model', 'identity', ...evalArgs]);
const evPre = uirgen('evaluate fine-tuned from pre-trained', ['eval', '--model', withPt, '--backend', opt.backend, ...evalArgs]);
const evScratch = uirgen('evaluate fine-tuned from scratch', ['eval', '--model', scratch, '--backend', opt.backend, ...evalArgs]);
const totalMinutes = (performance.now() - t0) / 60000;

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const cell = (v, d) => (v === null || v === undefined ? '-' : v.toFixed(d));
const rows = evIdentity.sets.map((s, i) => {
  const p = evPre.sets[i];
  const q = evScratch.sets[i];
  return `| ${s.name} (${s.task}) | ${cell(s.psnr, 2)} / ${cell(s.ssim, 4)} | ${cell(q.psnr, 2)} / ${cell(q.ssim, 4)} | ${cell(p.psnr, 2)} / ${cell(p.ssim, 4)} |`;
});
const mean = (r) => `${cell(r.mean.psnr, 2)} / ${cell(r.mean.ssim, 4)}`;
const gain = evPre.mean.psnr - evScratch.mean.psnr;
const doc = `# Experiment: MaskDCPT pre-training on a mini-5D benchmark

Generated by \`npm run experiment:5d\` (scripts/experiment-5d.mjs) on ${started.toISOString().slice(0, 10)}; every number
below was measured by that run. ${totalMinutes.toFixed(1)} minutes in all on ${cpus()[0]?.model ?? 'unknown CPU'} x ${availableParallelism()}
(load average at the end ${loadavg()[0].toFixed(1)}).

## Result

PSNR (dB) / SSIM on the held-out mini-5D benchmark (${evIdentity.sets.map((s) => `${s.name} ${s.count}`).join(', ')} images;
RGB, crop 0, as MaskDCPT's 5D test config), EMA weights (decay 0.99):

| set | input | fine-tuned from scratch | fine-tuned from MaskDCPT pre-training |
|---|---|---|---|
${rows.join('\n')}
| **mean** | ${mean(evIdentity)} | ${mean(evScratch)} | ${mean(evPre)} |

Pre-training ${gain >= 0 ? 'ahead' : 'behind'} by ${Math.abs(gain).toFixed(2)} dB on the mean. The paper's expectation (NAFNet, 5D, MaskDCPT
paper): 27.77 dB from scratch, 32.09 dB with MaskDCPT, at full scale (UIR-2.5M, the published NAFNet-64, long schedules);
this run is ${ptRun.steps} pre-training and ${ftPre.steps} fine-tuning steps (batch ${opt.batch}, patch ${opt.patch}) of a
${ftPre.parameters}-parameter network on crops of ${photoCount(trainPhotos)} photos, benchmarked on crops of ${photoCount([benchPhotos])} others, so
its absolute numbers are not comparable with the paper's, only the direction.

Fine-tuning L1 at the first / last step: from pre-trained ${ftPre.first_l1?.toFixed(4)} / ${ftPre.last_l1?.toFixed(4)},
from scratch ${ftScratch.first_l1?.toFixed(4)} / ${ftScratch.last_l1?.toFixed(4)}. Pre-training ended at classification
accuracy ${ptRun.acc?.toFixed(3) ?? '-'} (loss_rec ${ptRun.loss_rec?.toFixed(4) ?? '-'}).

## What was run

Photos: training from samples/images and samples/photos/train, the benchmark from samples/photos/bench only (the
benchmark was built with \`--exclude\` on both training datasets, which refuses any shared photo); licences in
samples/images/LICENSES.md and samples/photos/LICENSES.md.

\`\`\`
${commands.join('\n')}
\`\`\`

Seeds: synthesize 1 (pre-training data) and 2 (fine-tuning data), bench build 0, pretrain / finetune ${opt.seed}.
Pre-training types ${PRETRAIN_TYPES}; fine-tuning on the five tasks' types ${TASK_TYPES}, all together (all-in-one).

| stage | seconds |
|---|---|
${timings.map(([l, s]) => `| ${l} | ${s.toFixed(0)} |`).join('\n')}

Versions: uirgen ${pkg.version}, Node ${process.versions.node}, @tensorflow/tfjs-core ${pkg.dependencies['@tensorflow/tfjs-core']},
backend ${ftPre.backend}.
`;
writeFileSync(opt.doc, doc);
writeFileSync(join(out, 'results.json'), JSON.stringify({ identity: evIdentity, pretrained: evPre, scratch: evScratch, pretrain: ptRun, finetune: { pretrained: ftPre, scratch: ftScratch }, commands, timings }, null, 1));
process.stdout.write(`\n${doc}\nwrote ${rel(opt.doc)} and ${rel(join(out, 'results.json'))}\n`);
