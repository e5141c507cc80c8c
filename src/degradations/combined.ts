import { defineComposite, ramp, type CompositeLevelSpec, type StageSpec } from './composite.js';
import { motionBlur, gaussianSincBlur } from './blur.js';
import { jpeg } from './jpeg.js';
import { rainStreaks } from './rain.js';
import { lowLight } from './lowlight.js';
import { haze } from './haze.js';
import { snow } from './snow.js';
import type { Degradation } from './types.js';

/** A stage of a joint level: a component, optionally one variant and the top of its strength range. */
type Part = Degradation | { component: Degradation; variant?: string; max?: number };

/** Levels 1..n of one variant whose stages all rise together from `from` to `to` (times each part's max). */
function jointLevels(variant: string, n: number, parts: readonly Part[], from = 0, to = 1): CompositeLevelSpec[] {
  return ramp(n, from, to).map((strength, i) => ({
    variant,
    value: String(i + 1),
    stages: parts.map((p): StageSpec =>
      'component' in p ? { component: p.component, variant: p.variant, strength: strength * (p.max ?? 1) } : { component: p, strength },
    ),
  }));
}

export const blurJpeg = defineComposite({
  version: 1,
  id: 'BJ',
  name: 'blur + JPEG',
  description: 'Motion or Gaussian blur, then JPEG compression of the blurred image.',
  method: 'MB (Boracchi & Foi trajectories) or GB (Real-ESRGAN Gaussian kernels), then a real JPEG round trip, both stages rising together with the level.',
  levels: [...jointLevels('motion', 6, [motionBlur, jpeg]), ...jointLevels('gaussian', 6, [{ component: gaussianSincBlur, variant: 'gaussian' }, jpeg])],
});

export const blurRain = defineComposite({
  version: 1,
  id: 'BR',
  name: 'blur + rain',
  description: 'Camera-shake motion blur, then rain streaks over the blurred scene.',
  method: 'MB then RS (Rain100L/Rain13k-style streak layers), stages rising together.',
  levels: jointLevels('motion-rain', 10, [motionBlur, rainStreaks]),
});

/**
 * CDD-11 combinations (Guo et al. 2024, OneRestore) of the four weather/illumination types, two
 * severities each. Order follows image formation: scattering (haze) in the scene, then particles
 * (rain, snow) in front of the camera, then the low illumination the sensor records it all under.
 */
const combos: Record<string, Degradation[]> = {
  'low-haze': [haze, lowLight],
  'low-rain': [rainStreaks, lowLight],
  'low-snow': [snow, lowLight],
  'haze-rain': [haze, rainStreaks],
  'haze-snow': [haze, snow],
  'low-haze-rain': [haze, rainStreaks, lowLight],
  'low-haze-snow': [haze, snow, lowLight],
};

export const lowHazeRainSnow = defineComposite({
  version: 1,
  id: 'LHRS',
  name: 'low light + haze + rain + snow',
  description: 'The CDD-11 mixed weather/illumination combinations (L+H, L+R, L+S, H+R, H+S, L+H+R, L+H+S).',
  method: 'CDD-11 (OneRestore) combinations built from the H, RS, S and LL types: haze, then rain or snow, then low light; two severities per combination.',
  levels: Object.entries(combos).flatMap(([variant, parts]) => jointLevels(variant, 2, parts, 0.35, 0.85)),
});
