import { defineComposite, ramp, stageAt, type CompositeLevelSpec, type StageSpec } from './composite.js';
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

/**
 * A component rising from its mildest level to its level `id`: a composite keeps its stages' levels when the
 * component's ladder grows above them (J gained quality:5, RS density:62 and density:72).
 */
function upTo(component: Degradation, id: string): Part {
  return { component, to: stageAt(component, id).strength };
}

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
  levels: [
    ...jointLevels('motion', 6, [motionBlur, upTo(jpeg, 'quality:10')]),
    ...jointLevels('gaussian', 6, [{ component: gaussianSincBlur, variant: 'gaussian' }, upTo(jpeg, 'quality:10')]),
  ],
});

/**
 * Rain is part of the scene the shaking camera records, so the streaks are blurred by the same camera
 * trajectory as everything else: rain is rendered first, then the whole frame is blurred.
 */
export const blurRain = defineComposite({
  version: 3,
  id: 'BR',
  name: 'blur + rain',
  description: 'Rain streaks in the scene, then camera-shake motion blur of the whole frame (streaks included).',
  method: 'RS (Rain100L/Rain100H-style streak layers) then MB (Boracchi & Foi trajectory) over the rainy frame, stages rising together.',
  levels: jointLevels('motion-rain', 10, [upTo(rainStreaks, 'density:52'), motionBlur]),
});

/** One stage of an explicit composite level: a component and the id of its level. */
type Step = readonly [Degradation, string];

/** Levels 1..n of one variant, each an explicit list of component levels. */
function explicitLevels(variant: string, steps: readonly (readonly Step[])[]): CompositeLevelSpec[] {
  return steps.map((stages, i) => ({ variant, value: String(i + 1), stages: stages.map(([c, id]) => stageAt(c, id)) }));
}

/**
 * CDD-11 combinations (Guo et al., ECCV 2024, OneRestore) of the four weather/illumination types, three
 * severities each, in the order of OneRestore's synthesis script (syn_data/syn_data.py: `syn_low`, then
 * the rain mask added, then the snow mask composited, then `syn_haze` over the result): low light first,
 * then rain or snow, then haze over everything, since the scattering medium veils the streaks and flakes
 * as it veils the scene. Every stage that needs depth takes it from the clean scene.
 *
 * With low light first, every later stage brightens a dark frame back towards the clean one, so heavier
 * weather over it can raise PSNR (rain lifted low-rain from 9.6 to 10.4 dB on a 512 px texture). In the
 * low-light combinations the severity is therefore the darkness (gamma 1.5 -> 5) over a fixed, moderate rain
 * or snow stage: the same seed draws the same weather at every level over a darker frame. In the three-way
 * combinations the haze rises with the darkness (beta 0.6 -> 0.9): under a fixed veil a darker frame came out
 * closer to the clean one on a dark scene (the starfield photo), where the airlight dominates. Low + haze keeps
 * its veil fixed: without rain or snow, a thicker veil over the darkest frame raised PSNR on a bright texture
 * (the brick photo). The weather-only combinations rise in both stages.
 *
 * CDD-11 has one severity per combination; its test input PSNR (OneRestore's metrics file, RGB) sits
 * between levels 1 and 2 of each combination: level 1 is milder, level 2 at or just below it on the
 * bundled photos (docs/calibration.md), level 3 well past it.
 */
const rainOnDark: Step = [rainStreaks, 'density:18'];
const snowOnDark: Step = [snow, 'density:42'];
const RISING_HAZE = ['beta:0.6', 'beta:0.75', 'beta:0.9'] as const;
const FIXED_HAZE = ['beta:0.75', 'beta:0.75', 'beta:0.75'] as const;
/** Levels of a low-light combination: these darknesses (LL gamma levels) over the same weather, haze rising or not. */
function darkOver(variant: string, gammas: readonly string[], weather: Step[], hazes?: readonly string[]): CompositeLevelSpec[] {
  return explicitLevels(
    variant,
    gammas.map((g, i): Step[] => [[lowLight, `gamma:${g}`], ...weather, ...(hazes ? [[haze, hazes[i]] as Step] : [])]),
  );
}

export const lowHazeRainSnow = defineComposite({
  version: 4,
  id: 'LHRS',
  name: 'low light + haze + rain + snow',
  description: 'The CDD-11 mixed weather/illumination combinations (L+H, L+R, L+S, H+R, H+S, L+H+R, L+H+S).',
  method:
    'CDD-11 (OneRestore, Guo et al. ECCV 2024) combinations built from the LL, RS, S and H types in the order of its syn_data.py: ' +
    'low light, then rain or snow, then haze; three severities per combination bracketing its CDD-11 test input PSNR.',
  levels: [
    ...darkOver('low-haze', ['1.5', '3.3', '5'], [], FIXED_HAZE),
    ...darkOver('low-rain', ['1.5', '1.8', '5'], [rainOnDark]),
    ...darkOver('low-snow', ['1.5', '2.1', '5'], [snowOnDark]),
    ...explicitLevels('haze-rain', [
      [[rainStreaks, 'density:11'], [haze, 'beta:0.6']],
      [[rainStreaks, 'density:18'], [haze, 'beta:0.9']],
      [[rainStreaks, 'density:45'], [haze, 'beta:1.65']],
    ]),
    ...explicitLevels('haze-snow', [
      [[snow, 'density:20'], [haze, 'beta:0.6']],
      [[snow, 'density:30'], [haze, 'beta:0.75']],
      [[snow, 'density:135'], [haze, 'beta:1.65']],
    ]),
    ...darkOver('low-haze-rain', ['1.5', '2.5', '5'], [rainOnDark], RISING_HAZE),
    ...darkOver('low-haze-snow', ['1.5', '2.9', '5'], [snowOnDark], RISING_HAZE),
  ],
});
