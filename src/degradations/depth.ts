import { isDepthKind, type DepthKind } from '../core/depthmap.js';
import { boxMean, guidedUpsample, minFilter, type Plane } from '../core/filters.js';
import { CHANNELS, type Image } from '../core/image.js';
import type { ApplyContext, ImageInfo } from './types.js';

/**
 * Scene depth for the types that need it (H, DB's depth variant, S's veil, RS's rain accumulation, and the
 * composites made of them): a real per-source depth map when one is given (its digest recorded in the
 * params), otherwise an edge-aware estimate from the image itself. Depth is normalized to [0.2, 1]
 * (1 = far; the nearest surface still has some air before it), the range RESIDE's normalized-depth betas
 * apply to.
 */

export const DEPTH_NEAR = 0.2;

/** What params record about the depth they were rendered with. */
export type DepthRef = 'estimate' | { sha256: string; kind: DepthKind };

/** The depth a sample records: the map that goes with the image, or the estimate. */
export function depthRefFor(info: ImageInfo): DepthRef {
  return info.depth ? { sha256: info.depth.sha256, kind: info.depth.kind } : 'estimate';
}

export function checkDepthRef(value: unknown, typeId: string): DepthRef {
  if (value === 'estimate') return value;
  const v = value as { sha256?: unknown; kind?: unknown } | null;
  if (v && typeof v === 'object' && typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256) && isDepthKind(v.kind)) {
    return { sha256: v.sha256, kind: v.kind };
  }
  throw new RangeError(`${typeId} params.depth must be "estimate" or {"sha256": <64 hex>, "kind": "inverse"|"depth"}, got ${JSON.stringify(value)}`);
}

/** Weights of the two cues of the estimate's prior (see estimateDepth). */
const WEIGHT_VERTICAL = 0.5;
const WEIGHT_DARK = 0.5;
/** The estimate works on blocks of about 1/64 of the long side, then refines at full resolution. */
const LOW_RES = 64;
/** Guided-filter window radius as a fraction of the low-resolution long side (He et al. use r = 60 at 600 px). */
const GUIDE_RADIUS = 1 / 8;
/** Guide edges weaker than this variance are smoothed over: object outlines count, texture does not. */
const GUIDE_EPS = 1e-2;

/**
 * Pseudo-depth in [0.2, 1] from two cues that hold for most outdoor photos, refined to follow the scene's
 * edges:
 * - the dark channel (He et al., CVPR 2009): the minimum of min(R, G, B) over a patch is near zero on nearby
 *   textured or colourful surfaces and high on sky and distant, already-veiled regions;
 * - position: the top of a frame is usually farther (sky, horizon) than the bottom (ground).
 * The prior is computed on blocks (the block minimum is the dark channel's patch; one more 3x3-block minimum
 * gives a patch of about 1/20 of the frame, He et al.'s 15 px at 300 px), then refined by the guided filter
 * with the image's luminance as guide (He et al., TPAMI 2013, which replaced soft matting with it), in its
 * fast subsampled form: the depth steps where objects end, instead of following the blocks.
 */
