import { loadRestorationNet, type WeightsChoice } from './checkpoint.js';
import { nafnetFactor } from './models/nafnet.js';
import { DEFAULT_OVERLAP, DEFAULT_TILE, restoreImage, validateTileOptions, type TileOptions } from './restore.js';
import type { Restorer } from './restorer.js';

/**
 * The Restorer of a uirgen checkpoint (pretrain / finetune --out, or import-weights -o): its restoration
 * network (EMA weights when it has them, as BasicSR evaluates and releases models) run by the tiled
 * `restoreImage` of `uirgen restore`, so evaluation restores exactly what `restore` writes. Needs a started
 * TensorFlow.js backend. Throws CheckpointError for a missing or unusable checkpoint, RangeError for tile
 * options that do not fit the network.
 */
export interface CheckpointRestorerOptions extends Pick<TileOptions, 'tile' | 'overlap'> {
  weights?: WeightsChoice;
}

export async function loadCheckpointRestorer(dir: string, options: CheckpointRestorerOptions = {}): Promise<Restorer> {
  const { net, which, info } = await loadRestorationNet(dir, options.weights ?? 'auto');
  const tiles: TileOptions = {
    ...(options.tile !== undefined ? { tile: options.tile } : {}),
    ...(options.overlap !== undefined ? { overlap: options.overlap } : {}),
  };
  try {
    validateTileOptions(tiles.tile ?? DEFAULT_TILE, tiles.overlap ?? DEFAULT_OVERLAP, nafnetFactor(net.config));
  } catch (err) {
    net.dispose();
    throw err;
  }
  const step = info.kind === 'weights' ? '' : `, step ${info.step}`;
  return {
    description: `${dir} (${which} weights${step})`,
    restore: (image) => restoreImage(net, image, tiles),
    dispose() {
      net.dispose();
    },
  };
}
