import sharp from 'sharp';
import { imageFromRaw, rawInput } from '../core/io.js';
import type { Image } from '../core/image.js';
import { defineDegradation, levelAt, levelsOf } from './types.js';

/**
 * J: JPEG compression, a real encode/decode through libjpeg (sharp/libvips), as Real-ESRGAN's
 * `random_add_jpg_compression` (cv2.imencode, quality in [30, 95]) and ImageNet-C's JPEG
 * corruption (PIL, qualities 25, 18, 15, 10, 7) do. The lq image is the decoded pixels. Quality 5, below the
 * benchmarks' q10, is there because PSNR at equal quality depends on the content: the bundled photos code ~2 dB
 * better than LIVE1 / Classic5 at every quality, so only a harsher quality reaches their q10 PSNR.
 *
 * The encoder settings are pinned so the same pixels always give the same bytes: baseline
 * (not progressive), 4:2:0 chroma subsampling (libjpeg's default, what cv2 and PIL write),
 * the standard Annex K quantisation tables scaled by quality (IJG formula), and none of
 * mozjpeg's trellis quantisation, overshoot deringing or scan optimisation.
 */
export const JPEG_QUALITIES = [90, 80, 70, 60, 50, 40, 30, 20, 15, 10, 5] as const;

const LEVELS = levelsOf('quality', JPEG_QUALITIES, (quality) => ({ quality }));

export interface JpegParams {
  [key: string]: string | number;
  level: string;
  quality: number;
}

/** Encode at `quality` (integer 1..100) and decode again: what saving a JPEG does to pixels. */
export async function jpegRoundTrip(image: Image, quality: number): Promise<Image> {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(`quality must be an integer in 1..100, got ${quality}`);
  }
  const encoded = await rawInput(image)
    .jpeg({
      quality,
      progressive: false,
      chromaSubsampling: '4:2:0',
      optimiseCoding: false,
      mozjpeg: false,
      trellisQuantisation: false,
      overshootDeringing: false,
      optimiseScans: false,
      quantisationTable: 0,
    })
    .toBuffer();
  const { data, info } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== image.width || info.height !== image.height) {
    throw new Error(`JPEG decode gave ${info.width}x${info.height}x${info.channels}, expected ${image.width}x${image.height}x3`);
  }
  return imageFromRaw(data, info.width, info.height);
}

export const jpeg = defineDegradation<JpegParams>({
  version: 2,
  id: 'J',
  name: 'JPEG compression',
  description: 'Baseline JPEG encode and decode at a fixed quality step (4:2:0, standard tables); lq is the decoded pixels.',
  method:
    'Real JPEG codec (libjpeg via sharp/libvips), IJG quality scaling of the Annex K tables, 4:2:0, baseline, no trellis; ' +
    'quality steps spanning Real-ESRGAN random_add_jpg_compression [30, 95] and ImageNet-C JPEG (25..7), down to 5 ' +
    '(so the levels reach LIVE1 / Classic5 q10 by PSNR on smoother photos than theirs).',
  levels: LEVELS,
  sample(level) {
    const def = levelAt(LEVELS, level, 'J');
    return { level: def.id, quality: def.settings.quality as number };
  },
  async apply(image, params) {
    return jpegRoundTrip(image, params.quality);
  },
});
