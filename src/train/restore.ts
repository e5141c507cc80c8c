import * as tf from '@tensorflow/tfjs-core';
import { createImage, type Image } from '../core/image.js';
import { nafnetFactor, type RestorationNet } from './models/nafnet.js';

/**
 * Whole-image inference with the restoration network, in overlapping tiles so that memory depends on the
 * tile size, not the image's (the network's activations are many times the image; only the output
 * accumulator is image-sized).
 *
 * Tiles are `tile` pixels square (a multiple of the network's downsampling), their origins `tile -
 * overlap` apart and at multiples of the downsampling, so a tile sees the same pixel grid the whole image
 * would. Where two tiles overlap, the output is blended: within `overlap / 4` of a tile's inner edge that
 * tile's weight is 0 (its zero-padded border is not used), then it rises linearly to 1 across the middle
 * half of the overlap, the other tile's falling alike, weights summing to 1. A network with a receptive
 * field under overlap / 4 therefore gives exactly the untiled result; NAFNet's simplified channel
 * attention pools over the whole input, so its tiles differ slightly from one full pass, and the blend
 * spreads that difference over half the overlap instead of leaving a seam. Image borders, and sides that
 * are not multiples of the downsampling, are reflect-padded (as BasicSR pads test images) and cropped
 * back.
 */

export interface TileOptions {
  /** Tile side in pixels (default 256). */
  tile?: number;
  /** Overlap of neighbouring tiles in pixels (default 32). */
  overlap?: number;
  /** Called after each tile with (done, total). */
  onTile?(done: number, total: number): void;
}

export const DEFAULT_TILE = 256;
export const DEFAULT_OVERLAP = 32;

function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

const roundUp = (v: number, q: number): number => Math.ceil(v / q) * q;

/** Tile origins and sizes along one axis of `n` pixels. */
export function tileSpans(n: number, tile: number, overlap: number, quantum: number): Array<{ start: number; size: number }> {
  if (n <= tile) return [{ start: 0, size: roundUp(n, quantum) }];
  const stride = tile - overlap;
  const spans: Array<{ start: number; size: number }> = [];
  for (let start = 0; ; start += stride) {
    spans.push({ start, size: Math.min(tile, roundUp(n - start, quantum)) });
    if (start + tile >= n) return spans;
  }
}

/** Weight of position t (0-based) inside a span of `size` whose left/right neighbours overlap it by `overlap`. */
function edgeWeight(t: number, size: number, overlap: number, left: boolean, right: boolean): number {
  if (overlap === 0) return 1;
  const margin = overlap / 4;
  const ramp = (u: number): number => Math.min(1, Math.max(0, (u - margin) / (overlap - 2 * margin)));
  let w = 1;
  if (left) w *= ramp(t + 0.5);
  if (right) w *= ramp(size - (t + 0.5));
  return w;
}

export function validateTileOptions(tile: number, overlap: number, quantum: number): void {
  if (!Number.isInteger(tile) || tile < quantum || tile % quantum !== 0) {
    throw new RangeError(`tile must be a positive multiple of ${quantum} (the network's downsampling), got ${tile}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap % quantum !== 0 || overlap > tile / 2) {
    throw new RangeError(`overlap must be a multiple of ${quantum} from 0 to half the tile (${tile}), got ${overlap}`);
  }
}

/** Restore a whole image of any size with `net`. */
export async function restoreImage(net: RestorationNet, image: Image, opts: TileOptions = {}): Promise<Image> {
  const q = nafnetFactor(net.config);
  const tile = opts.tile ?? DEFAULT_TILE;
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  validateTileOptions(tile, overlap, q);
  const { width: W, height: H, data: src } = image;
  const xs = tileSpans(W, tile, overlap, q);
  const ys = tileSpans(H, tile, overlap, q);
  const acc = new Float32Array(W * H * 3);
  const wsum = new Float32Array(W * H);
  const total = xs.length * ys.length;
  let done = 0;
  for (let yi = 0; yi < ys.length; yi++) {
    for (let xi = 0; xi < xs.length; xi++) {
      const { start: y0, size: th } = ys[yi];
      const { start: x0, size: tw } = xs[xi];
      const input = new Float32Array(th * tw * 3);
      for (let y = 0; y < th; y++) {
        const sy = reflect(y0 + y, H);
        for (let x = 0; x < tw; x++) {
          const s = (sy * W + reflect(x0 + x, W)) * 3;
          const d = (y * tw + x) * 3;
          input[d] = src[s];
          input[d + 1] = src[s + 1];
          input[d + 2] = src[s + 2];
        }
      }
      const out = tf.tidy(() => net.restore(tf.tensor4d(input, [1, th, tw, 3])));
      const values = (await out.data()) as Float32Array;
      out.dispose();
      const wy = Array.from({ length: th }, (_, y) => edgeWeight(y, th, overlap, yi > 0, yi < ys.length - 1));
      const wx = Array.from({ length: tw }, (_, x) => edgeWeight(x, tw, overlap, xi > 0, xi < xs.length - 1));
      for (let y = 0; y < th && y0 + y < H; y++) {
        if (wy[y] === 0) continue;
        for (let x = 0; x < tw && x0 + x < W; x++) {
          const w = wy[y] * wx[x];
          if (w === 0) continue;
          const p = (y0 + y) * W + x0 + x;
          const s = (y * tw + x) * 3;
          acc[p * 3] += w * values[s];
          acc[p * 3 + 1] += w * values[s + 1];
          acc[p * 3 + 2] += w * values[s + 2];
          wsum[p] += w;
        }
      }
      opts.onTile?.(++done, total);
    }
  }
  for (let p = 0; p < wsum.length; p++) {
    const inv = 1 / wsum[p];
    acc[p * 3] *= inv;
    acc[p * 3 + 1] *= inv;
    acc[p * 3 + 2] *= inv;
  }
  return createImage(W, H, acc);
}
