import { CHANNELS, createImage, type Image } from '../core/image.js';
import type { Rng } from '../core/random.js';
import { defineDegradation, levelAt, levelsOf, type ImageInfo } from './types.js';

/**
 * H: haze by the atmospheric scattering model (Koschmieder; McCartney 1976), as RESIDE
 * (Li et al. 2019) synthesizes its ITS/OTS sets: I = J t + A (1 - t), t = exp(-beta d).
 *
 * RESIDE takes d from a depth network; none is available here, so d is a pseudo-depth built from
 * the image itself (see `pseudoDepthGrid`). It is normalized to [0.2, 1], so the ITS range of beta
 * for normalized depth, [0.6, 1.8], applies; the levels extend it down to 0.45 for a light mist.
 * The airlight A is drawn per sample in RESIDE's [0.7, 1.0] and recorded.
 */

/** Ten steps of the scattering coefficient for depth in [0.2, 1] (RESIDE ITS: beta in [0.6, 1.8]). */
export const HAZE_BETAS = [0.45, 0.6, 0.75, 0.9, 1.05, 1.2, 1.35, 1.5, 1.65, 1.8] as const;
export const AIRLIGHT_RANGE = [0.7, 1.0] as const;

/** Identifies the pseudo-depth recipe below; recorded so a change of recipe is visible in params. */
export const PSEUDO_DEPTH_MODEL = 'v1:0.6*top+0.4*dark/cells32';

/** Nearest depth: the bottom of a dark image is still 0.2 deep, so every pixel gets some haze. */
const DEPTH_NEAR = 0.2;
const WEIGHT_VERTICAL = 0.6;
const WEIGHT_DARK = 0.4;
/** Cells across the longer side: the depth field is that coarse, which keeps it smooth and cheap. */
const GRID_CELLS = 32;

export type HazeSettings = {
  /** Scattering coefficient for depth normalized to [0.2, 1]; in [0, 5]. */
  beta: number;
  /** Global atmospheric light (grey), in [0, 1]. */
  airlight: number;
};

export type HazeParams = HazeSettings & {
  level: string;
  depthModel: string;
};

/** A coarse depth field: one value per `cell` x `cell` block, row-major, `width` x `height` cells. */
export interface DepthGrid {
  width: number;
  height: number;
  cell: number;
  data: Float32Array;
}

/**
 * Pseudo-depth in [0.2, 1] (1 = far), from two cues that hold for most outdoor photos:
 * - position: the top of a frame is usually farther (sky, horizon) than the bottom (ground);
 * - the dark channel (He et al. 2009): the minimum over a patch of min(R, G, B) is near zero in
 *   nearby textured or colourful surfaces and high in sky and distant, already-veiled regions.
 * Computed per 1/32-of-the-long-side cell (the cell minimum is the dark channel with a cell-sized
 * patch), then smoothed with two 3x3 box passes so the field has no cell edges; `applyHaze`
 * interpolates it bilinearly back to full size.
 */
export function pseudoDepthGrid(image: Image): DepthGrid {
  const { width, height, data } = image;
  const cell = Math.max(1, Math.ceil(Math.max(width, height) / GRID_CELLS));
  const gw = Math.ceil(width / cell);
  const gh = Math.ceil(height / cell);
  const dark = new Float32Array(gw * gh).fill(1);
  for (let y = 0; y < height; y++) {
    const rowCell = ((y / cell) | 0) * gw;
    let p = y * width * CHANNELS;
    for (let x = 0; x < width; x++, p += 3) {
      let m = data[p];
      if (data[p + 1] < m) m = data[p + 1];
      if (data[p + 2] < m) m = data[p + 2];
      const c = rowCell + ((x / cell) | 0);
      if (m < dark[c]) dark[c] = m;
    }
  }
  const smooth = boxSmooth3(boxSmooth3(dark, gw, gh), gw, gh);
  const depth = new Float32Array(gw * gh);
  for (let gy = 0; gy < gh; gy++) {
    const top = gh === 1 ? 0.5 : 1 - gy / (gh - 1);
    for (let gx = 0; gx < gw; gx++) {
      const i = gy * gw + gx;
      const dc = smooth[i] < 0 ? 0 : smooth[i] > 1 ? 1 : smooth[i];
      depth[i] = DEPTH_NEAR + (1 - DEPTH_NEAR) * (WEIGHT_VERTICAL * top + WEIGHT_DARK * dc);
    }
  }
  return { width: gw, height: gh, cell, data: depth };
}

/** 3x3 mean with edge clamping on a small plane. */
function boxSmooth3(src: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      for (let yy = y - 1; yy <= y + 1; yy++) {
        if (yy < 0 || yy >= h) continue;
        for (let xx = x - 1; xx <= x + 1; xx++) {
          if (xx < 0 || xx >= w) continue;
          s += src[yy * w + xx];
          n++;
        }
      }
      out[y * w + x] = s / n;
    }
  }
  return out;
}

