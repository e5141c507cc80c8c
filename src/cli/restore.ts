import { readdirSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { decodeImage, encodePng, ImageInputError } from '../core/io.js';
import { BACKEND_NAMES, isBackendName } from '../train/backend.js';
import { CheckpointError, loadRestorationNet } from '../train/checkpoint.js';
import { describeNafnet, nafnetFactor } from '../train/models/nafnet.js';
import { restoreImage, validateTileOptions } from '../train/restore.js';
import { action, UsageError, UserError } from './errors.js';
import { startBackend, webgpuBackendOption } from './start-backend.js';
import { addTilingOptions, tilingFromFlags, type TilingFlags } from './tiling-options.js';

interface RestoreFlags extends TilingFlags {
  model?: string;
  out?: string;
  backend: string;
  webgpuBackend?: string;
  json?: boolean;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.bmp', '.avif', '.gif', '.heic']);

/** Files named on the command line, and the image files directly inside named directories (sorted). */
function listInputs(inputs: string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      throw new UserError(`${input}: no such file or directory`);
    }
    if (!isDir) files.push(input);
    else {
      const found = readdirSync(input)
        .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
        .sort()
        .map((f) => join(input, f));
      if (!found.length) throw new UserError(`${input}: no images in this directory`);
      files.push(...found);
    }
  }
  return files;
}

/** `uirgen restore --model CKPT IN... -o OUTDIR`: run the restoration network on images. */
export function register(program: Command): void {
  const cmd = program
    .command('restore')
    .description('restore images with a checkpoint\'s network (tiled, any size) and write 8-bit PNGs')
    .argument('<in...>', 'images, or directories of images')
    .option('--model <CKPT>', 'checkpoint directory (pretrain --out or import-weights -o)')
    .option('-o, --out <DIR>', 'output directory: one <name>.png per input');
  addTilingOptions(cmd, 'tile side in pixels (a multiple of the network\'s downsampling)')
    .option('--backend <B>', `TensorFlow.js backend: ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .addOption(webgpuBackendOption())
    .option('--json', 'print one JSON line per image')
    .addHelpText(
      'after',
      '\nImages are cut into overlapping tiles and blended back (memory depends on --tile, not the image);\n' +
        'borders are reflect-padded. Outputs are clamped to [0, 1] and written as 8-bit RGB PNG.',
    )
    .action(
      action(async (inputs: string[], flags: RestoreFlags) => {
        if (!flags.model) throw new UsageError('--model is required (a checkpoint directory)');
        if (!flags.out) throw new UsageError('-o/--out is required (the output directory)');
        if (!isBackendName(flags.backend)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${flags.backend}"`);
        const { tile, overlap, weights } = tilingFromFlags(flags);
        const files = listInputs(inputs);
        const outDir = resolve(flags.out);
        const names = new Map<string, string>();
        for (const f of files) {
          const name = `${basename(f, extname(f))}.png`;
          const other = names.get(name);
          if (other) throw new UserError(`${f} and ${other} would both be written as ${join(outDir, name)}; restore them into separate directories`);
          names.set(name, f);
        }
        const backend = (await startBackend(flags.backend, flags.webgpuBackend)).name;
        let loaded: Awaited<ReturnType<typeof loadRestorationNet>>;
        try {
          loaded = await loadRestorationNet(resolve(flags.model), weights);
        } catch (err) {
          if (err instanceof CheckpointError) throw new UserError(err.message);
          throw err;
        }
        const { net, which } = loaded;
        try {
          try {
            validateTileOptions(tile, overlap, nafnetFactor(net.config));
          } catch (err) {
            throw new UsageError(`--tile/--overlap: ${(err as Error).message}`);
          }
          if (!flags.json) process.stderr.write(`restore: NAFNet ${describeNafnet(net.config)}, ${which} weights, ${backend} backend\n`);
          await mkdir(outDir, { recursive: true });
          const failed: string[] = [];
          for (const [i, [name, file]] of [...names].entries()) {
            const t0 = performance.now();
            try {
              const image = await decodeImage(file);
              let tiles = 0;
              const restored = await restoreImage(net, image, { tile, overlap, onTile: (_d, total) => (tiles = total) });
              const target = join(outDir, name);
              await writeFile(`${target}.partial`, await encodePng(restored));
              await rename(`${target}.partial`, target);
              const seconds = (performance.now() - t0) / 1000;
              const line = flags.json
                ? JSON.stringify({ input: file, output: target, width: image.width, height: image.height, tiles, seconds: Math.round(seconds * 1000) / 1000 })
                : `restore ${i + 1}/${names.size} ${file} -> ${target} (${image.width}x${image.height}, ${tiles} tile${tiles === 1 ? '' : 's'}, ${seconds.toFixed(1)} s)`;
              (flags.json ? process.stdout : process.stderr).write(`${line}\n`);
            } catch (err) {
              if (!(err instanceof ImageInputError)) throw err;
              failed.push(file);
              process.stderr.write(`uirgen: ${err.message}\n`);
            }
          }
          if (failed.length) throw new UserError(`${failed.length} of ${names.size} images could not be read: ${failed.join(', ')}`);
        } finally {
          net.dispose();
        }
      }),
    );
}
