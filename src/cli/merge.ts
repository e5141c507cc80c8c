import type { Command } from 'commander';
import { merge, type MergeSummary } from '../pipeline/merge.js';
import { RecipeError } from '../pipeline/recipe.js';
import { action, UserError } from './errors.js';

interface MergeCliOptions {
  move?: boolean;
  allowPartial?: boolean;
  json?: boolean;
}

function describe(s: MergeSummary): string {
  return (
    `merged ${s.merged_shards} shards from ${s.parts} parts${s.present_shards > 0 ? ` (${s.present_shards} already there)` : ''}\n` +
    `${s.out}: ${s.samples} samples, ${s.shards} shards, ${s.sources} sources, ${s.errors} errors\n`
  );
}

export function register(program: Command): void {
  program
    .command('merge')
    .description('join datasets made by partitioned runs (--shard-index/--shard-count) into one')
    .argument('<DS>', 'the merged dataset folder (created; rerun to resume an interrupted merge)')
    .argument('<PART...>', 'part folders, each made by `uirgen synthesize --shard-index I --shard-count K`')
    .option('--move', 'move shard files out of the parts instead of copying them (same disk)')
    .option('--allow-partial', 'succeed even if some planned shards are in no part')
    .option('--json', 'print the summary as JSON on stdout')
    .action(
      action(async (out: string, parts: string[], opts: MergeCliOptions) => {
        let summary: MergeSummary;
        try {
          summary = await merge(out, parts, { move: opts.move });
        } catch (err) {
          if (err instanceof RecipeError) throw new UserError(err.message);
          throw err;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : describe(summary));
        if (summary.missing.length > 0) {
          const list = summary.missing.slice(0, 5).join(', ') + (summary.missing.length > 5 ? `, ... (${summary.missing.length} in all)` : '');
          process.stderr.write(`uirgen: ${summary.missing.length} of ${summary.planned_shards} planned shards are in no part: ${list}\n`);
          if (!opts.allowPartial) {
            throw new UserError('the merged dataset is incomplete: run the missing parts (or rerun unfinished ones), then merge again; --allow-partial accepts it as is');
          }
        }
      }),
    );
}
