import { defineComposite, ramp, type CompositeLevelSpec, type StageSpec } from './composite.js';
import { motionBlur, gaussianSincBlur } from './blur.js';
import { jpeg } from './jpeg.js';
import { rainStreaks } from './rain.js';
import { lowLight } from './lowlight.js';
import { haze } from './haze.js';
import { snow } from './snow.js';
import type { Degradation } from './types.js';

/**
 * A stage of a joint level: a component, optionally one variant and its own strength range (`from`..`to`,
 * default the level's; `max` scales the top of the default range).
 */
type Part = Degradation | { component: Degradation; variant?: string; max?: number; from?: number; to?: number };

/** Levels 1..n of one variant whose stages all rise together from `from` to `to` (or over each part's own range). */
function jointLevels(variant: string, n: number, parts: readonly Part[], from = 0, to = 1): CompositeLevelSpec[] {
  return ramp(n, 0, 1).map((u, i) => ({
    variant,
    value: String(i + 1),
    stages: parts.map((p): StageSpec => {
      if (!('component' in p)) return { component: p, strength: from + (to - from) * u };
      const lo = p.from ?? from * (p.max ?? 1);
      const hi = p.to ?? to * (p.max ?? 1);
      return { component: p.component, variant: p.variant, strength: lo + (hi - lo) * u };
    }),
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

/**
 * Rain is part of the scene the shaking camera records, so the streaks are blurred by the same camera
 * trajectory as everything else: rain is rendered first, then the whole frame is blurred.
 */
export const blurRain = defineComposite({
  version: 2,
  id: 'BR',
  name: 'blur + rain',
  description: 'Rain streaks in the scene, then camera-shake motion blur of the whole frame (streaks included).',
  method: 'RS (Rain100L/Rain100H-style streak layers) then MB (Boracchi & Foi trajectory) over the rainy frame, stages rising together.',
  levels: jointLevels('motion-rain', 10, [rainStreaks, motionBlur]),
});

/**
 * CDD-11 combinations (Guo et al., ECCV 2024, OneRestore) of the four weather/illumination types, two
 * severities each, in the order of OneRestore's synthesis script (syn_data/syn_data.py: `syn_low`, then
 * the rain mask added, then the snow mask composited, then `syn_haze` over the result): low light first,
 * then rain or snow, then haze over everything, since the scattering medium veils the streaks and flakes
 * as it veils the scene. Every stage that needs depth takes it from the clean scene.
 *
 * With low light first, every later stage brightens a dark frame back towards the clean one, so heavier
 * weather over it can raise PSNR (rain lifted low-rain from 9.6 to 10.4 dB on a 512 px texture). In the
 * low-light combinations the severity is therefore the darkness (gamma 2.5 -> 5) over a fixed, moderate
 * weather stage: the same seed draws the same weather at both levels over a darker frame. The weather-only
 * combinations rise in both stages.
 */
const low = { component: lowLight, from: 0.3, to: 1 };
const weatherOnDark = (component: Degradation): Part => ({ component, from: 0.3, to: 0.3 });
const hazeOnDark: Part = { component: haze, from: 0.25, to: 0.25 };
const combos: Record<string, Part[]> = {
  'low-haze': [low, hazeOnDark],
  'low-rain': [low, weatherOnDark(rainStreaks)],
  'low-snow': [low, weatherOnDark(snow)],
  'haze-rain': [rainStreaks, haze],
  'haze-snow': [snow, haze],
  'low-haze-rain': [low, weatherOnDark(rainStreaks), hazeOnDark],
  'low-haze-snow': [low, weatherOnDark(snow), hazeOnDark],
};

export const lowHazeRainSnow = defineComposite({
  version: 2,
  id: 'LHRS',
  name: 'low light + haze + rain + snow',
  description: 'The CDD-11 mixed weather/illumination combinations (L+H, L+R, L+S, H+R, H+S, L+H+R, L+H+S).',
  method:
    'CDD-11 (OneRestore, Guo et al. ECCV 2024) combinations built from the LL, RS, S and H types in the order of its syn_data.py: ' +
    'low light, then rain or snow, then haze; two severities per combination.',
  levels: Object.entries(combos).flatMap(([variant, parts]) => jointLevels(variant, 2, parts, 0.35, 0.85)),
});
