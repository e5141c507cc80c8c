import type { Image } from '../core/image.js';
import { resize, type ResizeMode } from '../core/resize.js';
import type { Rng } from '../core/random.js';
import { componentLevel, ramp } from './composite.js';
import { gaussianSincBlur } from './blur.js';
import { gaussianNoise } from './noise.js';
import { jpeg } from './jpeg.js';
import { defineDegradation, levelAt, type Degradation, type ImageInfo, type LevelDef, type Params, type TypeId } from './types.js';

/**
 * DNBJ: the Real-ESRGAN second-order degradation (Wang et al. 2021, realesrgan_model.py
 * feed_data): blur, resize, noise, JPEG, then again blur, resize, noise and a final
 * [resize + sinc, JPEG] in random order. Real-ESRGAN stops at 1/4 size; here the result is
 * resized back to the input size with bicubic (DESIGN: every type keeps the input's size), so the
 * loss of detail is what remains of the trip down and back. Levels set the overall downscale
 * factor; the stage strengths rise with it.
 */

// Real-ESRGAN trains x4 (and x2); the levels stop at its x4.
const SCALES = [1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4] as const;
const MODES: readonly ResizeMode[] = ['area', 'bilinear', 'bicubic'];

type Stage =
  | { op: 'degrade'; type: TypeId; level: number; level_id: string; params: Params }
  | { op: 'resize'; width: number; height: number; mode: ResizeMode };

interface DnbjParams extends Params {
  level: string;
  scale: number;
  stages: Stage[];
}

const components = new Map<TypeId, Degradation>([gaussianSincBlur, gaussianNoise, jpeg].map((d) => [d.id, d]));
const variantsOf = (d: Degradation): string[] => [...new Set(d.levels.map((l) => l.variant))];

const levels: LevelDef[] = SCALES.map((scale, severity) => ({
  id: `scale:${scale}`,
  variant: 'scale',
  severity,
  settings: { scale, strength: ramp(SCALES.length, 0.1, 1)[severity] },
}));

function degradeStage(d: Degradation, strength: number, variant: string, rng: Rng, info: ImageInfo, name: string): Stage {
  const level = componentLevel(d, Math.min(1, Math.max(0, strength)), variant);
  return { op: 'degrade', type: d.id, level, level_id: d.levels[level].id, params: d.sample(level, rng.fork(name), info) };
}

function size(info: ImageInfo, factor: number): ImageInfo {
  return { width: Math.max(8, Math.round(info.width / factor)), height: Math.max(8, Math.round(info.height / factor)) };
}

function sampleDnbj(level: number, rng: Rng, info: ImageInfo): DnbjParams {
  const def = levelAt(levels, level, 'DNBJ');
  const scale = def.settings.scale as number;
  const t = def.settings.strength as number;
  const blurVariants = variantsOf(gaussianSincBlur).filter((v) => v !== 'sinc');
  const noiseVariants = variantsOf(gaussianNoise).filter((v) => v === 'gaussian' || v === 'poisson');
  const stages: Stage[] = [];
  // first order: blur, resize to about the square root of the final factor, noise, JPEG
  stages.push(degradeStage(gaussianSincBlur, t * rng.range(0.6, 1), rng.pick(blurVariants), rng, info, 'blur1'));
  const mid = size(info, Math.sqrt(scale) * rng.range(0.9, 1.1));
  stages.push({ op: 'resize', ...mid, mode: rng.pick(MODES) });
  stages.push(degradeStage(gaussianNoise, t * rng.range(0.5, 1), rng.pick(noiseVariants), rng, mid, 'noise1'));
  stages.push(degradeStage(jpeg, t * rng.range(0.4, 0.9), 'quality', rng, mid, 'jpeg1'));
  // second order: blur (probability 0.8 as in Real-ESRGAN), resize to the final size, noise
  if (rng.uniform() < 0.8) stages.push(degradeStage(gaussianSincBlur, t * rng.range(0.3, 0.8), rng.pick(blurVariants), rng, mid, 'blur2'));
  const low = size(info, scale);
  stages.push({ op: 'resize', ...low, mode: rng.pick(MODES) });
  stages.push(degradeStage(gaussianNoise, t * rng.range(0.3, 0.8), rng.pick(noiseVariants), rng, low, 'noise2'));
  // final [sinc, JPEG] in either order, as Real-ESRGAN does
  const finalJpeg = degradeStage(jpeg, t * rng.range(0.6, 1), 'quality', rng, low, 'jpeg2');
  const sincVariant = variantsOf(gaussianSincBlur).includes('sinc') ? 'sinc' : blurVariants[0];
  const sinc = rng.uniform() < 0.8 ? [degradeStage(gaussianSincBlur, rng.range(0, t), sincVariant, rng, low, 'sinc')] : [];
  if (rng.uniform() < 0.5) stages.push(...sinc, finalJpeg);
  else stages.push(finalJpeg, ...sinc);
  stages.push({ op: 'resize', width: info.width, height: info.height, mode: 'bicubic' });
  return { level: def.id, scale, stages };
}

async function applyDnbj(image: Image, params: DnbjParams): Promise<Image> {
  let out = image;
  for (const stage of params.stages) {
    if (stage.op === 'resize') {
      out = resize(out, stage.width, stage.height, stage.mode);
    } else {
      const d = components.get(stage.type);
      if (!d) throw new RangeError(`DNBJ params name stage type ${stage.type}, which DNBJ does not use`);
      out = await d.apply(out, stage.params);
    }
  }
  // the final resize may be absent in hand-edited params; the contract is the input's size
  return out.width === image.width && out.height === image.height ? out : resize(out, image.width, image.height, 'bicubic');
}

export const downsampleNoiseBlurJpeg = defineDegradation<DnbjParams>({
  version: 1,
  id: 'DNBJ',
  name: 'downsample + noise + blur + JPEG',
  description: 'The Real-ESRGAN second-order degradation, resized back to the input size.',
  method:
    'Real-ESRGAN (Wang et al. 2021) second-order pipeline: [GB blur, resize (area/bilinear/bicubic), GN noise, JPEG] twice (second blur with p=0.8), final sinc and JPEG in random order; then bicubic back to the input size. Levels: overall downscale factor 1.25..4.',
  levels,
  sample: sampleDnbj,
  apply: applyDnbj,
});
