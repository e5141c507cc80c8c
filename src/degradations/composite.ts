import type { Image } from '../core/image.js';
import type { Rng } from '../core/random.js';
import {
  defineDegradation,
  levelAt,
  type ApplyContext,
  type Degradation,
  type ImageInfo,
  type LevelDef,
  type Params,
  type TypeId,
} from './types.js';

/** One stage of a composite level: a component type at a fraction of its severity range. */
export interface StageSpec {
  component: Degradation;
  /** Variant of the component to draw from (default: its first variant). */
  variant?: string;
  /** 0 = the variant's mildest level, 1 = its most severe. */
  strength: number;
}

export interface CompositeLevelSpec {
  variant: string;
  value: string;
  stages: StageSpec[];
}

/** What a composite records: the resolved component level of each stage and that stage's own params. */
export interface CompositeParams extends Params {
  level: string;
  stages: { type: TypeId; level: number; level_id: string; params: Params }[];
}

/** The component level index nearest to `strength` along the variant's levels. */
export function componentLevel(component: Degradation, strength: number, variant?: string): number {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`stage strength must be in [0, 1], got ${strength}`);
  const name = variant ?? component.levels[0].variant;
  const indices: number[] = [];
  component.levels.forEach((l, i) => {
    if (l.variant === name) indices.push(i);
  });
  if (indices.length === 0) {
    throw new RangeError(`${component.id} has no variant "${name}" (has ${[...new Set(component.levels.map((l) => l.variant))].join(', ')})`);
  }
  return indices[Math.round(strength * (indices.length - 1))];
}

/**
 * The stage that resolves to the component's level `id`: the inverse of componentLevel, so a composite can
 * name the component levels it means and keep them when the component's ladder grows.
 */
export function stageAt(component: Degradation, id: string): StageSpec {
  const level = component.levels.find((l) => l.id === id);
  if (!level) throw new RangeError(`${component.id} has no level "${id}"`);
  const n = component.levels.filter((l) => l.variant === level.variant).length;
  return { component, variant: level.variant, strength: n === 1 ? 0 : level.severity / (n - 1) };
}

/** Draw every stage's params, each from its own named stream so stages never share randomness. */
export function sampleStages(stages: readonly StageSpec[], rng: Rng, info: ImageInfo): CompositeParams['stages'] {
  return stages.map((s, i) => {
    const level = componentLevel(s.component, s.strength, s.variant);
    return {
      type: s.component.id,
      level,
      level_id: s.component.levels[level].id,
      params: s.component.sample(level, rng.fork(`stage${i}:${s.component.id}`), info),
    };
  });
}

/**
 * Apply the stages in order. Each sees the composite's context, with the clean input as the scene, so a stage
 * that needs depth takes it from the scene and not from what the stages before it made of it.
 */
export async function applyStages(
  image: Image,
  stages: CompositeParams['stages'],
  resolve: (t: TypeId) => Degradation,
  context?: ApplyContext,
): Promise<Image> {
  const staged: ApplyContext = { ...context, scene: context?.scene ?? image };
  let out = image;
  for (const stage of stages) out = await resolve(stage.type).apply(out, stage.params, staged);
  return out;
}

/**
 * A type that chains registered types (BJ = blur then JPEG, ...). Levels are explicit stage lists,
 * so a composite's severity is the joint rise of its stages' severities.
 */
export function defineComposite(spec: {
  id: TypeId;
  name: string;
  description: string;
  method: string;
  /** The composite's own rendering version: bump it when a stage's version or the stage order changes. */
  version: number;
  levels: readonly CompositeLevelSpec[];
}): Degradation {
  const severities = new Map<string, number>();
  const levels: LevelDef[] = spec.levels.map((l) => {
    const severity = severities.get(l.variant) ?? 0;
    severities.set(l.variant, severity + 1);
    return {
      id: `${l.variant}:${l.value}`,
      variant: l.variant,
      severity,
      settings: {
        stages: l.stages.map((s) => {
          const idx = componentLevel(s.component, s.strength, s.variant);
          return `${s.component.id}@${s.component.levels[idx].id}`;
        }),
      },
    };
  });
  const byType = new Map<TypeId, Degradation>();
  for (const l of spec.levels) for (const s of l.stages) byType.set(s.component.id, s.component);
  const resolve = (t: TypeId): Degradation => {
    const d = byType.get(t);
    if (!d) throw new RangeError(`${spec.id} params name a stage of type ${t}, which ${spec.id} does not use`);
    return d;
  };
  return defineDegradation<CompositeParams>({
    id: spec.id,
    name: spec.name,
    description: spec.description,
    method: spec.method,
    version: spec.version,
    levels,
    sample(level, rng, info) {
      const def = levelAt(levels, level, spec.id);
      return { level: def.id, stages: sampleStages(spec.levels[level].stages, rng, info) };
    },
    apply(image, params, context) {
      return applyStages(image, params.stages, resolve, context);
    },
  });
}

/** `n` evenly spaced strengths from `from` to `to`. */
export function ramp(n: number, from = 0, to = 1): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? to : from + ((to - from) * i) / (n - 1)));
}
