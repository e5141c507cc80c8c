import type { Command } from 'commander';
import { InterruptedError } from '../pipeline/discover.js';
import { importCommand } from '../pipeline/import-layouts.js';
import { writePlan, type PlanSummary } from '../pipeline/planned.js';
import { createProgress, silentProgress } from '../pipeline/progress.js';
import { RecipeError, SPLIT_NAMES, type Recipe } from '../pipeline/recipe.js';
import { StorageError } from '../pipeline/shards.js';
import { action, UserError } from './errors.js';
import { effectiveRecipe, type SynthesizeCliOptions } from './synthesize.js';

interface PlanCliOptions extends SynthesizeCliOptions {
  virtualSources?: boolean;
}

const n = (x: number): string => x.toLocaleString('en-US');

export function describePlan(s: PlanSummary, recipe: Recipe): string {
  const lines: string[] = [];
  const what = s.virtual ? ' (virtual: each collection as its published count and typical size)' : '';
  lines.push(
    `${s.written ? 'planned' : 'already planned'} ${n(s.samples)} samples in ${n(s.shards)} shards from ${n(s.sources)} sources${what}` +
      `${s.written ? ` in ${s.seconds.toFixed(1)} s` : ''}`,
  );
  const colls = Object.entries(s.sources_by_collection).filter(([c]) => c !== '');
  if (colls.length > 0) lines.push(`  sources: ${colls.map(([c, k]) => `${c} ${n(k)}`).join(' · ')}`);
  if (s.skipped_sources > 0) lines.push(`  ${n(s.skipped_sources)} files skipped (reasons in the errors table)`);
  lines.push(`  types: ${Object.entries(s.types).map(([t, k]) => `${t} ${n(k)}`).join(' · ')}`);
  lines.push(`  splits: ${SPLIT_NAMES.map((name) => `${name} ${n(s.splits[name].samples)} samples (${n(s.splits[name].sources)} sources)`).join(', ')}`);
  if (s.split_note) lines.push(`  note: ${s.split_note}`);
  const imports = recipe.imports ?? [];
  if (imports.length > 0) {
    const total = imports.reduce((a, e) => a + e.count, 0);
    lines.push(`expected imports, not synthesized (${n(total)} pairs; add them with uirgen import, layouts in uirgen import --help):`);
    for (const e of imports) {
      lines.push(`  ${e.type.padEnd(5)} ${n(e.count).padStart(7)} ${e.real ? 'real' : '    '}  ${e.datasets.join(', ').padEnd(34)} ${importCommand(e, s.out)}`);
    }
  }
  lines.push(`${s.out}: see \`uirgen stats ${s.out}\` for the type x level table, \`uirgen synthesize\` to render it`);
  return `${lines.join('\n')}\n`;
}

/** `uirgen plan`: the manifest rows of a whole recipe, without pixels. */
export function register(program: Command): void {
  program
    .command('plan')
    .description('write the manifest rows of a whole recipe without rendering pixels (a table `plan` beside `samples`)')
    .requiredOption('--recipe <R.json>', 'the recipe to plan (e.g. manifests/uir-2.5m.json)')
    .requiredOption('--out <DS>', 'dataset folder (created); synthesize into it later to render the planned rows')
    .option('--virtual-sources', 'stand in for each recipe collection with virtual images of its published count and typical size')
    .option('--collection <NAME=DIR...>', 'map a recipe collection to a local folder')
    .option('--sources <DIR...>', 'folders of clean photos (replace the recipe\'s collections: every type draws from them)')
    .option('--samples <N>', 'samples in all (keeps the recipe\'s proportions)')
    .option('--per-source <N>', 'samples per source photo')
    .option('--crop <PX>', 'side of the square crops')
    .option('--seed <S>', 'dataset seed')
    .option('--types <GN,MB,..>', 'only these types')
    .option('--shard-samples <N>', 'samples per shard')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nThe plan is the exact list of samples synthesize will make from the same recipe and folders (keys,\n' +
        'seeds, levels, crops, splits, shards), stored in the manifest table `plan`; `uirgen stats` reports it and\n' +
        'what is still missing. With --virtual-sources no photo is needed: the plan has the real one\'s shape\n' +
        '(counts per type, level, split, shard) but made-up keys, and synthesize refuses to render into it.',
    )
    .action(
      action(async (opts: PlanCliOptions) => {
        const recipe = await effectiveRecipe(opts);
        const controller = new AbortController();
        const onSignal = (): void => controller.abort();
        process.once('SIGINT', onSignal);
        try {
          const summary = await writePlan({
            recipe,
            out: opts.out,
            virtualSources: opts.virtualSources === true,
            signal: controller.signal,
            progress: opts.quiet || opts.json ? silentProgress() : createProgress({ label: 'plan' }),
          });
          process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : describePlan(summary, recipe));
        } catch (err) {
          if (err instanceof InterruptedError) {
            process.stderr.write(`uirgen: interrupted; run the same command again to plan (${opts.out})\n`);
            process.exitCode = 130;
            return;
          }
          if (err instanceof RecipeError || err instanceof StorageError) throw new UserError(err.message);
          throw err;
        } finally {
          process.removeListener('SIGINT', onSignal);
        }
      }),
    );
}
