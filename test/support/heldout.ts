import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { cropImage, type Image } from '../../src/core/image.js';
import { decodeImage } from '../../src/core/io.js';
import { psnr } from '../../src/core/metrics.js';
import { createRng } from '../../src/core/random.js';
import type { Degradation } from '../../src/degradations/types.js';
import { sampleCrops } from './samples.js';

/** Crops of photos the levels were not tuned on (test/fixtures/heldout, licences beside them). */
export const HELDOUT_DIR = fileURLToPath(new URL('../fixtures/heldout/', import.meta.url));

let heldout: Promise<Image[]> | null = null;

/** Centre crops (size x size) of the held-out photos. */
export function heldoutCrops(size = 128): Promise<Image[]> {
  heldout ??= Promise.all(
    readdirSync(HELDOUT_DIR)
      .filter((f) => f.endsWith('.png'))
      .sort()
      .map((f) => decodeImage(join(HELDOUT_DIR, f))),
  );
  return heldout.then((ims) => ims.map((im) => cropImage(im, (im.width - size) >> 1, (im.height - size) >> 1, size, size)));
}

/** The five bundled photos and the held-out ones, as size x size centre crops. */
export async function severityPhotos(size = 96): Promise<Image[]> {
  return [...(await sampleCrops(size)), ...(await heldoutCrops(size))];
}

/**
 * PSNR(lq, gt) falls strictly from each level to the next within every variant of `d`, on every photo
 * (the mean over the seeds, each seed drawing the same choices at every level). The message names the
 * photo, the variant and the whole run.
 */
export async function expectSeverityOnEveryPhoto(d: Degradation, photos: readonly Image[], seeds: readonly (string | number)[]): Promise<void> {
  const variants = [...new Set(d.levels.map((l) => l.variant))];
  for (const [p, photo] of photos.entries()) {
    for (const variant of variants) {
      const levels = d.levels.map((l, i) => ({ l, i })).filter(({ l }) => l.variant === variant);
      const means: number[] = [];
      for (const { i } of levels) {
        let sum = 0;
        for (const seed of seeds) sum += psnr(await d.apply(photo, d.sample(i, createRng(seed), photo)), photo);
        means.push(sum / seeds.length);
      }
      const run = `${d.id} ${variant} on photo ${p}: ${means.map((m) => m.toFixed(2)).join(' > ')}`;
      for (let k = 1; k < means.length; k++) expect(means[k], run).toBeLessThan(means[k - 1]);
    }
  }
}
