import type { Command } from 'commander';
import { createProgress, silentProgress } from '../pipeline/progress.js';
import { applyOverrides, normalizeRecipe, readRecipe, RecipeError, type Recipe } from '../pipeline/recipe.js';
import { InterruptedError, NoSourcesError, synthesize, type SynthesizeSummary } from '../pipeline/synthesize.js';
import { RebuildRefusal, rebuildFromRelease } from '../pipeline/rebuild.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';

export interface SynthesizeCliOptions {
  sources?: string[];
  collection?: string[];
  out: string;
  recipe?: string;
  perSource?: string;
  samples?: string;
  crop?: string;
  seed?: string;
  types?: string;
  workers?: string;
  shardSamples?: string;
  shardIndex?: string;
  shardCount?: string;
  depth?: string;
  depthKind?: string;
  json?: boolean;
  quiet?: boolean;
  fromRelease?: string;
}

/** Exit codes of a process stopped by a signal, as a shell reports them. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function describeSummary(s: SynthesizeSummary): string {
  const part = s.part.count > 1 ? ` (part ${s.part.index} of ${s.part.count})` : '';
  return (
    `made ${s.made} samples in ${s.seconds.toFixed(1)} s (${s.pairs_per_s} pairs/s)${part}` +
    `${s.resumed_shards > 0 ? `, ${s.resumed_shards} shards kept from an earlier run` : ''}\n` +
    `${s.out}: ${s.samples} samples, ${s.shards} shards, ${s.sources} sources, ${s.errors} errors (see the errors table)\n`
  );
}

/** --collection NAME=DIR values as a map; usage errors name the bad value. */
function collectionFolders(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new UsageError(`--collection must be NAME=DIR, got "${v}"`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** The recipe file (or the defaults) with the command-line overrides that synthesize and plan share. */
export async function effectiveRecipe(opts: SynthesizeCliOptions): Promise<Recipe> {
  if (opts.samples !== undefined && opts.perSource !== undefined) throw new UsageError('give --samples or --per-source, not both');
  if ((opts.shardIndex === undefined) !== (opts.shardCount === undefined)) {
    throw new UsageError('--shard-index and --shard-count go together');
  }
  const base = opts.recipe ? await readRecipe(opts.recipe) : normalizeRecipe({});
  try {
    return applyOverrides(base, {
      sources: opts.sources,
      collections: collectionFolders(opts.collection),
      crop: opts.crop === undefined ? undefined : parseIntOption('--crop', opts.crop, 8, 8192),
      seed: opts.seed,
      samples: opts.samples === undefined ? undefined : parseIntOption('--samples', opts.samples, 1),
      per_source: opts.perSource === undefined ? undefined : parseIntOption('--per-source', opts.perSource, 1),
      types: opts.types === undefined ? undefined : opts.types.split(',').filter((t) => t.trim().length > 0),
      shard_samples: opts.shardSamples === undefined ? undefined : parseIntOption('--shard-samples', opts.shardSamples, 1, 1_000_000),
      depth: opts.depth,
      depth_kind: opts.depthKind,
    });
  } catch (err) {
    if (err instanceof RecipeError) throw new UsageError(err.message);
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('synthesize')
    .description('make degraded/clean training pairs from folders of photos: WebDataset shards + SQLite manifest (resumable)')
    .option('--sources <DIR...>', 'folders of clean photos (searched recursively); default: the recipe\'s')
    .option('--collection <NAME=DIR...>', 'map a recipe collection (LSDIR, DF2K, ...) to a local folder')
    .requiredOption('--out <DS>', 'dataset folder (created; rerun the same command to resume)')
    .option('--recipe <R.json>', 'recipe: types and weights or counts, crop, seed, splits (see manifests/)')
    .option('--per-source <N>', 'samples per source photo (default 10)')
    .option('--samples <N>', 'samples in all, spread evenly over the sources')
    .option('--crop <PX>', 'side of the square crops (default 256)')
    .option('--seed <S>', 'dataset seed (default 0)')
    .option('--types <GN,MB,..>', 'only these types (comma-separated ids; see `uirgen degradations`)')
    .option('--workers <N>', 'worker threads (default: the number of cores)')
    .option('--shard-samples <N>', 'samples per shard (default 1000)')
    .option('--shard-index <I>', 'make only shards s with s % K == I (with --shard-count K); join parts with `uirgen merge`')
    .option('--shard-count <K>', 'number of parts the plan is split into')
    .option('--depth <DIR>', 'folder of per-source depth maps (greyscale 16-bit PNG, same relative path and stem as each source) used instead of the depth estimate')
    .option('--depth-kind <KIND>', 'how the depth maps read: inverse (larger = nearer, as MiDaS / Depth Anything write; default) or depth (larger = farther)')
    .option('--from-release <LOCK>', 'rebuild a release byte for byte from its release.lock.json, --sources and, where it used real depth maps, --depth (no other recipe option)')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--quiet', 'no progress output')
    .action(
      action(async (opts: SynthesizeCliOptions) => {
        if (opts.fromRelease !== undefined) {
          await rebuildCommand(opts);
          return;
        }
        const recipe = await effectiveRecipe(opts);
        if (recipe.sources.length === 0 && !recipe.collections) throw new UsageError('no source folders: give --sources DIR... or "sources" in the recipe');
        const workers = opts.workers === undefined ? undefined : parseIntOption('--workers', opts.workers, 1, 256);
        const shardCount = opts.shardCount === undefined ? 1 : parseIntOption('--shard-count', opts.shardCount, 1);
        const shardIndex = opts.shardIndex === undefined ? 0 : parseIntOption('--shard-index', opts.shardIndex, 0, shardCount - 1);

        await interruptible(opts.out, async (signal) => {
          const summary = await synthesize({
            recipe,
            out: opts.out,
            workers,
            shardIndex,
            shardCount,
            signal,
            progress: opts.quiet ? silentProgress() : createProgress(),
          });
          process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : describeSummary(summary));
          if (!opts.json && recipe.imports?.length) {
            const pairs = recipe.imports.reduce((a, e) => a + e.count, 0);
            process.stdout.write(`the recipe also expects ${pairs} imported pairs (${recipe.imports.length} imports): \`uirgen stats ${opts.out}\` lists them with their commands\n`);
          }
        });
      }),
    );
}

/** Run `fn` with Ctrl-C / SIGTERM turned into an abort; an interrupted run exits as a shell expects. */
async function interruptible(out: string, fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  let signalName = '';
  const onSignal = (name: string) => () => {
    signalName = name;
    process.stderr.write(`\nuirgen: ${name}: stopping (the open shard is dropped; complete shards are kept)\n`);
    controller.abort();
  };
  const handlers = Object.keys(SIGNAL_EXIT).map((name) => [name, onSignal(name)] as const);
  // once: a second Ctrl-C gets Node's default and ends the process at once.
  for (const [name, h] of handlers) process.once(name, h);
  try {
    await fn(controller.signal);
  } catch (err) {
    if (err instanceof InterruptedError) {
      process.stderr.write(`uirgen: interrupted; run the same command again to resume (${out})\n`);
      process.exitCode = SIGNAL_EXIT[signalName] ?? 130;
      return;
    }
    if (err instanceof RecipeError || err instanceof NoSourcesError || err instanceof RebuildRefusal) throw new UserError(err.message);
    throw err;
  } finally {
    for (const [name, h] of handlers) process.removeListener(name, h);
  }
}

/** Options that would change what a release makes: refused with --from-release, whose lock fixes them. */
const RECIPE_FLAGS = ['recipe', 'perSource', 'samples', 'crop', 'seed', 'types', 'shardSamples', 'shardIndex', 'shardCount', 'depthKind'] as const;

async function rebuildCommand(opts: SynthesizeCliOptions): Promise<void> {
  const given = RECIPE_FLAGS.filter((f) => opts[f] !== undefined);
  if (given.length > 0) {
    throw new UsageError(`--from-release takes the recipe from the lock; drop ${given.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  }
  if (!opts.sources || opts.sources.length === 0) throw new UsageError('--from-release needs --sources: the folders holding the release\'s source files');
  const workers = opts.workers === undefined ? undefined : parseIntOption('--workers', opts.workers, 1, 256);
  await interruptible(opts.out, async (signal) => {
    const summary = await rebuildFromRelease({
      lock: opts.fromRelease as string,
      sources: opts.sources as string[],
      ...(opts.depth !== undefined ? { depth: opts.depth } : {}),
      out: opts.out,
      workers,
      signal,
      progress: opts.quiet ? silentProgress() : createProgress({ label: 'rebuild' }),
    });
    process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : describeSummary(summary));
    if (summary.differing.length > 0) {
      throw new UserError(
        `the rebuild differs from the release in ${summary.differing.length} shard(s):\n${summary.differing.slice(0, 10).map((d) => `  - ${d}`).join('\n')}`,
      );
    }
    if (!opts.json) process.stdout.write(`all ${summary.identical} shards and their manifest rows are byte-identical to the release\n`);
  });
}
