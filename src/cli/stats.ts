import type { Command } from 'commander';
import { writeHtmlReport, DEFAULT_EXAMPLES } from '../pipeline/report/html.js';
import { StorageError } from '../pipeline/shards.js';
import { computeStats, DEFAULT_SSIM_SAMPLES, type DatasetStats, type Quantiles } from '../pipeline/stats.js';
import { ShardReadError } from '../core/shard-reader.js';
import { action, parseIntOption, UserError } from './errors.js';

interface StatsFlags {
  json?: boolean;
  html?: string;
  ssimSamples: string;
  examples: string;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** At most 5 characters: 987, 12.3k, 531k, 2.40M. */
export function compact(x: number): string {
  if (x < 1000) return String(x);
  if (x < 10_000) return `${(x / 1000).toFixed(2)}k`;
  if (x < 100_000) return `${(x / 1000).toFixed(1)}k`;
  if (x < 1_000_000) return `${Math.round(x / 1000)}k`;
  return `${(x / 1e6).toFixed(2)}M`;
}

export function bytes(x: number): string {
  if (x < 1024) return `${x} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = x / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

function q(x: Quantiles | null, digits: number): string {
  if (!x || x.n === 0 || x.median === null) return '-';
  return `${x.median.toFixed(digits)} [${(x.p10 as number).toFixed(digits)}, ${(x.p90 as number).toFixed(digits)}]`;
}

function table(rows: string[][], right: ReadonlySet<number>): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** The terminal report: the same figures as --json, laid out for reading. */
export function describeStats(s: DatasetStats): string {
  const out: string[] = [];
  const r = s.recipe;
  out.push(`${s.dataset}${r ? `  (recipe ${r.name}, seed ${r.seed}, crop ${r.crop})` : ''}`);
  if (s.writer) out.push(`  being written now by ${s.writer}: figures are as of the last committed shard`);
  const t = s.totals;
  const planned = t.planned === null ? '' : ` · planned ${n(t.planned)}, not yet rendered ${n(t.missing ?? 0)}`;
  out.push(
    `samples ${n(t.samples)}: synthetic ${n(t.synthetic)}, real ${n(t.real)}${t.imported_other ? `, imported (not real) ${n(t.imported_other)}` : ''}` +
      ` · ${t.types} types · ${t.levels_present}/${t.levels_total} levels${planned}`,
  );
  if (s.plan) {
    out.push(
      `plan: ${n(s.plan.samples)} samples in ${n(s.plan.shards)} shards${s.plan.virtual ? ' over virtual sources (for inspection; not renderable)' : ''}, fingerprint ${s.plan.fingerprint.slice(0, 12)}`,
    );
  }
  out.push(
    `splits: ${s.splits
      .map((x) => {
        const sources = x.planned_sources !== null && x.sources === 0 ? `${n(x.planned_sources)} planned sources` : `${n(x.sources)} sources`;
        return `${x.split} ${n(x.samples)}${x.planned !== null ? `/${n(x.planned)} planned` : ''} (${sources}${x.requested_fraction !== null ? `, asked ${x.requested_fraction}` : ''})`;
      })
      .join(' · ')}`,
  );
  out.push('');

  const withSsim = s.types.some((x) => x.ssim !== null);
  const withPlan = s.types.some((x) => x.planned !== null);
  const head = ['type', 'samples', 'real', 'levels', 'per level', 'PSNR dB median [p10, p90]'];
  if (withSsim) head.push('SSIM median [p10, p90] (n)');
  if (withPlan) head.push('planned', 'missing');
  const rows = [head];
  for (const x of s.types) {
    const row = [
      x.type,
      n(x.samples),
      n(x.real),
      `${x.levels_present}/${x.levels_total}`,
      x.levels_present ? (x.per_level_min === x.per_level_max ? n(x.per_level_min) : `${n(x.per_level_min)}..${n(x.per_level_max)}`) : '-',
      `${q(x.psnr, 2)}${x.psnr.identical ? ` +${x.psnr.identical} identical` : ''}`,
    ];
    if (withSsim) row.push(x.ssim && x.ssim.n > 0 ? `${q(x.ssim, 3)} (${x.ssim.n})` : '-');
    if (withPlan) row.push(x.planned === null ? '-' : n(x.planned), x.missing === null ? '-' : n(x.missing));
    rows.push(row);
  }
  out.push(...table(rows, new Set([1, 2, 3, 4, ...(withPlan ? [head.length - 2, head.length - 1] : [])])));
  out.push('');

  out.push(`samples per level, mildest first${withPlan ? ' (planned where nothing is rendered yet)' : ''}:`);
  for (const x of s.types) {
    const levels = s.levels.filter((l) => l.type === x.type);
    if (levels.length === 0) continue;
    const cells = levels.map((l) => compact(l.samples > 0 || l.planned === null ? l.samples : l.planned));
    const lines: string[] = [];
    let line = `  ${x.type.padEnd(5)}`;
    for (const c of cells) {
      if (line.length + c.length + 1 > 100) {
        lines.push(line);
        line = '       ';
      }
      line += ` ${c.padStart(5)}`;
    }
    lines.push(line);
    out.push(...lines);
  }
  out.push('');

  const src = s.sources;
  const colls = src.by_collection.length ? ` · by collection: ${src.by_collection.map((c) => `${c.collection} ${n(c.sources)}`).join(', ')}` : '';
  out.push(
    `sources: ${n(src.known)} known, ${n(src.used)} used${src.planned !== null ? `, ${n(src.planned)} planned` : ''} · skipped ${n(src.skipped)} · duplicated ${n(src.duplicated)}${colls}`,
  );
  for (const e of src.errors) {
    out.push(`  ${e.stage} (${n(e.count)}):`);
    for (const ex of e.examples) out.push(`    ${ex.path}: ${ex.message}`);
    if (e.count > e.examples.length) out.push(`    ... and ${n(e.count - e.examples.length)} more (errors table)`);
  }

  const sh = s.shards;
  const plannedShards = sh.planned !== null ? ` · planned ${n(sh.planned)}, missing ${n(sh.missing ?? 0)}` : '';
  out.push(
    sh.count === 0
      ? `shards: none written${plannedShards}`
      : `shards: ${n(sh.count)}, ${bytes(sh.bytes)} · ${bytes(sh.bytes_min)}..${bytes(sh.bytes_max)} each (median ${bytes(sh.bytes_median)}), ` +
          `${n(sh.samples_min)}..${n(sh.samples_max)} samples · largest/mean ${(sh.bytes_max_over_mean ?? 0).toFixed(2)}${plannedShards}` +
          (sh.by_prefix.length > 1 ? ` · ${sh.by_prefix.map((p) => `${p.prefix} ${n(p.shards)}`).join(', ')}` : ''),
  );

  if (s.imports.length > 0) {
    const missing = s.imports.reduce((a, e) => a + e.missing, 0);
    out.push(`imports the recipe expects (${n(missing)} pairs missing):`);
    const rows2 = [['type', 'expected', 'present', 'missing', 'datasets', 'add with']];
    for (const e of s.imports) rows2.push([e.type, n(e.expected), n(e.present), n(e.missing), e.datasets.join(', '), e.missing > 0 ? e.command : '']);
    out.push(...table(rows2, new Set([1, 2, 3])).map((l) => `  ${l}`));
  }

  const runs = s.runs;
  const v = runs.latest_versions;
  const libs = ['node', 'sharp', 'vips'].filter((k) => typeof v[k] === 'string').map((k) => `${k} ${String(v[k])}`);
  out.push(
    `runs: ${runs.count} (${Object.entries(runs.commands).map(([k, c]) => `${k} ${c}`).join(', ')}) · uirgen ${runs.toolkit_versions.join(', ')}` +
      `${libs.length ? ` · ${libs.join(' · ')}` : ''}${runs.last_finished ? ` · last finished ${runs.last_finished}` : ''}`,
  );
  out.push(`manifest: ${s.manifest.path} (${bytes(s.manifest.bytes)})`);
  return `${out.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('what a dataset holds: counts by type, level and split, PSNR/SSIM per type, sources, shards, versions')
    .argument('<DS>', 'dataset folder (manifest.sqlite); may be one a synthesize run is still writing')
    .option('--json', 'print the figures as JSON (field names in README, "uirgen stats --json")')
    .option('--html <report.html>', 'also write a self-contained HTML report with charts and example pairs')
    .option('--ssim-samples <N>', 'pairs per type decoded from the shards for SSIM (0: none)', String(DEFAULT_SSIM_SAMPLES))
    .option('--examples <N>', 'example pairs per type in the HTML report', String(DEFAULT_EXAMPLES))
    .addHelpText(
      'after',
      '\nPSNR figures cover every sample (from the manifest); SSIM is measured on a sampled subset\n' +
        '(--ssim-samples per type, spread over the levels) decoded from the shards. Percentiles are\n' +
        'numpy.percentile\'s default (linear). Identical pairs (infinite PSNR) are counted apart.',
    )
    .action(
      action(async (ds: string, flags: StatsFlags) => {
        const ssimSamples = parseIntOption('--ssim-samples', flags.ssimSamples, 0, 10_000);
        const examples = parseIntOption('--examples', flags.examples, 0, 64);
        let stats: DatasetStats;
        try {
          stats = await computeStats(ds, { ssimSamples });
          if (flags.html) await writeHtmlReport(stats, flags.html, { examples });
        } catch (err) {
          if (err instanceof StorageError || err instanceof ShardReadError) throw new UserError(err.message);
          throw err;
        }
        process.stdout.write(flags.json ? `${JSON.stringify(stats, null, 2)}\n` : describeStats(stats));
        if (flags.html && !flags.json) process.stdout.write(`report: ${flags.html}\n`);
      }),
    );
}
