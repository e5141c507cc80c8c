import { CHANNELS, createImage, type Image } from '../core/image.js';
import type { Rng } from '../core/random.js';
import { checkDepthRef, depthRefFor, estimateDepth, sceneDepth, transmission, type DepthRef } from './depth.js';
import { defineDegradation, levelAt, levelsOf, type ApplyContext, type ImageInfo } from './types.js';

/**
 * H: haze by the atmospheric scattering model (Koschmieder; McCartney 1976), as RESIDE
 * (Li et al. 2019) synthesizes its ITS/OTS sets: I = J t + A (1 - t), t = exp(-beta d).
 *
 * RESIDE takes d from measured or estimated depth: here a per-source depth map when one is given
 * (`--depth`), otherwise an edge-aware estimate from the image (depth.ts). Either is normalized to
 * [0.2, 1], so the ITS range of beta for normalized depth, [0.6, 1.8], applies; the levels extend it
 * down to 0.45 for a light mist.
 * The airlight A is drawn per sample in RESIDE's [0.7, 1.0] and recorded.
 */

/** Ten steps of the scattering coefficient for depth in [0.2, 1] (RESIDE ITS: beta in [0.6, 1.8]). */
export const HAZE_BETAS = [0.45, 0.6, 0.75, 0.9, 1.05, 1.2, 1.35, 1.5, 1.65, 1.8] as const;
export const AIRLIGHT_RANGE = [0.7, 1.0] as const;

export type HazeSettings = {
  /** Scattering coefficient for depth normalized to [0.2, 1]; in [0, 5]. */
  beta: number;
  /** Global atmospheric light (grey), in [0, 1]. */
  airlight: number;
};

export type HazeParams = HazeSettings & {
  level: string;
  /** The depth rendered with: the image's estimate, or the real depth map (its sha256) that went with it. */
  depth: DepthRef;
};

function validateSettings(settings: HazeSettings): void {
  const { beta, airlight } = settings;
  if (!Number.isFinite(beta) || beta < 0 || beta > 5) throw new RangeError(`haze beta must be in [0, 5], got ${beta}`);
  if (!Number.isFinite(airlight) || airlight < 0 || airlight > 1) {
    throw new RangeError(`haze airlight must be in [0, 1], got ${airlight}`);
  }
}

/**
 * I = J t + A (1 - t) with t = exp(-beta d), d the per-pixel depth in [0.2, 1] (depth.ts; by default the
 * image's estimate). Not clamped:
 * values stay in [0, 1] whenever the input does (a convex mix of J and A).
 */
export function applyHaze(image: Image, settings: HazeSettings, depth: Float32Array = estimateDepth(image).data): Image {
  validateSettings(settings);
  const { width, height, data } = image;
  if (depth.length !== width * height) throw new RangeError(`haze depth has ${depth.length} values, expected ${width * height}`);
  const { beta, airlight } = settings;
  const trans = transmission(depth, beta);
  const out = createImage(width, height);
  const o = out.data;
  for (let i = 0, p = 0; i < depth.length; i++, p += CHANNELS) {
    const t = trans[i];
    const veil = airlight * (1 - t);
    o[p] = data[p] * t + veil;
    o[p + 1] = data[p + 1] * t + veil;
    o[p + 2] = data[p + 2] * t + veil;
  }
  return out;
}

const LEVELS = levelsOf('beta', HAZE_BETAS, (beta) => ({ beta, airlight: [...AIRLIGHT_RANGE], depth: 'map or estimate' }));

/** Draw the airlight for a level (the only random choice; beta is fixed by the level); record the depth used. */
export function sampleHaze(level: number, rng: Rng, info: ImageInfo): HazeParams {
  const def = levelAt(LEVELS, level, 'H');
  const airlight = rng.range(AIRLIGHT_RANGE[0], AIRLIGHT_RANGE[1]);
  return { level: def.id, beta: HAZE_BETAS[level], airlight, depth: depthRefFor(info) };
}

export const haze = defineDegradation<HazeParams>({
  version: 2,
  id: 'H',
  name: 'haze',
  description: 'Atmospheric scattering I = J t + A (1 - t), t = exp(-beta d), over a real depth map or an edge-aware estimate',
  method:
    'RESIDE (Li et al., TIP 2019) ITS/OTS synthesis: scattering model, beta in [0.6, 1.8] for normalized depth, A in [0.7, 1.0]; ' +
    'depth from a given per-source map (MiDaS / Depth Anything, as RESIDE used measured depth) or estimated: ' +
    'dark channel (He et al., CVPR 2009) + vertical position, refined by the guided filter (He et al., TPAMI 2013)',
  levels: LEVELS,
  sample: (level: number, rng: Rng, info: ImageInfo) => sampleHaze(level, rng, info),
  apply: async (image: Image, params: HazeParams, context?: ApplyContext) =>
    applyHaze(image, params, sceneDepth(image, checkDepthRef(params.depth, 'H'), context, 'H')),
});
