import { join } from 'node:path';
import { describe, it } from 'vitest';
import { decodeImage } from '../../src/core/io.js';
import { defocusBlur } from '../../src/degradations/blur.js';
import { blurRain, lowHazeRainSnow } from '../../src/degradations/combined.js';
import { haze } from '../../src/degradations/haze.js';
import { raindrops, rainStreaks, rainStreaksAndDrops } from '../../src/degradations/rain.js';
import { snow } from '../../src/degradations/snow.js';
import type { Degradation } from '../../src/degradations/types.js';
import { expectSeverityOnEveryPhoto, HELDOUT_DIR, severityPhotos } from '../support/heldout.js';

/**
 * The severity contract for the weather and depth types, held photo by photo: on each of the five bundled
 * photos and the five held-out ones (test/fixtures/heldout), and over three seeds, PSNR(lq, gt) falls at every
 * step within every variant (DB: both the uniform and the depth-varying disks).
 */
const types: Degradation[] = [rainStreaks, raindrops, rainStreaksAndDrops, haze, defocusBlur, snow, blurRain, lowHazeRainSnow];

describe('severity over photos and seeds (weather and depth types)', () => {
  for (const d of types) {
    it(`${d.id}: PSNR falls as severity rises within every variant, on each of 10 photos (3 seeds)`, { timeout: 60_000 }, async () => {
      await expectSeverityOnEveryPhoto(d, await severityPhotos(96), ['s1', 's2', 's3']);
    });
  }
});

describe('LHRS at full size', () => {
  it('both severities of every combination lower PSNR on a whole 512x512 held-out photo (where the old order raised it)', { timeout: 60_000 }, async () => {
    // The grass texture at full size: haze then rain then low light (the previous order) gave low-rain
    // 9.58 dB at severity 1 and 10.39 dB at severity 2 on it.
    await expectSeverityOnEveryPhoto(lowHazeRainSnow, [await decodeImage(join(HELDOUT_DIR, 'grass.png'))], ['s1', 's2', 's3']);
  });
});
