import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toUint8 } from '../../src/core/image.js';
import { createRng, deriveSeed } from '../../src/core/random.js';
import {
  checkReplayVersion,
  listDegradations,
  registryVersion,
  ReplayVersionError,
  typeVersions,
} from '../../src/degradations/registry.js';
import type { Degradation } from '../../src/degradations/types.js';
import { sampleCrops } from '../support/samples.js';

/**
 * The contract behind type versions: the same params never give other bytes under the same version. A
 * digest of what each type renders (mildest, middle and harshest level, two photos) is recorded per
 * `TYPE@version`; a change in rendering without a version bump fails here. After bumping a version, record
 * the new digests with UPDATE_RENDER_DIGESTS=1.
 */
const DIGESTS = new URL('./render-digests.json', import.meta.url);
const update = process.env.UPDATE_RENDER_DIGESTS === '1';

async function renderDigest(d: Degradation): Promise<string> {
  const crops = (await sampleCrops(48)).slice(0, 2);
  const hash = createHash('sha256');
  const last = d.levels.length - 1;
  for (const level of [0, last >> 1, last]) {
    for (const [i, crop] of crops.entries()) {
      const params = d.sample(level, createRng(deriveSeed('render-digest', d.id, level, i)), { width: 48, height: 48 });
      hash.update(JSON.stringify(params));
      hash.update(toUint8(await d.apply(crop, params)));
    }
  }
  return hash.digest('hex');
}

describe('type versions', () => {
  it('every type has an integer version >= 1, and the registry version is a digest of them', () => {
    for (const d of listDegradations()) expect(Number.isInteger(d.version) && d.version >= 1, d.id).toBe(true);
    expect(Object.keys(typeVersions())).toHaveLength(19);
    expect(registryVersion()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('renders what its version rendered when its digest was recorded (bump the version when it changes)', async () => {
    const recorded = JSON.parse(readFileSync(DIGESTS, 'utf8')) as Record<string, string>;
    const now: Record<string, string> = {};
    for (const d of listDegradations()) now[`${d.id}@${d.version}`] = await renderDigest(d);
    if (update) {
      writeFileSync(DIGESTS, `${JSON.stringify(now, null, 2)}\n`);
      return;
    }
    for (const [key, digest] of Object.entries(now)) {
      expect(recorded[key], `${key}: no recorded digest; if you bumped this version, run with UPDATE_RENDER_DIGESTS=1`).toBeDefined();
      expect(digest, `${key} renders other bytes than that version did: bump its version (and its composites')`).toBe(recorded[key]);
    }
  });

  it('refuses params of another version, naming both; unversioned params count as version 1', () => {
    const [d] = listDegradations();
    expect(() => checkReplayVersion(d, d.version, 'p.json')).not.toThrow();
    expect(() => checkReplayVersion(d, d.version + 1, 'p.json')).toThrow(ReplayVersionError);
    expect(() => checkReplayVersion(d, d.version + 1, 'p.json')).toThrow(
      new RegExp(`p\\.json: params made by ${d.id} version ${d.version + 1}, but this uirgen renders ${d.id} version ${d.version}`),
    );
    if (d.version === 1) expect(() => checkReplayVersion(d, undefined, 'p.json')).not.toThrow();
    else expect(() => checkReplayVersion(d, undefined, 'p.json')).toThrow(ReplayVersionError);
  });
});
