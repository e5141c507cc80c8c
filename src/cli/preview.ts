import type { Command } from 'commander';
import { DEFAULT_PREVIEW_LEVELS, DEFAULT_TILE, makePreview, PreviewError } from '../pipeline/preview.js';
import { StorageError } from '../pipeline/shards.js';
import { ShardReadError } from '../core/shard-reader.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';

interface PreviewFlags {
  out: string;
  types?: string;
  perType: string;
  split?: string;
  tile: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('preview')
    .description('a labelled contact sheet: one row per type, clean beside degraded at several levels, read from the shards')
    .argument('<DS>', 'dataset folder')
    .requiredOption('-o, --out <sheet.png>', 'the PNG to write')
    .option('--types <GN,MB,..>', 'only these types, in this order (default: every type in the dataset)')
    .option('--per-type <N>', 'pairs per type, spread from the mildest to the most severe level', String(DEFAULT_PREVIEW_LEVELS))
    .option('--split <S>', 'only samples of this split (train, val, test)')
    .option('--tile <PX>', 'side of each image in the sheet', String(DEFAULT_TILE))
    .option('--json', 'print what was written as JSON')
    .action(
      action(async (ds: string, flags: PreviewFlags) => {
        if (!/\.png$/i.test(flags.out)) throw new UsageError(`--out must name a .png file, got "${flags.out}"`);
        const perType = parseIntOption('--per-type', flags.perType, 1, 32);
        const tile = parseIntOption('--tile', flags.tile, 16, 1024);
        const types = flags.types?.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
        try {
          const s = await makePreview(ds, flags.out, { types, perType, tile, ...(flags.split ? { split: flags.split } : {}) });
          process.stdout.write(
            flags.json ? `${JSON.stringify(s)}\n` : `wrote ${s.out} (${s.width}x${s.height}): ${s.types.length} types, ${s.pairs} pairs\n`,
          );
        } catch (err) {
          if (err instanceof PreviewError || err instanceof StorageError || err instanceof ShardReadError) throw new UserError(err.message);
          throw err;
        }
      }),
    );
}
