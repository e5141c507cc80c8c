import { gaussianNoise } from './noise.js';
import { realNoise } from './camera.js';
import { motionBlur, defocusBlur, gaussianSincBlur } from './blur.js';
import { jpeg } from './jpeg.js';
import { haze } from './haze.js';
import { rainStreaks, raindrops, rainStreaksAndDrops } from './rain.js';
import { snow } from './snow.js';
import { mosaic } from './mosaic.js';
import { lowLight } from './lowlight.js';
import { moire } from './moire.js';
import { blurJpeg, blurRain, lowHazeRainSnow } from './combined.js';
import { blurLowLightNoise } from './nightblur.js';
import { downsampleNoiseBlurJpeg } from './dnbj.js';
import { createHash } from 'node:crypto';
import { TYPE_IDS, isTypeId, type Degradation, type TypeId } from './types.js';

const all: readonly Degradation[] = [
  gaussianNoise, realNoise, motionBlur, defocusBlur, gaussianSincBlur, jpeg, haze, rainStreaks, raindrops,
  rainStreaksAndDrops, snow, mosaic, lowLight, moire, blurJpeg, blurRain, blurLowLightNoise, lowHazeRainSnow,
  downsampleNoiseBlurJpeg,
];

const byId = new Map<TypeId, Degradation>(all.map((d) => [d.id, d]));
if (byId.size !== TYPE_IDS.length || TYPE_IDS.some((id) => !byId.has(id))) {
  throw new Error(`registry is incomplete: has ${[...byId.keys()].join(',')}`);
}

/** The 19 types in the UIR-2.5M table's order. */
export function listDegradations(): Degradation[] {
  return TYPE_IDS.map((id) => byId.get(id) as Degradation);
}

export function getDegradation(id: string): Degradation {
  const upper = id.toUpperCase();
  if (!isTypeId(upper)) throw new RangeError(`unknown degradation type "${id}"; known: ${TYPE_IDS.join(' ')}`);
  return byId.get(upper) as Degradation;
}

/** A level given as its index ("3") or its stable id ("gaussian:25"). */
export function resolveLevel(d: Degradation, spec: string | number): number {
  if (typeof spec === 'number' || /^\d+$/.test(spec)) {
    const n = Number(spec);
    if (!Number.isInteger(n) || n < 0 || n >= d.levels.length) {
      throw new RangeError(`${d.id} has levels 0..${d.levels.length - 1}, got ${spec}`);
    }
    return n;
  }
  const i = d.levels.findIndex((l) => l.id === spec);
  if (i < 0) throw new RangeError(`${d.id} has no level "${spec}"; its levels: ${d.levels.map((l) => l.id).join(' ')}`);
  return i;
}

export function totalLevels(): number {
  return all.reduce((n, d) => n + d.levels.length, 0);
}

/** Each type's rendering version, in the table's order: what a manifest's run and a release lock record. */
export function typeVersions(): Record<TypeId, number> {
  return Object.fromEntries(listDegradations().map((d) => [d.id, d.version])) as Record<TypeId, number>;
}

/**
 * The registry's version: a digest of every type's id, version and level ids, so it changes whenever any
 * type renders differently or a level is added, and two toolkits with the same value render alike.
 */
export function registryVersion(): string {
  const text = listDegradations()
    .map((d) => `${d.id}@${d.version}:${d.levels.map((l) => l.id).join(',')}`)
    .join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Params recorded by one version of a type, replayed by a toolkit whose type has another. */
export class ReplayVersionError extends Error {
  constructor(
    readonly type: TypeId,
    readonly recorded: number,
    readonly current: number,
    where: string,
  ) {
    super(
      `${where}: params made by ${type} version ${recorded}, but this uirgen renders ${type} version ${current}; ` +
        `replaying them would give other bytes. Use the uirgen release that made them (its version is in the ` +
        `manifest's runs table or the params file's toolkit_version).`,
    );
    this.name = 'ReplayVersionError';
  }
}

/**
 * Refuse to replay params that another version of `d` recorded. Params recorded before versions existed
 * (no type_version) count as version 1, the rendering they were made with.
 */
export function checkReplayVersion(d: Degradation, recorded: number | null | undefined, where: string): void {
  const version = recorded ?? 1;
  if (version !== d.version) throw new ReplayVersionError(d.id, version, d.version, where);
}
