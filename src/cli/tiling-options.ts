import type { Command } from 'commander';
import type { WeightsChoice } from '../train/checkpoint.js';
import { DEFAULT_OVERLAP, DEFAULT_TILE } from '../train/restore.js';
import { parseIntOption, UsageError } from './errors.js';

/** The flags of the commands that run a checkpoint's network on images (restore, eval). */
export interface TilingFlags {
  tile: string;
  overlap: string;
  weights: string;
}

export function addTilingOptions(cmd: Command, tileHelp: string): Command {
  return cmd
    .option('--tile <PX>', tileHelp, String(DEFAULT_TILE))
    .option('--overlap <PX>', 'overlap of neighbouring tiles in pixels', String(DEFAULT_OVERLAP))
    .option('--weights <W>', 'ema | live | auto (the EMA when the checkpoint has one)', 'auto');
}

export function tilingFromFlags(flags: TilingFlags): { tile: number; overlap: number; weights: WeightsChoice } {
  const weights = flags.weights;
  if (weights !== 'ema' && weights !== 'live' && weights !== 'auto') throw new UsageError(`--weights must be ema, live or auto, got "${weights}"`);
  return { tile: parseIntOption('--tile', flags.tile, 1, 8192), overlap: parseIntOption('--overlap', flags.overlap, 0, 4096), weights };
}
