import type { Command } from 'commander';
import { decodeImage } from '../core/io.js';
import { measure } from '../core/metrics.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';

interface MetricsFlags {
  json?: boolean;
  cropBorder: string;
  y?: boolean;
}

/** SSIM's window: the images must keep at least this many pixels per side after --crop-border. */
const MIN_SIDE = 11;

/** `uirgen metrics A B`: PSNR / SSIM of two images, as restoration papers report them. */
export function register(program: Command): void {
  program
    .command('metrics')
    .description('PSNR / SSIM of two images (BasicSR conventions)')
    .argument('<a>', 'first image (usually the ground truth)')
    .argument('<b>', 'second image, same size')
    .option('--json', 'print {"psnr":...,"ssim":...} (psnr is null for identical images)')
    .option('--crop-border <n>', 'pixels dropped from every edge before measuring', '0')
    .option('--y', 'measure the Y channel of YCbCr instead of RGB')
    .addHelpText(
      'after',
      '\nBoth images are quantized to 8-bit RGB; PSNR uses data range 255 and SSIM an 11x11 Gaussian\n' +
        'window (sigma 1.5) over the valid region, averaged over channels, as BasicSR\n' +
        'calculate_psnr / calculate_ssim. Identical images give PSNR inf.',
    )
    .action(
      action(async (a: string, b: string, flags: MetricsFlags) => {
        const cropBorder = parseIntOption('--crop-border', flags.cropBorder, 0);
        const first = await decodeImage(a);
        const second = await decodeImage(b);
        if (first.width !== second.width || first.height !== second.height) {
          throw new UserError(
            `${a} is ${first.width}x${first.height} but ${b} is ${second.width}x${second.height}; ` +
              'PSNR/SSIM compare images of the same size',
          );
        }
        const side = Math.min(first.width, first.height);
        if (side < MIN_SIDE) {
          throw new UserError(`${a}: images are ${first.width}x${first.height}; SSIM needs at least 11x11 pixels`);
        }
        if (side - 2 * cropBorder < MIN_SIDE) {
          throw new UsageError(
            `--crop-border must be at most ${Math.floor((side - MIN_SIDE) / 2)} for ${first.width}x${first.height} ` +
              `images (SSIM needs 11x11 pixels left), got ${cropBorder}`,
          );
        }
        const m = measure(first, second, { crop_border: cropBorder, test_y_channel: flags.y === true });
        const line = flags.json
          ? JSON.stringify({ psnr: Number.isFinite(m.psnr) ? m.psnr : null, ssim: m.ssim })
          : `PSNR ${Number.isFinite(m.psnr) ? m.psnr.toFixed(2) : 'inf'} dB  SSIM ${m.ssim.toFixed(4)}`;
        process.stdout.write(`${line}\n`);
      }),
    );
}
