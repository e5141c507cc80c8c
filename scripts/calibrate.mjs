#!/usr/bin/env node
// Calibration against the benchmarks: for every type and variant, the PSNR (degraded against clean) of its
// mildest, middle and harshest level on the bundled photos (median over photos and seeds, RGB and Y), beside
// the published input PSNR of the benchmark of that degradation (scripts/calibration-figures.mjs), and
// whether the levels bracket it. Writes docs/calibration.md.
// Usage: npm run calibrate [-- --seeds 3 --crop 256 --out docs/calibration.md --json]
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../dist/core/io.js';
import { cropImage } from '../dist/core/image.js';
import { psnr } from '../dist/core/metrics.js';
import { createRng, deriveSeed } from '../dist/core/random.js';
import { listDegradations, typeVersions } from '../dist/degradations/registry.js';
import { FIGURES } from './calibration-figures.mjs';

const USAGE = 'usage: npm run calibrate [-- --seeds N --crop PX --out FILE --json]';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`${USAGE}\nMeasures every type's mildest, middle and harshest level per variant on samples/images and writes docs/calibration.md.`);
  process.exit(0);
}
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const seeds = Number(opt('--seeds', '3'));
const cropSize = Number(opt('--crop', '256'));
const out = opt('--out', 'docs/calibration.md');
const asJson = args.includes('--json');
if (!(Number.isInteger(seeds) && seeds >= 1) || !(Number.isInteger(cropSize) && cropSize >= 32)) {
  console.error(`calibrate: --seeds must be an integer >= 1 and --crop an integer >= 32\n${USAGE}`);
  process.exit(2);
}

