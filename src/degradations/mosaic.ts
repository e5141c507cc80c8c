import { clampInPlace, type Image } from '../core/image.js';
import { createRng } from '../core/random.js';
import { BAYER_PATTERNS, demosaic, mosaic as cfaSample, type BayerPattern, type DemosaicMethod } from './kernels/bayer.js';
import { defineDegradation, levelAt, levelsOf, type LevelDef } from './types.js';

/**
 * MS: Bayer colour-filter-array sampling, then demosaicing at the sensor's own resolution; the
 * demosaic's artifacts (zipper edges, false colour, maze patterns) are the degradation and nothing
 * else: no resize anywhere, so no resolution is lost beyond what the demosaic itself loses.
 *
 * Variants:
 * - `demosaic`: the demosaic method, ordered by the artifacts it leaves: Malvar-He-Cutler 2004
 *   (gradient-corrected linear), bilinear, nearest (pixel replication within the CFA cell).
 *   (Version 1 also had coarser "sensor pitch" levels, area-down, CFA, demosaic, bicubic-up: their
 *   loss was mostly the resolution of the trip down and up, a blur rather than a mosaic artifact.)
 * - `noise`: Malvar demosaicing of a CFA plane carrying Gaussian sensor noise before
 *   demosaicing, as in joint demosaicking-denoising data (Gharbi et al. 2016, "Deep joint
 *   demosaicking and denoising", sigma in [0, 20]/255); the level value is sigma in 8-bit units.
 * The CFA phase (RGGB/BGGR/GRBG/GBRG) is drawn at random for every sample.
 */
const METHODS = ['malvar', 'bilinear', 'nearest'] as const satisfies readonly DemosaicMethod[];
const NOISE_SIGMAS = [2, 5, 10, 15, 20] as const;

const LEVELS: LevelDef[] = [
  ...levelsOf('demosaic', METHODS, (method) => ({ method, sigma: 0 })),
  ...levelsOf('noise', NOISE_SIGMAS, (sigma) => ({ method: 'malvar', sigma })),
];

export interface MosaicParams {
  [key: string]: string | number;
  level: string;
  method: DemosaicMethod;
  pattern: BayerPattern;
  /** Std of Gaussian noise added to the CFA plane, in 8-bit units (0 = none). */
  sigma: number;
  /** Seed of the sensor noise (empty when sigma is 0). */
  seed: string;
}

export const mosaic = defineDegradation<MosaicParams>({
  version: 2,
  id: 'MS',
  name: 'mosaic',
  description: 'Bayer CFA sampling then demosaicing at full resolution (Malvar, bilinear, pixel replication), or Malvar demosaicing of a CFA carrying sensor noise: demosaic artifacts only.',
  method:
    'Bayer CFA (random phase) + demosaic at the sensor resolution, no resize: Malvar, He & Cutler 2004 gradient-corrected linear, bilinear, or nearest (pixel replication); ' +
    'noise:<sigma> adds N(0, sigma/255) to the CFA before Malvar demosaicing (Gharbi et al. 2016 joint demosaick-denoise, sigma up to 20).',
  levels: LEVELS,
  sample(level, rng) {
    const def = levelAt(LEVELS, level, 'MS');
    const s = def.settings;
    const sigma = s.sigma as number;
    return {
      level: def.id,
      method: s.method as DemosaicMethod,
      pattern: rng.pick(BAYER_PATTERNS),
      sigma,
      seed: sigma > 0 ? rng.childSeed() : '',
    };
  },
  async apply(image, params) {
    return mosaicDemosaic(image, params);
  },
});

/** The MS pipeline on its own, for composites: params as `mosaic.sample` returns them. */
export function mosaicDemosaic(image: Image, params: MosaicParams): Image {
  const { width, height } = image;
  const { sigma } = params;
  if (!(sigma >= 0 && sigma <= 255)) throw new RangeError(`sigma must be in [0, 255], got ${sigma}`);
  if (width < 2 || height < 2) throw new RangeError(`MS needs an image of at least 2x2 (one CFA cell), got ${width}x${height}`);
  const plane = cfaSample(image, params.pattern);
  if (sigma > 0) {
    const rng = createRng(params.seed);
    const sd = sigma / 255;
    for (let i = 0; i < plane.length; i++) {
      const v = plane[i] + rng.normal() * sd;
      // A sensor clips at black and at full well.
      plane[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return clampInPlace(demosaic(plane, width, height, params.pattern, params.method));
}
