import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from '../../src/core/random.js';
import { getDegradation, listDegradations, resolveLevel, totalLevels } from '../../src/degradations/registry.js';
import { TYPE_IDS } from '../../src/degradations/types.js';
import { sampleCrops } from '../support/samples.js';
import { expectFallingWithinVariants, meanPsnrByVariant } from '../support/severity.js';

const bytes = (data: Float32Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

describe('registry', () => {
  it('holds the 19 UIR-2.5M types with exactly those ids, in table order', () => {
    expect(listDegradations().map((d) => d.id)).toEqual([
      'GN', 'RN', 'MB', 'DB', 'GB', 'J', 'H', 'RS', 'RD', 'RSD', 'S', 'MS', 'LL', 'MR', 'BJ', 'BR', 'BLN', 'LHRS', 'DNBJ',
    ]);
    expect(TYPE_IDS).toHaveLength(19);
  });

  it('has at least 6 levels per type and at least 200 in all', () => {
    for (const d of listDegradations()) expect(d.levels.length, d.id).toBeGreaterThanOrEqual(6);
    expect(totalLevels()).toBeGreaterThanOrEqual(200);
  });

  it('gives every level a unique variant:value id and consecutive severities within a variant', () => {
    for (const d of listDegradations()) {
      const ids = d.levels.map((l) => l.id);
      expect(new Set(ids).size, d.id).toBe(ids.length);
      const next = new Map<string, number>();
      let last = '';
      for (const l of d.levels) {
        expect(l.id.startsWith(`${l.variant}:`), `${d.id} ${l.id}`).toBe(true);
        // variants are contiguous blocks in the flat list
        if (l.variant !== last) expect(next.has(l.variant), `${d.id} variant ${l.variant} split`).toBe(false);
        expect(l.severity, `${d.id} ${l.id}`).toBe(next.get(l.variant) ?? 0);
        next.set(l.variant, l.severity + 1);
        last = l.variant;
      }
    }
  });

  it('resolves levels by index or id and rejects unknown ones with the valid range', () => {
    const gn = getDegradation('gn');
    expect(resolveLevel(gn, 0)).toBe(0);
    expect(resolveLevel(gn, gn.levels[3].id)).toBe(3);
    expect(() => resolveLevel(gn, 999)).toThrow(/levels 0\.\./);
    expect(() => resolveLevel(gn, 'nope:1')).toThrow(/no level "nope:1"/);
    expect(() => getDegradation('XX')).toThrow(/unknown degradation type "XX"/);
  });
});

describe.each(listDegradations().map((d) => [d.id, d] as const))('%s', (_id, d) => {
  it('keeps the size, stays finite, and replays recorded params bit for bit at every level', async () => {
    const [image] = await sampleCrops(64);
    const info = { width: 64, height: 64 };
    for (let level = 0; level < d.levels.length; level++) {
      const seed = deriveSeed('registry-test', d.id, level);
      const params = d.sample(level, createRng(seed), info);
      expect(d.sample(level, createRng(seed), info), `${d.levels[level].id} params`).toEqual(params);
      const out = await d.apply(image, params);
      expect([out.width, out.height]).toEqual([64, 64]);
      expect(out.data.every(Number.isFinite), d.levels[level].id).toBe(true);
      const replayed = await d.apply(image, JSON.parse(JSON.stringify(params)));
      expect(bytes(replayed.data).equals(bytes(out.data)), `${d.levels[level].id} replay`).toBe(true);
      expect(image.data.some((v, i) => v !== out.data[i]), `${d.levels[level].id} changes pixels`).toBe(true);
    }
  });

  it('gets more severe as the level rises within each variant (mean PSNR over the photos falls)', async () => {
    const byVariant = await meanPsnrByVariant(d, await sampleCrops(128), [0, 1, 2, 3], {
      // paired draws: a seed makes the same random choices at every level, so the levels differ by severity alone
      rngFor: (_level, i, s) => createRng(deriveSeed('severity', d.id, i, s)),
      cap: 60,
    });
    expectFallingWithinVariants(d.id, byVariant);
  });
});
