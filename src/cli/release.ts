import type { Command } from 'commander';
import { createProgress, silentProgress } from '../pipeline/progress.js';
import { release, ReleaseRefusal, type ReleaseSummary } from '../pipeline/release.js';
import { UntrustedDatabaseError } from '../core/untrusted/sqlite.js';
import { action, parseIntOption, UserError } from './errors.js';

interface ReleaseFlags {
  name: string;
  version: string;
  license: string;
  sourcesLicense?: string;
  sources?: string[];
  workers?: string;
  json?: boolean;
  quiet?: boolean;
}

function describe(s: ReleaseSummary): string {
  const notes = s.notes.map((n) => `note: ${n}\n`).join('');
  return (
    `${notes}released ${s.name} ${s.version}: ${s.samples} samples in ${s.shards} shards (${(s.bytes / 1e6).toFixed(1)} MB)\n` +
    `wrote ${s.files.map((f) => `${s.dataset}/${f}`).join(', ')}\n` +
    `check it with: (cd ${s.dataset} && sha256sum -c SHA256SUMS) or uirgen verify ${s.dataset}\n`
  );
}

export function register(program: Command): void {
  program
    .command('release')
    .description('make a finished dataset a release: dataset card (README.md), croissant.json, SHA256SUMS, release.lock.json')
    .argument('<DS>', 'the dataset folder (a finished synthesize or merge)')
    .requiredOption('--name <NAME>', 'the dataset\'s name (the card\'s pretty_name)')
    .option('--version <V>', 'release version', '1.0.0')
    .option('--license <L>', 'licence of the release, as a Hugging Face licence id (e.g. cc-by-4.0)', 'unknown')
    .option('--sources-license <TEXT>', 'the source images\' licences, quoted in the card (licence files in the source folders are quoted too)')
    .option('--sources <DIR...>', 'folders holding the source files, for their sizes in the lock (default: the recipe\'s)')
    .option('--workers <N>', 'worker threads for hashing (default: the number of cores)')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--quiet', 'no progress output')
    .action(
      action(async (ds: string, opts: ReleaseFlags) => {
        const workers = opts.workers === undefined ? undefined : parseIntOption('--workers', opts.workers, 1, 256);
        let summary: ReleaseSummary;
        try {
          summary = await release(ds, {
            name: opts.name,
            version: opts.version,
            license: opts.license,
            sourcesLicense: opts.sourcesLicense,
            sources: opts.sources,
            workers,
            progress: opts.quiet || opts.json ? silentProgress() : createProgress({ label: 'release: checking', unit: 'MB' }),
          });
        } catch (err) {
          if (err instanceof ReleaseRefusal || err instanceof UntrustedDatabaseError) throw new UserError(err.message);
          throw err;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : describe(summary));
      }),
    );
}
