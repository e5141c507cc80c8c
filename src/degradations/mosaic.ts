import { clampInPlace, type Image } from '../core/image.js';
import { createRng } from '../core/random.js';
import { resize } from '../core/resize.js';
import { BAYER_PATTERNS, demosaic, mosaic as cfaSample, type BayerPattern, type DemosaicMethod } from './kernels/bayer.js';
import { defineDegradation, levelAt, levelsOf, type LevelDef } from './types.js';

/**
 * MS: Bayer colour-filter-array sampling, then demosaicing; the demosaic's artifacts (zipper
 * edges, false colour, maze patterns) are the degradation, and nothing else: the image keeps its
 * resolution at every level.
 *
 * Variants:
 * - `malvar`, `bilinear`, `nearest`: the demosaic method (Malvar-He-Cutler 2004; bilinear;
 *   pixel replication); the level value is the sensor's pixel pitch in output pixels, the scale
 *   of the artifacts. Pitch 1 is plain CFA sampling at full resolution: lq = demosaic(CFA(x)).
 *   Pitch s > 1 is the demosaic error of a sensor s times coarser (digital zoom), laid on the
 *   full-resolution image: with a = area-average of x to 1/s (pixel integration),
 *   lq = x + bicubicUp(demosaic(CFA(a)) - a). The same artifacts come out s times larger while the
 *   detail of x stays (an earlier version returned bicubicUp(demosaic(CFA(a))), whose loss was
 *   mostly the resolution of the trip down and up: a blur, not a mosaic artifact).
 * - `noise`: Malvar demosaicing of a CFA plane carrying Gaussian sensor noise before
 *   demosaicing, as in joint demosaicking-denoising data (Gharbi et al. 2016, "Deep joint
 *   demosaicking and denoising", sigma in [0, 20]/255); the level value is sigma in 8-bit units.
 * The CFA phase (RGGB/BGGR/GRBG/GBRG) is drawn at random for every sample.
 */
const PITCHES = [1, 1.5, 2, 3] as const;
const NOISE_SIGMAS = [2, 5, 10, 20] as const;

const LEVELS: LevelDef[] = [
  ...(['malvar', 'bilinear', 'nearest'] as const).flatMap((method) =>
    levelsOf(method, PITCHES, (pitch) => ({ method, pitch, sigma: 0 })),
  ),
  ...levelsOf('noise', NOISE_SIGMAS, (sigma) => ({ method: 'malvar', pitch: 1, sigma })),
];

export interface MosaicParams {
  [key: string]: string | number;
  level: string;
  method: DemosaicMethod;
  /** Sensor pixel pitch in output pixels (1 = full resolution). */
  pitch: number;
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
  description: 'Bayer CFA sampling then demosaicing (Malvar, bilinear, pixel replication): the demosaic artifacts of a full-resolution or coarser sensor on the full-resolution image, or with pre-demosaic sensor noise.',
  method:
    'Bayer CFA (random phase) + demosaic: Malvar, He & Cutler 2004 gradient-corrected linear, bilinear, or nearest (pixel replication); ' +
    'variants malvar|bilinear|nearest:<pitch>: the demosaic error of a CFA at 1/pitch resolution (area), upsampled bicubic (torch) and added to the full-resolution image (artifacts only, no resolution loss); ' +
    'noise:<sigma> adds N(0, sigma/255) to the CFA before Malvar demosaicing (Gharbi et al. 2016 joint demosaick-denoise).',
  levels: LEVELS,
  sample(level, rng) {
    const def = levelAt(LEVELS, level, 'MS');
    const s = def.settings;
    const sigma = s.sigma as number;
    return {
      level: def.id,
      method: s.method as DemosaicMethod,
      pitch: s.pitch as number,
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
  const { pitch, sigma } = params;
  if (!(pitch >= 1 && pitch <= 8)) throw new RangeError(`pitch must be in [1, 8], got ${pitch}`);
  if (!(sigma >= 0 && sigma <= 255)) throw new RangeError(`sigma must be in [0, 255], got ${sigma}`);
  const sw = Math.max(2, Math.round(width / pitch));
  const sh = Math.max(2, Math.round(height / pitch));
  const sensor = sw === width && sh === height ? image : resize(image, sw, sh, 'area');
  const plane = cfaSample(sensor, params.pattern);
  if (sigma > 0) {
    const rng = createRng(params.seed);
    const sd = sigma / 255;
    for (let i = 0; i < plane.length; i++) {
      const v = plane[i] + rng.normal() * sd;
      // A sensor clips at black and at full well.
      plane[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  const demosaicked = demosaic(plane, sw, sh, params.pattern, params.method);
  if (sensor === image) return clampInPlace(demosaicked);
  // The coarse sensor's demosaic error, at full resolution, on top of the full-resolution image.
  const error = demosaicked.data;
  const s = sensor.data;
  for (let i = 0; i < error.length; i++) error[i] -= s[i];
  const up = resize(demosaicked, width, height, 'bicubic').data;
  const x = image.data;
  for (let i = 0; i < up.length; i++) up[i] += x[i];
  return clampInPlace({ width, height, data: up });
}
