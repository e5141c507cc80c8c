import type { Command } from 'commander';
import { createProgress, silentProgress } from '../pipeline/progress.js';
import { RegenerateRefusal } from '../pipeline/regenerate.js';
import { verifyDataset, VerifyRefusal, type VerifyReport } from '../pipeline/verify.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';

interface VerifyFlags {
  regenerate?: string;
  regenerateAll?: boolean;
  fast?: boolean;
  sources?: string[];
  workers?: string;
  json?: boolean;
  quiet?: boolean;
  maxProblems: string;
}

/** Problems printed on a terminal before "... and N more" (--json has all that were kept). */
const PRINT_LIMIT = 50;

export function describeReport(r: VerifyReport): string {
  const lines: string[] = [];
  // Each message names its file (and sample); the code is what --json filters on.
  for (const p of r.problems.slice(0, PRINT_LIMIT)) lines.push(`  ${p.code}: ${p.message}`);
  if (r.problem_count > PRINT_LIMIT) lines.push(`  ... and ${r.problem_count - PRINT_LIMIT} more (--json lists up to --max-problems)`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  const what = `${r.checked.shards} shards, ${r.checked.samples} samples, ${(r.checked.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s (${r.mb_per_s} MB/s)`;
  if (r.regenerated) {
    const g = r.regenerated;
    lines.push(`regenerated ${g.samples} samples (${Object.entries(g.by_type).map(([t, n]) => `${t} ${n}`).join(', ')}): ${g.matched} byte-identical`);
  }
  lines.push(r.ok ? `OK: ${r.dataset}${r.release ? ' (release)' : ''}: ${what}` : `FAILED: ${r.problem_count} problem(s) in ${r.dataset}: ${what}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check a dataset or release: shards, manifest, lock and SHA256SUMS against each other (exit 1 on any problem)')
    .argument('<DS>', 'the dataset folder')
    .option('--regenerate <N>', 're-render N samples (spread over the types) from the sources and their recorded params; compare bytes')
    .option('--regenerate-all', 're-render every synthesized sample on the worker pool and compare bytes')
    .option('--sources <DIR...>', 'folders holding the source files, for --regenerate (default: the recipe\'s)')
    .option('--fast', 'hash members only in shards whose checksum differs (then say which sample changed): half the hashing')
    .option('--workers <N>', 'worker threads (default: the number of cores)')
    .option('--max-problems <N>', 'problems kept in the report (the count is always exact)', '1000')
    .option('--json', 'print the report as JSON on stdout')
    .option('--quiet', 'no progress output')
    .action(
      action(async (ds: string, opts: VerifyFlags) => {
        if (opts.regenerate !== undefined && opts.regenerateAll) throw new UsageError('give --regenerate N or --regenerate-all, not both');
        const regenerate = opts.regenerateAll ? 'all' : opts.regenerate === undefined ? undefined : parseIntOption('--regenerate', opts.regenerate, 1);
        const workers = opts.workers === undefined ? undefined : parseIntOption('--workers', opts.workers, 1, 256);
        const maxProblems = parseIntOption('--max-problems', opts.maxProblems, 1);
        let report: VerifyReport;
        try {
          report = await verifyDataset(ds, {
            workers,
            fast: opts.fast,
            regenerate,
            sources: opts.sources,
            maxProblems,
            progress: opts.quiet || opts.json ? silentProgress() : createProgress({ label: 'verify', unit: 'MB' }),
          });
        } catch (err) {
          if (err instanceof VerifyRefusal || err instanceof RegenerateRefusal) throw new UserError(err.message);
          throw err;
        }
        process.stdout.write(opts.json ? `${JSON.stringify({ ...report, shards: undefined })}\n` : describeReport(report));
        if (!report.ok) process.exitCode = 1;
      }),
    );
}
