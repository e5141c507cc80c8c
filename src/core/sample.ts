import { CHANNELS, createImage, type Image } from './image.js';

/**
 * Bilinear lookup at (x, y) in pixel coordinates (pixel centres on integers), edges clamped;
 * writes the 3 channels into `out` at `offset`. Shared by warps, refraction and remaps.
 */
export function bilinearInto(image: Image, x: number, y: number, out: Float32Array, offset: number): void {
  const { width, height, data } = image;
  const xc = x < 0 ? 0 : x > width - 1 ? width - 1 : x;
  const yc = y < 0 ? 0 : y > height - 1 ? height - 1 : y;
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const x1 = x0 + 1 < width ? x0 + 1 : x0;
  const y1 = y0 + 1 < height ? y0 + 1 : y0;
  const fx = xc - x0;
  const fy = yc - y0;
  const i00 = (y0 * width + x0) * CHANNELS;
  const i01 = (y0 * width + x1) * CHANNELS;
  const i10 = (y1 * width + x0) * CHANNELS;
  const i11 = (y1 * width + x1) * CHANNELS;
  const w00 = (1 - fx) * (1 - fy);
  const w01 = fx * (1 - fy);
  const w10 = (1 - fx) * fy;
  const w11 = fx * fy;
  for (let c = 0; c < CHANNELS; c++) {
    out[offset + c] = w00 * data[i00 + c] + w01 * data[i01 + c] + w10 * data[i10 + c] + w11 * data[i11 + c];
  }
}

/**
 * A continuous pixel coordinate mirrored into [0, n - 1] about the edge pixel centres (reflect-101, as
 * conv.ts reflectIndex does for integers): a lookup past the frame sees the scene mirrored, not the edge
 * row smeared into stripes.
 */
export function reflectCoord(x: number, n: number): number {
  if (n <= 1) return 0;
  const period = 2 * (n - 1);
  let j = x % period;
  if (j < 0) j += period;
  return j <= n - 1 ? j : period - j;
}

/** out(x, y) = image(mapX(x, y), mapY(x, y)), bilinear; maps are width*height planes. */
export function remap(image: Image, mapX: Float32Array, mapY: Float32Array, width = image.width, height = image.height): Image {
  const out = createImage(width, height);
  const n = width * height;
  for (let i = 0; i < n; i++) bilinearInto(image, mapX[i], mapY[i], out.data, i * CHANNELS);
  return out;
}
