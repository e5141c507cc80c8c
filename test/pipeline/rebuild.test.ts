import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { getDegradation } from '../../src/degradations/registry.js';
import { RELEASE_LOCK_FILE } from '../../src/pipeline/lock.js';
import { rebuildFromRelease, RebuildRefusal } from '../../src/pipeline/rebuild.js';
import { RecipeError } from '../../src/pipeline/recipe.js';
import { release } from '../../src/pipeline/release.js';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { writeDepthMap } from '../support/depth.js';
import { makeRelease, query, scratch, smallRecipe } from '../support/release.js';
import { samplePaths, SAMPLES_DIR } from '../support/samples.js';
import { shardBytes } from '../support/webdataset.js';

const tmp = scratch('rebuild');
let ds: string;

beforeAll(async () => {
  ds = await makeRelease(tmp('base'));
}, 120_000);

const ROWS = 'SELECT * FROM samples ORDER BY key';

/** The bundled photo whose depth map is `map` (same stem). */
function firstSourceFor(map: string): string {
  const stem = map.replace(/\.png$/, '');
  return basename(samplePaths().find((p) => basename(p).replace(/\.[^.]+$/, '') === stem) as string);
}

async function sizeOf(path: string): Promise<[number, number]> {
  const meta = await sharp(path).metadata();
  return [meta.width as number, meta.height as number];
}

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

  it('rebuilds a release made with real depth maps from a copy of them (--depth), and refuses without or with others', async () => {
    const maps = tmp('maps');
    for (const path of samplePaths()) {
      const meta = await sharp(path).metadata();
      const w = meta.width as number;
      const h = meta.height as number;
      writeDepthMap(join(maps, `${basename(path).replace(/\.[^.]+$/, '')}.png`), w, h, (x, y) => 0.2 + (0.6 * (x + 2 * y)) / (w + 2 * h));
    }
    const base = join(tmp('depth-base'), 'ds');
    await synthesize({ recipe: smallRecipe(SAMPLES_DIR, { types: ['H', 'S'], samples: 20, depth: maps }), out: base, workers: 2 });
    await release(base, { name: 'Depth UIR', version: '1.0.0', license: 'cc-by-4.0', workers: 2, sources: [SAMPLES_DIR] });
    const lock = join(base, RELEASE_LOCK_FILE);
    // Another machine: the maps in another folder.
    const copy = join(tmp('maps-copy'), 'depth');
    cpSync(maps, copy, { recursive: true });
    rmSync(maps, { recursive: true });
    const out = join(tmp('depth-out'), 'ds');
    const s = await rebuildFromRelease({ lock, sources: [SAMPLES_DIR], depth: copy, out, workers: 2 });
    expect(s.differing).toEqual([]);
    expect(s.identical).toBe(2);
    expect(shardBytes(out)).toEqual(shardBytes(base));
    expect(query(out, ROWS)).toEqual(query(base, ROWS));

    const none = await rebuildFromRelease({ lock, sources: [SAMPLES_DIR], out: join(tmp('depth-none'), 'ds') }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(RebuildRefusal);
    expect((none as Error).message).toMatch(/rendered with real depth maps \(inverse, from .*\); give --depth DIR/);
    const extra = await rebuildFromRelease({ lock: join(ds, RELEASE_LOCK_FILE), sources: [SAMPLES_DIR], depth: copy, out: join(tmp('depth-extra'), 'ds') }).catch((e: unknown) => e);
    expect((extra as Error).message).toMatch(/estimated depth from each crop; drop --depth/);
    // One map changed: the plan is not the release's, and the message points at --depth.
    const first = readdirSync(copy).sort()[0];
    writeDepthMap(join(copy, first), ...(await sizeOf(join(SAMPLES_DIR, firstSourceFor(first)))), () => 0.5);
    const changed = await rebuildFromRelease({ lock, sources: [SAMPLES_DIR], depth: copy, out: join(tmp('depth-changed'), 'ds') }).catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(RecipeError);
    expect((changed as Error).message).toMatch(/is not the release's .*are the maps in --depth the release's\?/);
  }, 120_000);

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