export function estimateDepth(image: Image): Plane {
  const { width: w, height: h, data } = image;
  const s = Math.max(1, Math.round(Math.max(w, h) / LOW_RES));
  const lw = Math.ceil(w / s);
  const lh = Math.ceil(h / s);
  const dark = new Float32Array(lw * lh).fill(1);
  const grey = new Float32Array(lw * lh);
  const lum = new Float32Array(w * h);
  const column = new Int32Array(w);
  for (let x = 0; x < w; x++) column[x] = (x / s) | 0;
  // One pass: the luma plane (the guide), and per block the minimum of min(R, G, B) and the summed luma.
  for (let y = 0, p = 0, q = 0; y < h; y++) {
    const row = ((y / s) | 0) * lw;
    for (let x = 0; x < w; x++, p += CHANNELS, q++) {
      const r = data[p];
      const g = data[p + 1];
      const b = data[p + 2];
      let m = r < g ? r : g;
      if (b < m) m = b;
      const c = row + column[x];
      if (m < dark[c]) dark[c] = m;
      const l = 0.299 * r + 0.587 * g + 0.114 * b;
      lum[q] = l;
      grey[c] += l;
    }
  }
  for (let by = 0; by < lh; by++) {
    const bh = Math.min(s, h - by * s);
    for (let bx = 0; bx < lw; bx++) grey[by * lw + bx] /= bh * Math.min(s, w - bx * s);
  }
  const patch = minFilter({ width: lw, height: lh, data: dark }, 1).data;
  const prior = new Float32Array(lw * lh);
  for (let y = 0; y < lh; y++) {
    const top = lh === 1 ? 0.5 : 1 - y / (lh - 1);
    for (let x = 0; x < lw; x++) {
      const i = y * lw + x;
      const d = patch[i] < 0 ? 0 : patch[i] > 1 ? 1 : patch[i];
      prior[i] = WEIGHT_VERTICAL * top + WEIGHT_DARK * d;
    }
  }
  const r = Math.max(1, Math.round(Math.max(lw, lh) * GUIDE_RADIUS));
  const lowGuide = { width: lw, height: lh, data: grey };
  // A light pre-smoothing of the prior: the block grid must not print through where the guide is flat.
  const smooth = boxMean({ width: lw, height: lh, data: prior }, 1);
  const refined = guidedUpsample({ width: w, height: h, data: lum }, lowGuide, smooth, r, GUIDE_EPS).data;
  for (let i = 0; i < refined.length; i++) {
    const v = refined[i] < 0 ? 0 : refined[i] > 1 ? 1 : refined[i];
    refined[i] = DEPTH_NEAR + (1 - DEPTH_NEAR) * v;
  }
  return { width: w, height: h, data: refined };
}

/**
 * The depth an operator renders with, per pixel of `image`, in [0.2, 1]: the estimate (from the composite's
 * clean scene when there is one) or the recorded map, which the context must carry.
 */
export function sceneDepth(image: Image, ref: DepthRef, context: ApplyContext | undefined, typeId: string): Float32Array {
  if (ref === 'estimate') {
    const scene = context?.scene && context.scene.width === image.width && context.scene.height === image.height ? context.scene : image;
    return estimateDepth(scene).data;
  }
  const map = context?.depth;
  if (!map || map.sha256 !== ref.sha256 || map.kind !== ref.kind) {
    const given = map ? `the depth map given is ${map.sha256.slice(0, 12)}... (${map.kind})` : 'no depth map was given';
    throw new RangeError(
      `${typeId} params were rendered with the depth map sha256 ${ref.sha256.slice(0, 12)}... (${ref.kind}), but ${given}; pass that map (--depth)`,
    );
  }
  if (map.width !== image.width || map.height !== image.height) {
    throw new RangeError(`${typeId}: the depth map crop is ${map.width}x${map.height}, the image ${image.width}x${image.height}`);
  }
  const out = new Float32Array(map.data.length);
  for (let i = 0; i < out.length; i++) out[i] = DEPTH_NEAR + (1 - DEPTH_NEAR) * map.data[i];
  return out;
}

/** Entries of the transmission table: linear interpolation in it is within 2e-6 of exp for beta <= 3. */
const TRANSMISSION_STEPS = 1024;

/**
 * t = exp(-beta d) per pixel of a depth plane (d clipped to [0, 1]), by interpolation in a table of exp
 * instead of one exp per pixel.
 */
export function transmission(depth: Float32Array, beta: number): Float32Array {
  const n = TRANSMISSION_STEPS;
  const table = new Float32Array(n + 2);
  for (let i = 0; i <= n; i++) table[i] = Math.exp((-beta * i) / n);
  table[n + 1] = table[n];
  const out = new Float32Array(depth.length);
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i];
    const x = (d < 0 ? 0 : d > 1 ? 1 : d) * n;
    const j = x | 0;
    out[i] = table[j] + (x - j) * (table[j + 1] - table[j]);
  }
  return out;
}