/** Linear interpolation weights from full-size coordinates to cell centres, edges clamped. */
function axisWeights(n: number, cells: number, cell: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const f = new Float32Array(n);
  for (let x = 0; x < n; x++) {
    let g = (x + 0.5) / cell - 0.5;
    if (g < 0) g = 0;
    if (g > cells - 1) g = cells - 1;
    const a = Math.floor(g);
    i0[x] = a;
    i1[x] = a + 1 < cells ? a + 1 : a;
    f[x] = g - a;
  }
  return { i0, i1, f };
}

function validateSettings(settings: HazeSettings): void {
  const { beta, airlight } = settings;
  if (!Number.isFinite(beta) || beta < 0 || beta > 5) throw new RangeError(`haze beta must be in [0, 5], got ${beta}`);
  if (!Number.isFinite(airlight) || airlight < 0 || airlight > 1) {
    throw new RangeError(`haze airlight must be in [0, 1], got ${airlight}`);
  }
}

/**
 * I = J t + A (1 - t) with t = exp(-beta d) and d the pseudo-depth. The transmission is computed
 * per cell and interpolated, so the cost is one pass over the pixels. Not clamped: values stay in
 * [0, 1] whenever the input does (a convex mix of J and A).
 */
export function applyHaze(image: Image, settings: HazeSettings, depth: DepthGrid = pseudoDepthGrid(image)): Image {
  validateSettings(settings);
  const { width, height, data } = image;
  const { beta, airlight } = settings;
  const gw = depth.width;
  const trans = new Float32Array(depth.data.length);
  for (let i = 0; i < trans.length; i++) trans[i] = Math.exp(-beta * depth.data[i]);
  const cx = axisWeights(width, gw, depth.cell);
  const cy = axisWeights(height, depth.height, depth.cell);
  const out = createImage(width, height);
  const o = out.data;
  for (let y = 0; y < height; y++) {
    const r0 = cy.i0[y] * gw;
    const r1 = cy.i1[y] * gw;
    const fy = cy.f[y];
    let p = y * width * CHANNELS;
    for (let x = 0; x < width; x++, p += 3) {
      const a = cx.i0[x];
      const b = cx.i1[x];
      const fx = cx.f[x];
      const top = trans[r0 + a] + (trans[r0 + b] - trans[r0 + a]) * fx;
      const bot = trans[r1 + a] + (trans[r1 + b] - trans[r1 + a]) * fx;
      const t = top + (bot - top) * fy;
      const veil = airlight * (1 - t);
      o[p] = data[p] * t + veil;
      o[p + 1] = data[p + 1] * t + veil;
      o[p + 2] = data[p + 2] * t + veil;
    }
  }
  return out;
}

const LEVELS = levelsOf('beta', HAZE_BETAS, (beta) => ({ beta, airlight: [...AIRLIGHT_RANGE], depth: PSEUDO_DEPTH_MODEL }));

/** Draw the airlight for a level (the only random choice; beta is fixed by the level). */
export function sampleHaze(level: number, rng: Rng, _info?: ImageInfo): HazeParams {
  const def = levelAt(LEVELS, level, 'H');
  const airlight = rng.range(AIRLIGHT_RANGE[0], AIRLIGHT_RANGE[1]);
  return { level: def.id, beta: HAZE_BETAS[level], airlight, depthModel: PSEUDO_DEPTH_MODEL };
}

function checkDepthModel(params: HazeParams): void {
  if (params.depthModel !== PSEUDO_DEPTH_MODEL) {
    throw new RangeError(`haze depthModel '${String(params.depthModel)}' is not supported; this build has '${PSEUDO_DEPTH_MODEL}'`);
  }
}

export const haze = defineDegradation<HazeParams>({
  version: 1,
  id: 'H',
  name: 'haze',
  description: 'Atmospheric scattering I = J t + A (1 - t), t = exp(-beta d), over an image-derived pseudo-depth',
  method:
    'RESIDE (Li et al., TIP 2019) ITS/OTS synthesis: scattering model, beta in [0.6, 1.8] for normalized depth, A in [0.7, 1.0]; ' +
    'depth replaced by a pseudo-depth (vertical position + smoothed dark channel, He et al. CVPR 2009) on a 32-cell grid',
  levels: LEVELS,
  sample: (level: number, rng: Rng, info: ImageInfo) => sampleHaze(level, rng, info),
  apply: async (image: Image, params: HazeParams) => {
    checkDepthModel(params);
    return applyHaze(image, params);
  },
});
