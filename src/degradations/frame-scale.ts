import type { ImageInfo } from './types.js';

/**
 * Particle types (RS, RD, S) are tuned on 256x256 crops and draw their particles relative to the frame: a
 * streak, a flake or a lens drop covers the same share of the view whatever the pixel count, as in the
 * references, whose particle masks are made for (or fitted to) each frame (Snow100K and CSD composite one snow
 * mask per 640x480 image; Rain100L/H one streak layer per image; in Qian et al.'s RainDrop set the drops on a
 * glass plate a few centimetres before the lens take a share of the field of view that the optics set, not the
 * sensor's pixel count). So particle sizes grow with the frame by `frameScale`, and their counts are per frame:
 * a per-pixel density is divided by the growth of a particle's area, or a level's rain or snow would cover
 * s^2 times more of a frame s times the size of a crop (4x at 512 px), and its PSNR fall with the frame.
 */

/** How much larger than a 256x256 crop the frame is, in linear size (geometric mean of the sides); at least 1/4. */
export function frameScale(info: Pick<ImageInfo, 'width' | 'height'>): number {
  return Math.max(0.25, Math.sqrt(info.width * info.height) / 256);
}

/** Particles per 256x256-crop equivalent of the frame: a level's count at 256 px, the same share at any size. */
export function perFrame(countAt256: number, info: Pick<ImageInfo, 'width' | 'height'>): number {
  const s = frameScale(info);
  return (countAt256 * info.width * info.height) / (256 * 256 * s * s);
}
