import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../../src/core/io.js';
import { cropImage, type Image } from '../../src/core/image.js';

export const SAMPLES_DIR = fileURLToPath(new URL('../../samples/images/', import.meta.url));

export function samplePaths(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .map((f) => join(SAMPLES_DIR, f));
}

const cache = new Map<number, Promise<Image[]>>();

/** Centre crops (size x size) of the five bundled photos, decoded once per test file. */
export function sampleCrops(size = 128): Promise<Image[]> {
  let p = cache.get(size);
  if (!p) {
    p = Promise.all(
      samplePaths().map(async (path) => {
        const im = await decodeImage(path);
        return cropImage(im, (im.width - size) >> 1, (im.height - size) >> 1, size, size);
      }),
    );
    cache.set(size, p);
  }
  return p;
}
