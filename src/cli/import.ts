import type { Command } from 'commander';
import { isTypeId, TYPE_IDS } from '../degradations/types.js';
import { DEFAULT_IMPORT_SHARD_SAMPLES, ImportError, importPairs, type ImportSummary } from '../pipeline/import.js';
import { StorageError } from '../pipeline/shards.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';

interface ImportFlags {
  type: string;
  lq: string;
  gt: string;
  out: string;
  real?: boolean;
  json?: boolean;
  split: string;
  shardSamples: string;
  prefix?: string;
}

/** How many unmatched names a terminal summary lists before "... and N more". */
const LIST_LIMIT = 10;

function listed(label: string, paths: readonly string[]): string {
  if (paths.length === 0) return '';
  const shown = paths.slice(0, LIST_LIMIT).map((p) => `  ${p}\n`).join('');
  const more = paths.length > LIST_LIMIT ? `  ... and ${paths.length - LIST_LIMIT} more (see the errors table)\n` : '';
  return `${label} (${paths.length}):\n${shown}${more}`;
}

function describe(s: ImportSummary): string {
  const lines = [
    `imported ${s.imported} ${s.type} pairs into ${s.out} (${s.shards} shard${s.shards === 1 ? '' : 's'} ${s.prefix}-*.tar` +
      `${s.resumedShards ? `, ${s.resumedShards} kept from an earlier run` : ''})\n`,
  ];
  if (s.failed) lines.push(`${s.failed} matched pairs could not be used (unreadable or sizes differ; see the errors table)\n`);
  if (s.ignored) lines.push(`${s.ignored} auxiliary files ignored (rainregion-/rainstreak- maps)\n`);
  if (s.unreadable) lines.push(`${s.unreadable} entries could not be read while walking the folders\n`);
  lines.push(listed('degraded images with no ground truth', s.unmatchedLq));
  lines.push(listed('ground truths with no degraded image', s.unmatchedGt));
  lines.push(listed('degraded images matching several ground truths', s.ambiguous));
  return lines.join('');
}

/** `uirgen import`: an existing paired dataset into shards and the manifest. */
export function register(program: Command): void {
  program
    .command('import')
    .description('add an existing paired dataset (SIDD, GoPro, LOL, RESIDE/SOTS, Rain100L, ...) to a dataset')
    .requiredOption('--type <TYPE>', `degradation type of the pairs: ${TYPE_IDS.join(' ')}`)
    .requiredOption('--lq <dir>', 'folder of degraded images (searched recursively)')
    .requiredOption('--gt <dir>', 'folder of ground-truth images (may be the same folder as --lq)')
    .requiredOption('--out <ds>', 'dataset directory (created if missing; shards/ and manifest.sqlite)')
    .option('--real', 'the pairs are real captures, not synthetic: samples.real = 1, level_id "real"')
    .option('--split <name>', 'split recorded for every pair (train, val, test, ...)', 'train')
    .option('--shard-samples <n>', 'pairs per shard', String(DEFAULT_IMPORT_SHARD_SAMPLES))
    .option('--prefix <name>', 'shard name prefix (default import-<type>-<8 hex of the pair list>)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nPairs are matched by file stem (extension and case ignored), with the usual naming quirks:\n' +
        '  RESIDE/SOTS  hazy 0001_0.8_0.2.jpg -> clear 0001.png (several hazes may share one clear image)\n' +
        '  Rain100L/H   rain-001.png -> norain-001.png, rain-001x2 -> norain-001x2 (rainregion-/rainstreak- ignored)\n' +
        '  SIDD         0001_NOISY_SRGB_010.PNG -> 0001_GT_SRGB_010.PNG (same scene folder)\n' +
        '  LOL          low/2.png -> high/2.png; LOL-v2 low00001.png -> normal00001.png\n' +
        '  GoPro        <seq>/blur/000001.png -> <seq>/sharp/000001.png (or input/ and target/)\n' +
        'Unmatched files are listed and recorded in the errors table. Images are stored as 8-bit RGB\n' +
        'PNG; each pair must have one size. Running the same command again resumes an interrupted import.',
    )
    .action(
      action(async (flags: ImportFlags) => {
        const type = flags.type.toUpperCase();
        if (!isTypeId(type)) throw new UsageError(`--type must be one of ${TYPE_IDS.join(', ')}, got "${flags.type}"`);
        const shardSamples = parseIntOption('--shard-samples', flags.shardSamples, 1, 1_000_000);
        if (!/^[A-Za-z0-9_-]+$/.test(flags.split)) throw new UsageError(`--split must be a word of letters, digits, _ or -, got "${flags.split}"`);
        if (flags.prefix !== undefined && !/^[A-Za-z0-9_-]{1,80}$/.test(flags.prefix)) {
          throw new UsageError(`--prefix must be 1..80 characters of A-Z a-z 0-9 _ -, got "${flags.prefix}"`);
        }
        const tty = process.stderr.isTTY && !flags.json;
        let summary: ImportSummary;
        try {
          summary = await importPairs({
            type,
            lqDir: flags.lq,
            gtDir: flags.gt,
            out: flags.out,
            real: flags.real === true,
            split: flags.split,
            shardSamples,
            prefix: flags.prefix,
            onShard: ({ shard, done, total, resumed }) => {
              if (tty) process.stderr.write(`\rshard ${done}/${total} ${shard}${resumed ? ' (kept)' : ''}   `);
              if (tty && done === total) process.stderr.write('\n');
            },
          });
        } catch (err) {
          if (err instanceof ImportError || err instanceof StorageError) throw new UserError(err.message);
          throw err;
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else process.stdout.write(describe(summary));
      }),
    );
}
