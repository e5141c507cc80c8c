import type { DepthKind, DepthMapData } from '../core/depthmap.js';
import type { Image } from '../core/image.js';
import type { Rng } from '../core/random.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Params = { [key: string]: Json };

/** The 19 UIR-2.5M type ids, in the order of the paper's table. */
export const TYPE_IDS = [
  'GN', 'RN', 'MB', 'DB', 'GB', 'J', 'H', 'RS', 'RD', 'RSD', 'S', 'MS', 'LL', 'MR', 'BJ', 'BR', 'BLN', 'LHRS', 'DNBJ',
] as const;
export type TypeId = (typeof TYPE_IDS)[number];

export function isTypeId(value: string): value is TypeId {
  return (TYPE_IDS as readonly string[]).includes(value);
}

export interface ImageInfo {
  width: number;
  height: number;
  /** Set when a real depth map goes with the image: types that need depth record it instead of the estimate. */
  depth?: { sha256: string; kind: DepthKind };
}

/**
 * What `apply` may use besides the image and its params: the crop of the real depth map recorded in the
 * params, and the clean scene that composites start from (a stage estimates depth from the scene, not from
 * what earlier stages made of it).
 */
export interface ApplyContext {
  depth?: DepthMapData;
  scene?: Image;
}

export interface LevelDef {
  /** Stable id `variant:value` (e.g. `gaussian:25`); never renumbered once released. */
  id: string;
  variant: string;
  /** 0 = mildest within its variant; PSNR(lq, gt) (or the type's `severity` measure) falls as it rises. */
  severity: number;
  /** The level's settings as plain JSON, shown by `uirgen degradations`. */
  settings: Params;
}

/**
 * What falls as severity rises within a variant. PSNR(lq, gt) unless the type's physics makes it the wrong
 * measure; then the type names the measure it is held to and why (core/metrics.ts detailRetention).
 */
export type SeverityMeasure = { measure: 'psnr' } | { measure: 'detail-retention'; why: string };

/**
 * One degradation type, split as albumentations splits a transform:
 * `sample` draws every random choice into plain-JSON params; `apply` is deterministic given them
 * (pixel noise comes from a seed stored in the params), so recorded params replay bit for bit.
 */
export interface Degradation<P extends Params = Params> {
  id: TypeId;
  name: string;
  description: string;
  /** The published method followed and where its parameter ranges come from. */
  method: string;
  /**
   * The rendering's version: bumped whenever the same params (or the same level and random stream) give other
   * bytes. Recorded with every sample; replaying params of another version is refused (see checkReplayVersion).
   */
  version: number;
  /** Flat list, grouped by variant, severity ascending within each variant. */
  levels: readonly LevelDef[];
  /** The measure that falls with severity; absent = PSNR. */
  severity?: SeverityMeasure;
  sample(level: number, rng: Rng, info: ImageInfo): P;
  apply(image: Image, params: P, context?: ApplyContext): Promise<Image>;
}

/** Erase a degradation's specific params type so the registry can hold them side by side. */
export function defineDegradation<P extends Params>(d: Degradation<P>): Degradation {
  return d as unknown as Degradation;
}

/** Build a variant's levels from its ordered values: `levelsOf('gaussian', [15, 25], v => ({ sigma: v }))`. */
export function levelsOf<T extends number | string>(
  variant: string,
  values: readonly T[],
  settings: (value: T, severity: number) => Params,
): LevelDef[] {
  return values.map((value, severity) => ({ id: `${variant}:${value}`, variant, severity, settings: settings(value, severity) }));
}

export function levelAt(levels: readonly LevelDef[], level: number, typeId: string): LevelDef {
  const def = levels[level];
  if (!Number.isInteger(level) || !def) {
    throw new RangeError(`${typeId} has levels 0..${levels.length - 1}, got ${level}`);
  }
  return def;
}

/** The measure a type's severity is held to (PSNR unless it names another). */
export function severityMeasureOf(d: Degradation): SeverityMeasure {
  return d.severity ?? { measure: 'psnr' };
}
