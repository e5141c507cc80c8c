import { createRequire } from 'node:module';
import sharp from 'sharp';
import { registryVersion, typeVersions } from '../degradations/registry.js';
import type { TypeId } from '../degradations/types.js';
import { TOOLKIT_VERSION } from '../version.js';

/**
 * What a run records about the software that made its bytes (the `runs.versions` JSON, and a release's lock):
 * the toolkit, the libraries whose output ends up in shards, and the degradation registry with each type's
 * rendering version. Two runs with equal records render the same params to the same bytes.
 */
export interface SoftwareVersions {
  uirgen: string;
  node: string;
  sharp: string;
  vips: string;
  'better-sqlite3': string;
  /** registryVersion(): a digest of every type's id, rendering version and level ids. */
  registry: string;
  types: Record<TypeId, number>;
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

export function softwareVersions(): SoftwareVersions {
  return {
    uirgen: TOOLKIT_VERSION,
    node: process.versions.node,
    sharp: sharp.versions.sharp,
    vips: sharp.versions.vips,
    'better-sqlite3': packageVersion('better-sqlite3'),
    registry: registryVersion(),
    types: typeVersions(),
  };
}
