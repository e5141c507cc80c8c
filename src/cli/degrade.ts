import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { decodeImage, encodePng } from '../core/io.js';
import { createRng, deriveSeed } from '../core/random.js';
import { checkReplayVersion, getDegradation, resolveLevel } from '../degradations/registry.js';
import type { Degradation, Params } from '../degradations/types.js';
import { TOOLKIT_VERSION } from '../version.js';
import { action, UsageError, UserError } from './errors.js';

interface DegradeOptions {
  type: string;
  level?: string;
  seed: string;
  output: string;
  paramsOut?: string;
  params?: string;
  json?: boolean;
}

/** What --params-out writes and --params reads back. */
export interface ParamsFile {
  type: string;
  level: number;
  level_id: string;
  seed: string;
  /** The type's rendering version that made these params' output (absent in files of uirgen 0.1.0: version 1). */
  type_version?: number;
  params: Params;
  toolkit_version: string;
}

function lookupType(name: string): Degradation {
  try {
    return getDegradation(name);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function readParamsFile(path: string, d: Degradation): Promise<ParamsFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UserError(`${path}: cannot read params (${(err as Error).message})`);
  }
  const p = parsed as Partial<ParamsFile>;
  if (!p || typeof p !== 'object' || typeof p.params !== 'object' || p.params === null || typeof p.type !== 'string') {
    throw new UserError(`${path}: not a params file (expected {"type", "level", "params", ...} as written by --params-out)`);
  }
  if (p.type !== d.id) throw new UsageError(`${path} holds params for type ${p.type}, but -t ${d.id} was given`);
  try {
    checkReplayVersion(d, p.type_version, path);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  return p as ParamsFile;
}

export function register(program: Command): void {
  program
    .command('degrade')
    .description('degrade one image with one type at one level (or replay recorded params)')
    .argument('<input>', 'clean input image (any common format)')
    .requiredOption('-t, --type <TYPE>', 'degradation type id (see `uirgen degradations`)')
    .option('-l, --level <LEVEL>', 'level index or id (e.g. 3 or gaussian:25); default: the middle level')
    .option('--seed <N>', 'seed for the random choices', '0')
    .requiredOption('-o, --output <OUT.png>', 'output PNG (8-bit RGB, same size as the input)')
    .option('--params-out <P.json>', 'write the params that made the output (replayable with --params)')
    .option('--params <P.json>', 'replay params recorded by --params-out instead of sampling new ones')
    .option('--json', 'print what was done as JSON')
    .action(
      action(async (input: string, opts: DegradeOptions) => {
        const d = lookupType(opts.type);
        if (extname(opts.output).toLowerCase() !== '.png') {
          throw new UsageError(`--output must be a .png file (lossless), got "${opts.output}"`);
        }
        if (opts.params && opts.level !== undefined) throw new UsageError('--params replays recorded params; do not combine it with --level');
        const image = await decodeImage(input);
        let record: ParamsFile;
        if (opts.params) {
          record = await readParamsFile(opts.params, d);
        } else {
          let level: number;
          try {
            level = opts.level === undefined ? Math.floor((d.levels.length - 1) / 2) : resolveLevel(d, opts.level);
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
          // The stream depends on (seed, type, level) only, so one seed gives the same params on any image of a size.
          const rng = createRng(deriveSeed(opts.seed, 'degrade', d.id, level));
          const params = d.sample(level, rng, { width: image.width, height: image.height });
          record = {
            type: d.id,
            level,
            level_id: d.levels[level].id,
            seed: opts.seed,
            type_version: d.version,
            params,
            toolkit_version: TOOLKIT_VERSION,
          };
        }
        const out = await d.apply(image, record.params);
        try {
          await writeFile(opts.output, await encodePng(out));
          if (opts.paramsOut) await writeFile(opts.paramsOut, `${JSON.stringify(record, null, 2)}\n`);
        } catch (err) {
          throw new UserError(`cannot write output: ${(err as Error).message}`);
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ input, output: opts.output, width: out.width, height: out.height, ...record })}\n`);
        } else {
          process.stdout.write(`${opts.output}: ${d.id} ${record.level_id} (${out.width}x${out.height})\n`);
        }
      }),
    );
}