const samples = fileURLToPath(new URL('../samples/images/', import.meta.url));
const photos = readdirSync(samples).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
const crops = [];
for (const f of photos) {
  const im = await decodeImage(join(samples, f));
  const s = Math.min(cropSize, im.width, im.height);
  crops.push(cropImage(im, (im.width - s) >> 1, (im.height - s) >> 1, s, s));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median PSNR (RGB and Y) of one level over photos x seeds; a seed makes the same choices at every level. */
async function measureLevel(d, level) {
  const rgb = [];
  const y = [];
  for (const [i, crop] of crops.entries()) {
    for (let s = 0; s < seeds; s++) {
      const lq = await d.apply(crop, d.sample(level, createRng(deriveSeed('calibrate', d.id, i, s)), crop));
      rgb.push(Math.min(psnr(lq, crop), 99));
      y.push(Math.min(psnr(lq, crop, { test_y_channel: true }), 99));
    }
  }
  return { rgb: median(rgb), y: median(y) };
}

const rows = [];
const started = Date.now();
for (const d of listDegradations()) {
  const variants = [...new Set(d.levels.map((l) => l.variant))];
  for (const variant of variants) {
    const indices = d.levels.flatMap((l, i) => (l.variant === variant ? [i] : []));
    const picks = [indices[0], indices[(indices.length - 1) >> 1], indices[indices.length - 1]];
    const measured = [];
    for (const level of picks) measured.push({ level: d.levels[level].id, ...(await measureLevel(d, level)) });
    rows.push({ type: d.id, version: d.version, variant, levels: measured });
    process.stderr.write(`calibrate: ${d.id} ${variant} done (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
}

// Where a benchmark is made with a parameter that is also a uirgen level (JPEG quality, noise sigma, a
// demosaic algorithm), the figure names those levels and they are measured too: at equal parameters the
// difference is the content's (benchmark photos against the bundled ones), not the range's.
const sameLevel = [];
for (const figure of FIGURES.filter((f) => f.levels && f.values)) {
  const d = listDegradations().find((x) => x.id === figure.type);
  const key = figure.channel === 'Y' ? 'y' : 'rgb';
  for (const [i, id] of figure.levels.entries()) {
    const index = d.levels.findIndex((l) => l.id === id);
    if (index < 0) throw new Error(`calibration-figures.mjs: ${figure.type} has no level ${id}; fix the figure's levels`);
    const m = await measureLevel(d, index);
    sameLevel.push({ type: figure.type, benchmark: figure.benchmark, level: id, channel: figure.channel, uirgen: m[key], figure: figure.values[i] });
  }
}

/** Does [harshest, mildest] (in the figure's channel) contain every value of the figure? Misses say by how much. */
function bracket(row, figure) {
  if (!figure?.values) return { verdict: 'no figure', lo: NaN, hi: NaN };
  const key = figure.channel === 'Y' ? 'y' : 'rgb';
  const vals = row.levels.map((l) => l[key]);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const below = figure.values.filter((v) => v < lo);
  const above = figure.values.filter((v) => v > hi);
  if (below.length === 0 && above.length === 0) return { verdict: 'yes', lo, hi };
  const parts = [];
  if (below.length) parts.push(`benchmark harsher by ${(lo - Math.min(...below)).toFixed(2)} dB (${below.map((v) => v.toFixed(2)).join(', ')} < ${lo.toFixed(2)})`);
  if (above.length) parts.push(`benchmark milder by ${(Math.max(...above) - hi).toFixed(2)} dB (${above.map((v) => v.toFixed(2)).join(', ')} > ${hi.toFixed(2)})`);
  return { verdict: `no: ${parts.join('; ')}`, lo, hi };
}

const matches = (f, row) =>
  f.type === row.type && (f.variant === null || (Array.isArray(f.variant) ? f.variant.includes(row.variant) : f.variant === row.variant));
/** Every benchmark figure that applies to the row; a row without one still gets a line. */
const figuresFor = (row) => {
  const found = FIGURES.filter((f) => matches(f, row));
  return found.length ? found : [null];
};
const table = rows.flatMap((row) => figuresFor(row).map((figure) => ({ ...row, figure, bracket: bracket(row, figure) })));

if (asJson) {
  process.stdout.write(`${JSON.stringify({ photos, crop: cropSize, seeds, types: typeVersions(), rows: table, sameLevel })}\n`);
}

const fmt = (l) => `${l.rgb.toFixed(2)} / ${l.y.toFixed(2)}`;
/** "24.61 (0.773) / 20.17 (0.851)" when the source gives SSIM beside its PSNR. */
const figureValues = (f) => f.values.map((v, i) => (f.ssim?.[i] !== undefined ? `${v.toFixed(2)} (${f.ssim[i]})` : v.toFixed(2))).join(' / ');
const lines = [
  '# Calibration against the benchmarks',
  '',
  'Generated by `npm run calibrate` (scripts/calibrate.mjs; figures and their sources in scripts/calibration-figures.mjs).',
  `uirgen columns: PSNR of degraded against clean, \`RGB / Y\` dB, median over the ${photos.length} bundled photos`,
  `(samples/images, centre ${cropSize}x${cropSize} crops) x ${seeds} seeds; one seed makes the same random choices at every level.`,
  'Mildest, middle and harshest are the first, middle and last level of the variant. "Brackets" compares the',
  "benchmark's figure, in its channel, with the span of those three levels; a miss says by how many dB. A type",
  'with several benchmarks has one line per benchmark. The figure column gives PSNR and, in brackets, the',
  "source's SSIM where it gives one (uirgen's SSIM is not measured here).",
  '',
  'Sources are of three kinds: *published* (a table in a paper or a public evaluation of the benchmark files),',
  '*computed* (measured here on real benchmark files, named), *analytic* (follows from the benchmark\'s definition).',
  '"not found here" means no figure could be reached and checked from this workplace; none was guessed.',
  '',
  '| type@v | variant | mildest | middle | harshest | benchmark | figure (channel) | brackets |',
  '|---|---|---|---|---|---|---|---|',
];
for (const r of table) {
  const f = r.figure;
  const fig = f?.values ? `${figureValues(f)} (${f.channel}, ${f.kind})` : '—';
  const note = f?.notes?.[r.variant];
  lines.push(`| ${r.type}@${r.version} | ${r.variant} | ${r.levels[0].level}: ${fmt(r.levels[0])} | ${r.levels[1].level}: ${fmt(r.levels[1])} | ${r.levels[2].level}: ${fmt(r.levels[2])} | ${f?.benchmark ?? '—'} | ${fig} | ${r.bracket.verdict}${note ? `. Note: ${note}` : ''} |`);
}
if (sameLevel.length) {
  lines.push(
    '',
    'At equal parameters (the benchmark is made with a parameter that is also a uirgen level): uirgen at that level,',
    'median as above, in the benchmark\'s channel, against the benchmark\'s figure. A gap here comes from the content',
    '(the benchmark\'s photos against the bundled ones), not from the range of levels.',
    '',
    '| type | benchmark | level | uirgen | benchmark figure | uirgen minus benchmark |',
    '|---|---|---|---|---|---|',
  );
  for (const r of sameLevel) {
    lines.push(`| ${r.type} | ${r.benchmark} | ${r.level} | ${r.uirgen.toFixed(2)} (${r.channel}) | ${r.figure.toFixed(2)} | ${(r.uirgen - r.figure >= 0 ? '+' : '')}${(r.uirgen - r.figure).toFixed(2)} dB |`);
  }
}
const otherMeasures = listDegradations().filter((d) => d.severity && d.severity.measure !== 'psnr');
if (otherMeasures.length) {
  lines.push('', 'Types whose severity is held to another measure than PSNR (their PSNR above need not fall with the level):', '');
  for (const d of otherMeasures) lines.push(`- **${d.id}**: ${d.severity.measure}. ${d.severity.why}`);
}
lines.push('', '## Sources', '');
const firstWith = new Map();
for (const f of FIGURES) {
  // A source shared by several entries (one table for many combinations) is written out once.
  const seen = f.source.length > 80 ? firstWith.get(f.source) : undefined;
  if (!seen) firstWith.set(f.source, `${f.type}, ${f.benchmark}`);
  const source = seen ? `Source as for ${seen}.` : f.source;
  lines.push(`- **${f.type}** (${f.benchmark}): ${f.values ? `${figureValues(f)} dB ${f.channel}${f.ssim ? ' (SSIM)' : ''}, ${f.kind}. ` : ''}${source}`);
}
lines.push('');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${lines.join('\n')}\n`);
const missed = table.filter((r) => r.bracket.verdict.startsWith('no:'));
console.error(`calibrate: wrote ${out} (${table.length} rows; ${missed.length} with a figure outside the levels${missed.length ? `: ${missed.map((r) => `${r.type}/${r.variant} (${r.figure.benchmark})`).join(', ')}` : ''})`);
