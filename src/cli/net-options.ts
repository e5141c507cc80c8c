import type { Command } from 'commander';
import type { NafnetConfig } from '../train/models/nafnet.js';
import { isNetPreset, NET_PRESET_NAMES, netPreset } from '../train/models/presets.js';
import { parseIntOption, UsageError } from './errors.js';

/**
 * The restoration-network flags shared by the training and weight commands: a preset by name, each of
 * whose fields an explicit flag may override.
 */
export interface NetFlags {
  net: string;
  width?: string;
  encBlocks?: string;
  middleBlocks?: string;
  decBlocks?: string;
}

/** Option names (commander's camelCase) that shape the network. */
export const NET_FLAG_KEYS = ['net', 'width', 'encBlocks', 'middleBlocks', 'decBlocks'] as const;

export function addNetOptions(cmd: Command, defaultNet: string): Command {
  return cmd
    .option('--net <NAME>', `restoration network: ${NET_PRESET_NAMES.join(' | ')} (the flags below override its fields)`, defaultNet)
    .option('--width <C>', 'channels after the intro conv (doubled at each downsampling)')
    .option('--enc-blocks <LIST>', 'NAF blocks per encoder stage, comma-separated (e.g. 1,1,1,28)')
    .option('--middle-blocks <N>', 'NAF blocks in the middle')
    .option('--dec-blocks <LIST>', 'NAF blocks per decoder stage, deepest first (e.g. 1,1,1,1)');
}

function parseBlockList(flag: string, value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const blocks = parts.map((p) => Number(p));
  if (parts.length < 1 || parts.length > 6 || parts.some((p) => p === '') || blocks.some((b) => !Number.isInteger(b) || b < 0 || b > 64)) {
    throw new UsageError(`${flag} must list 1..6 integers 0..64, comma-separated, got "${value}"`);
  }
  return blocks;
}

/** The network the flags ask for; a decoder list of another length than the encoder's is a usage error. */
export function netFromFlags(flags: NetFlags): NafnetConfig {
  if (!isNetPreset(flags.net)) throw new UsageError(`--net must be one of ${NET_PRESET_NAMES.join(', ')}, got "${flags.net}"`);
  const net = netPreset(flags.net);
  if (flags.width !== undefined) net.width = parseIntOption('--width', flags.width, 1, 1024);
  if (flags.encBlocks !== undefined) net.encBlocks = parseBlockList('--enc-blocks', flags.encBlocks);
  if (flags.middleBlocks !== undefined) net.middleBlocks = parseIntOption('--middle-blocks', flags.middleBlocks, 0, 64);
  if (flags.decBlocks !== undefined) net.decBlocks = parseBlockList('--dec-blocks', flags.decBlocks);
  if (net.decBlocks.length !== net.encBlocks.length) {
    throw new UsageError(
      `--dec-blocks needs one entry per encoder stage (${net.encBlocks.length}), got ${net.decBlocks.length} (${net.decBlocks.join(',')}); give --dec-blocks with --enc-blocks`,
    );
  }
  return net;
}
