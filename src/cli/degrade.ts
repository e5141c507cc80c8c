import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { DEPTH_KINDS, DepthMapError, decodeDepthMap, isDepthKind, type DepthMapData } from '../core/depthmap.js';
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
  depth?: string;
  depthKind?: string;
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

async function readDepth(path: string, kind: string | undefined, size: { width: number; height: number }): Promise<DepthMapData> {
  const k = kind ?? 'inverse';
  if (!isDepthKind(k)) throw new UsageError(`--depth-kind must be ${DEPTH_KINDS.join(' or ')}, got "${k}"`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UserError(`${path}: cannot read the depth map (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return await decodeDepthMap(bytes, k, path, size);
  } catch (err) {
    if (err instanceof DepthMapError) throw new UserError(err.message);
    throw err;
  }
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
    .option('--depth <FILE>', "the input's depth map (greyscale 16-bit PNG, e.g. from MiDaS / Depth Anything), used instead of the depth estimate and recorded in the params")
    .option('--depth-kind <KIND>', 'inverse (larger = nearer, as MiDaS / Depth Anything write; default) or depth (larger = farther)')
    .option('--json', 'print what was done as JSON')
    .action(
      action(async (input: string, opts: DegradeOptions) => {
        const d = lookupType(opts.type);
        if (extname(opts.output).toLowerCase() !== '.png') {
          throw new UsageError(`--output must be a .png file (lossless), got "${opts.output}"`);
        }
        if (opts.params && opts.level !== undefined) throw new UsageError('--params replays recorded params; do not combine it with --level');
        const image = await decodeImage(input);
        if (opts.depthKind !== undefined && opts.depth === undefined) throw new UsageError('--depth-kind says how to read --depth FILE; give --depth too');
        const depth = opts.depth === undefined ? undefined : await readDepth(opts.depth, opts.depthKind, image);
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
          const info = { width: image.width, height: image.height, ...(depth ? { depth: { sha256: depth.sha256, kind: depth.kind } } : {}) };
          const params = d.sample(level, rng, info);
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
        let out;
        try {
          out = await d.apply(image, record.params, depth ? { depth } : undefined);
        } catch (err) {
          // A replay whose params name a depth map that was not given (or another one).
          if (err instanceof RangeError && /depth map/.test(err.message)) throw new UserError(`${opts.params ?? input}: ${err.message}`);
          throw err;
        }
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
