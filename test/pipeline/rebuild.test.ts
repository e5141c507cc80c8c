import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getDegradation } from '../../src/degradations/registry.js';
import { RELEASE_LOCK_FILE } from '../../src/pipeline/lock.js';
import { rebuildFromRelease, RebuildRefusal } from '../../src/pipeline/rebuild.js';
import { RecipeError } from '../../src/pipeline/recipe.js';
import { makeRelease, query, scratch } from '../support/release.js';
import { samplePaths, SAMPLES_DIR } from '../support/samples.js';
import { shardBytes } from '../support/webdataset.js';

const tmp = scratch('rebuild');
let ds: string;

beforeAll(async () => {
  ds = await makeRelease(tmp('base'));
}, 120_000);

const ROWS = 'SELECT * FROM samples ORDER BY key';

describe('synthesize --from-release', () => {
  it('rebuilds byte-identical shards and identical manifest rows from the lock and a copy of the sources', async () => {
    const sources = join(tmp('sources'), 'photos');
    cpSync(SAMPLES_DIR, sources, { recursive: true });
    const out = join(tmp('out'), 'ds2');
    const s = await rebuildFromRelease({ lock: join(ds, RELEASE_LOCK_FILE), sources: [sources], out, workers: 2 });
    expect(s.differing).toEqual([]);
    expect(s.identical).toBe(4);
    expect(shardBytes(out)).toEqual(shardBytes(ds));
    expect(query(out, ROWS)).toEqual(query(ds, ROWS));
    expect(query(out, 'SELECT * FROM shards ORDER BY name')).toEqual(query(ds, 'SELECT * FROM shards ORDER BY name'));
  }, 60_000);

  it('refuses when a source file is missing or lies under another path', async () => {
    const sources = join(tmp('fewer'), 'photos');
    cpSync(SAMPLES_DIR, sources, { recursive: true });
    const name = samplePaths()[1].split('/').pop() as string;
    rmSync(join(sources, name));
    const err = await rebuildFromRelease({ lock: join(ds, RELEASE_LOCK_FILE), sources: [sources], out: join(tmp('o1'), 'ds'), workers: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecipeError);
    expect((err as Error).message).toMatch(new RegExp(`1 of the release's 5 source files are not among the usable images found \\(by content\\): ${name.replace('.', '\\.')}`));

    const moved = join(tmp('moved'), 'photos');
    cpSync(SAMPLES_DIR, moved, { recursive: true });
    mkdirSync(join(moved, 'sub'));
    renameSync(join(moved, name), join(moved, 'sub', name));
    const err2 = await rebuildFromRelease({ lock: join(ds, RELEASE_LOCK_FILE), sources: [moved], out: join(tmp('o2'), 'ds'), workers: 2 }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(new RegExp(`under another path than in the release.*${name.replace('.', '\\.')} is at sub/${name.replace('.', '\\.')} here`));
  }, 60_000);

  it('refuses when this uirgen would render other bytes (libvips, a type version), saying what to install', async () => {
    const lock = JSON.parse(readFileSync(join(ds, RELEASE_LOCK_FILE), 'utf8')) as { software: { vips: string; types: Record<string, number> } };
    lock.software.vips = '8.1.0';
    const j = getDegradation('J').version;
    lock.software.types.J = j + 1;
    const path = join(tmp('lock'), RELEASE_LOCK_FILE);
    writeFileSync(path, JSON.stringify(lock));
    const err = await rebuildFromRelease({ lock: path, sources: [SAMPLES_DIR], out: join(tmp('o3'), 'ds'), workers: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RebuildRefusal);
    expect((err as Error).message).toMatch(/libvips 8\.1\.0 made the release, sharp [\d.]+ here uses libvips [\d.]+ .*reinstall sharp@/);
    expect((err as Error).message).toMatch(new RegExp(`params made by J version ${j + 1}, but this uirgen renders J version ${j}`));
    const bad = join(tmp('badlock'), RELEASE_LOCK_FILE);
    writeFileSync(bad, '{"format": "uirgen-release-lock", "format_version": 9}');
    await expect(rebuildFromRelease({ lock: bad, sources: [SAMPLES_DIR], out: join(tmp('o4'), 'ds') })).rejects.toThrow(/not a usable release lock: format_version 9/);
  });
});
