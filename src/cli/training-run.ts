import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { CheckpointError, readCheckpointInfo, type CheckpointInfo, type Json } from '../train/checkpoint.js';
import { openTrainingStream, type DataPosition, type Split } from '../train/data.js';
import type { BatchSource } from '../train/pretrain.js';
import { BACKEND_NAMES, isBackendName, type BackendName } from '../train/backend.js';
import { parseIntOption, UsageError, UserError } from './errors.js';

/**
 * What the training commands (pretrain, finetune) share: how the dataset stream is described in a run's
 * settings and opened again from them, the check that --data is a dataset, and Ctrl-C as "stop after this
 * step and checkpoint".
 */

/** How the data stream is opened; stored in the checkpoint's run settings. */
export interface DataSettings {
  dataset: string;
  types: string[] | null;
  levels: string[] | null;
  split: Split | null;
  real: boolean | null;
}

export function parseList(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : null;
}

export function dataSettingsFromFlags(flags: { data?: string; types?: string; levels?: string; split?: string; real?: boolean }): DataSettings {
  if (!flags.data) throw new UsageError('--data is required (a dataset directory made by uirgen synthesize)');
  const split = flags.split;
  if (split !== undefined && split !== 'train' && split !== 'val' && split !== 'test') {
    throw new UsageError(`--split must be train, val or test, got "${split}"`);
  }
  return { dataset: resolve(flags.data), types: parseList(flags.types), levels: parseList(flags.levels), split: split ?? null, real: flags.real ?? null };
}

/** A wrong --data is the likeliest mistake: say so before a backend is probed and loaded. */
export function checkDataset(dir: string): void {
  if (!existsSync(join(dir, 'manifest.sqlite'))) {
    throw new UserError(`${dir}: no manifest.sqlite there; is this a uirgen dataset directory? (make one with \`uirgen synthesize\`)`);
  }
}

/** Open the shard stream a run's settings describe; `dataset` overrides the recorded path (a moved dataset). */
export function openDataStream(
  s: { data: Json; batch: number; patch: number; seed: string },
  position: unknown,
  dataset: string | undefined,
  workers: number | undefined,
): Promise<BatchSource> {
  const d = s.data as unknown as DataSettings;
  return openTrainingStream({
    dataset: dataset ?? d.dataset,
    batch: s.batch,
    patch: s.patch,
    seed: s.seed,
    ...(d.types ? { types: d.types } : {}),
    ...(d.levels ? { levels: d.levels } : {}),
    ...(d.split ? { split: d.split } : {}),
    ...(d.real !== null && d.real !== undefined ? { real: d.real } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(position ? { position: position as unknown as DataPosition } : {}),
  });
}

/** Run `fn` with Ctrl-C wired to its abort signal (a second Ctrl-C quits at once). */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nuirgen: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await fn(abort.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The --resume rule: the run's own settings are used, so flags that would change them are refused. */
export function refuseChangedFlags(changed: readonly string[]): void {
  if (changed.length) {
    throw new UsageError(`--resume continues the run with its own settings; leave out ${changed.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  }
}

/** The dataset filters and the run's bookkeeping flags, the same for every training command. */
export function addDataAndRunOptions(cmd: Command): Command {
  return cmd
    .option('--types <IDS>', 'only these degradation types (comma-separated)')
    .option('--levels <IDS>', 'only these levels (comma-separated level ids or indices)')
    .option('--split <S>', 'train | val | test')
    .option('--real', 'only real (captured) pairs')
    .option('--workers <N>', 'loader threads')
    .option('--checkpoint-every <N>', 'steps between checkpoints (one is always written at the end)', '500')
    .option('--log-every <N>', 'steps between log.jsonl lines', '1')
    .option('--json', 'print a JSON summary at the end');
}

export interface RunFlags {
  checkpointEvery: string;
  logEvery: string;
  workers?: string;
}

export function runOptionsFromFlags(flags: RunFlags): { checkpointEvery: number; logEvery: number; workers: number | undefined } {
  return {
    checkpointEvery: parseIntOption('--checkpoint-every', flags.checkpointEvery, 1),
    logEvery: parseIntOption('--log-every', flags.logEvery, 1),
    workers: flags.workers === undefined ? undefined : parseIntOption('--workers', flags.workers, 1, 64),
  };
}

/**
 * The settings of the run to --resume in `out`: refuses flags that would change them and a checkpoint of
 * another kind (`what` names the kind expected, for the message).
 */
export async function runToResume<T>(out: string, kind: CheckpointInfo['kind'], what: string, changedFlags: readonly string[]): Promise<T> {
  refuseChangedFlags(changedFlags);
  let info: CheckpointInfo;
  try {
    info = await readCheckpointInfo(out);
  } catch (err) {
    if (err instanceof CheckpointError) throw new UserError(err.message);
    throw err;
  }
  if (info.kind !== kind) throw new UserError(`${out} holds a ${info.kind} checkpoint, not ${what} to --resume`);
  return (info as Extract<CheckpointInfo, { run: Json }>).run as unknown as T;
}

export interface PreparedRun<S> {
  backend: BackendName;
  out: string;
  settings: S;
  /** --data given with --resume: the recorded dataset moved there (the filters stay). */
  dataset: string | undefined;
  checkpointEvery: number;
  logEvery: number;
  workers: number | undefined;
}

/**
 * What pretrain and finetune do before training: check --backend and the run options, take the settings
 * from the flags (`fromFlags`) or, with --resume, from the checkpoint in --out (refusing flags that would
 * change them), and check that the dataset they read is one.
 */
export async function prepareRun<S extends { data: unknown }>(
  flags: RunFlags & { backend: string; out: string; resume?: boolean; data?: string },
  command: Command,
  resume: { kind: CheckpointInfo['kind']; what: string; runFlags: readonly string[] },
  fromFlags: () => S,
): Promise<PreparedRun<S>> {
  if (!isBackendName(flags.backend)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${flags.backend}"`);
  const { checkpointEvery, logEvery, workers } = runOptionsFromFlags(flags);
  const out = resolve(flags.out);
  let settings: S;
  let dataset: string | undefined;
  if (flags.resume) {
    settings = await runToResume<S>(out, resume.kind, resume.what, resume.runFlags.filter((k) => command.getOptionValueSource(k) === 'cli'));
    dataset = flags.data ? resolve(flags.data) : undefined;
  } else {
    settings = fromFlags();
  }
  checkDataset(dataset ?? (settings.data as DataSettings).dataset);
  return { backend: flags.backend, out, settings, dataset, checkpointEvery, logEvery, workers };
}
