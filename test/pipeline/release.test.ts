import Database from 'better-sqlite3';
import { cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jsonld from 'jsonld';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { getDegradation } from '../../src/degradations/registry.js';
import { dataFiles, sizeCategory } from '../../src/pipeline/card.js';
import { parseSums } from '../../src/pipeline/checksums.js';
import { CROISSANT_CONFORMS_TO } from '../../src/pipeline/croissant.js';
import { importPairs } from '../../src/pipeline/import.js';
import { parseLock, RELEASE_LOCK_FILE } from '../../src/pipeline/lock.js';
import { Manifest } from '../../src/pipeline/manifest.js';
import { release, ReleaseRefusal } from '../../src/pipeline/release.js';
import { rebuildFromRelease } from '../../src/pipeline/rebuild.js';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { verifyDataset } from '../../src/pipeline/verify.js';
import { copyDataset, makeRelease, query, scratch, smallRecipe, sql } from '../support/release.js';
import { SAMPLES_DIR } from '../support/samples.js';

const tmp = scratch('release');
let ds: string;

beforeAll(async () => {
  ds = await makeRelease(tmp('base'));
}, 120_000);

/** Front matter and body of a Markdown file with YAML front matter. */
function splitCard(text: string): { front: Record<string, unknown>; body: string } {
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
  expect(m, 'the card starts with a --- YAML block ---').not.toBeNull();
  return { front: parseYaml((m as RegExpExecArray)[1]) as Record<string, unknown>, body: (m as RegExpExecArray)[2] };
}

describe('release: the lock', () => {
  it('records versions, recipe, seed, every source and every shard', () => {
    const lock = parseLock(readFileSync(join(ds, RELEASE_LOCK_FILE), 'utf8'));
    expect(lock).toMatchObject({ name: 'Test UIR', version: '1.2.3', license: 'cc-by-4.0', seed: 'release-test' });
    expect(lock.toolkit.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(lock.toolkit.git_commit === null || /^[0-9a-f]{40}$/.test(lock.toolkit.git_commit)).toBe(true);
    expect(lock.software.node).toBe(process.versions.node);
    expect(lock.software.sharp).toMatch(/^\d+\.\d+\.\d+/);
    expect(lock.software.vips).toMatch(/^\d+\.\d+\.\d+/);
    expect(lock.software['better-sqlite3']).toMatch(/^\d+\.\d+\.\d+/);
    expect(lock.software.registry).toMatch(/^[0-9a-f]{16}$/);
    expect(lock.software.types.MB).toBe(getDegradation('MB').version);
    expect(lock.recipe).toEqual(smallRecipe());
    const sources = query<{ path: string; sha256: string }>(ds, 'SELECT path, sha256 FROM sources ORDER BY sha256');
    expect(lock.sources.map((s) => [s.path, s.sha256])).toEqual(sources.map((s) => [s.path, s.sha256]));
    for (const s of lock.sources) expect(s.bytes).toBe(statSync(join(SAMPLES_DIR, s.path)).size);
    const shards = query<{ name: string; samples: number; bytes: number; sha256: string }>(ds, 'SELECT name, samples, bytes, sha256 FROM shards ORDER BY name');
    expect(lock.shards.map(({ rows_sha256: _r, ...s }) => s)).toEqual(shards);
    expect(lock.shards.every((s) => /^[0-9a-f]{64}$/.test(s.rows_sha256))).toBe(true);
    expect(lock.counts).toMatchObject({ samples: 40, synthetic: 40, real: 0, sources: 5, by_type: { GN: 10, MB: 10, J: 10, H: 10 } });
  });

  it('SHA256SUMS lists every shard, the manifest, the recipe and the lock', () => {
    const sums = parseSums(readFileSync(join(ds, 'SHA256SUMS'), 'utf8'));
    expect(sums.problems).toEqual([]);
    expect([...sums.entries.keys()]).toEqual([
      'manifest.sqlite', 'recipe.json', 'release.lock.json', 'shards/uir-000000.tar', 'shards/uir-000001.tar', 'shards/uir-000002.tar', 'shards/uir-000003.tar',
    ]);
  });
});

describe('release: the dataset card', () => {
  it('parses as YAML front matter with the Hub fields, plus Markdown', () => {
    const { front, body } = splitCard(readFileSync(join(ds, 'README.md'), 'utf8'));
    expect(front).toMatchObject({
      pretty_name: 'Test UIR',
      license: 'cc-by-4.0',
      task_categories: ['image-to-image'],
      size_categories: ['n<1K'],
    });
    expect(front.tags).toEqual(expect.arrayContaining(['image-restoration', 'webdataset', 'synthetic', 'degradation-GN', 'degradation-H']));
    const configs = front.configs as { config_name: string; data_files: { split: string; path: string[] }[] }[];
    expect(configs[0].config_name).toBe('default');
    const listed = configs[0].data_files.flatMap((f) => f.path).sort();
    expect(listed).toEqual(['shards/uir-000000.tar', 'shards/uir-000001.tar', 'shards/uir-000002.tar', 'shards/uir-000003.tar']);
    for (const f of configs[0].data_files) {
      const splits = new Set(f.path.flatMap((p) => query<{ split: string }>(ds, `SELECT DISTINCT split FROM samples WHERE shard = '${p.slice(7)}'`).map((r) => r.split)));
      // A split's files hold only that split; `mixed` is for shards holding several.
      if (f.split === 'mixed') expect(splits.size).toBeGreaterThan(1);
      else expect([...splits]).toEqual([f.split]);
    }
    for (const heading of ['## Motivation', '## Composition', '### Splits', '### Samples per type and level', '### Sources and their licences', '## How it was made', '## How to load it', '## How to verify it', '## How to rebuild it', '## Maintenance']) {
      expect(body).toContain(heading);
    }
    expect(body).toContain('import webdataset as wds');
    expect(body).toContain('import json, tarfile');
    expect(body).toContain('sha256sum -c SHA256SUMS');
    expect(body).toContain('uirgen synthesize --from-release release.lock.json');
    expect(body).toContain(getDegradation('H').method);
    expect(body).toMatch(/\*\*MB, .*\(rendering version 1\)/);
    // The licences as found beside the sources.
    expect(body).toContain('From LICENSES.md in the source folder');
    // The type x level table: one row per (type, level), counts adding up.
    const rows = [...body.matchAll(/^\| (GN|MB|J|H) \| (\d+) \| `([^`]+)` \| (\d+) \|$/gm)];
    expect(rows.reduce((n, r) => n + Number(r[4]), 0)).toBe(40);
  });

  it('puts shards of one split under that split and the others under mixed', () => {
    expect(dataFiles(new Map<string, Record<string, number>>([['a.tar', { val: 3 }], ['b.tar', { train: 2, test: 1 }], ['c.tar', { train: 5 }]]))).toEqual([
      { split: 'train', path: ['shards/c.tar'] },
      { split: 'val', path: ['shards/a.tar'] },
      { split: 'mixed', path: ['shards/b.tar'] },
    ]);
    expect([999, 1000, 2_500_000].map(sizeCategory)).toEqual(['n<1K', '1K<n<10K', '1M<n<10M']);
  });
});

describe('release: croissant.json', () => {
  it('is valid JSON-LD conforming to Croissant 1.0, with the shards, their sha256 and the sample fields', async () => {
    const doc = JSON.parse(readFileSync(join(ds, 'croissant.json'), 'utf8')) as Record<string, unknown>;
    expect(doc.conformsTo).toBe(CROISSANT_CONFORMS_TO);
    // Expansion resolves every term through the inline context; a remote context would be an error here.
    const expanded = await jsonld.expand(doc as jsonld.JsonLdDocument, {
      documentLoader: (url: string) => Promise.reject(new Error(`no network: ${url}`)),
    });
    expect(expanded).toHaveLength(1);
    const root = expanded[0] as Record<string, unknown>;
    expect(root['@type']).toEqual(['https://schema.org/Dataset']);
    expect(root['http://purl.org/dc/terms/conformsTo']).toEqual([expect.objectContaining({ '@value': 'http://mlcommons.org/croissant/1.0' })]);
    const distribution = root['https://schema.org/distribution'] as Record<string, unknown>[];
    const files = distribution.filter((d) => (d['@type'] as string[])[0] === 'http://mlcommons.org/croissant/FileObject');
    const lock = parseLock(readFileSync(join(ds, RELEASE_LOCK_FILE), 'utf8'));
    for (const s of lock.shards) {
      const f = files.find((x) => x['@id'] === `shards/${s.name}`);
      expect(f, s.name).toBeDefined();
      expect((f as Record<string, unknown>)['https://schema.org/sha256']).toEqual([expect.objectContaining({ '@value': s.sha256 })]);
    }
    const sets = distribution.filter((d) => (d['@type'] as string[])[0] === 'http://mlcommons.org/croissant/FileSet').map((d) => d['@id']);
    expect(sets).toEqual(expect.arrayContaining(['lq-images', 'gt-images', 'sample-json']));
    const recordSets = root['http://mlcommons.org/croissant/recordSet'] as Record<string, unknown>[];
    const samples = recordSets.find((r) => r['@id'] === 'samples') as Record<string, unknown>;
    const fields = (samples['http://mlcommons.org/croissant/field'] as Record<string, unknown>[]).map((f) => (f['https://schema.org/name'] as { '@value': string }[])[0]['@value']);
    expect(fields).toEqual(expect.arrayContaining(['lq', 'gt', 'json', 'type', 'level', 'split']));
    const splits = recordSets.find((r) => r['@id'] === 'splits') as Record<string, unknown>;
    const present = new Database(join(ds, 'manifest.sqlite'), { readonly: true });
    const names = present.prepare('SELECT DISTINCT split FROM samples ORDER BY split').pluck().all() as string[];
    present.close();
    expect(names.length).toBeGreaterThan(1);
    expect(splits['http://mlcommons.org/croissant/data']).toEqual([{ '@type': '@json', '@value': names.map((n) => ({ 'splits/name': n })) }]);
  });
});

describe('release: refuses an incomplete dataset, saying what is missing', () => {
  const copy = (name: string): string => copyDataset(ds, join(tmp(name), 'ds'));
  const refused = (d: string): Promise<string> =>
    release(d, { name: 'x', workers: 2 }).then(
      () => 'released',
      (e: unknown) => {
        expect(e).toBeInstanceOf(ReleaseRefusal);
        return (e as Error).message;
      },
    );

  it('a run that never finished (running or interrupted)', async () => {
    const d = copy('unfinished');
    sql(d, 'UPDATE runs SET finished = NULL');
    expect(await refused(d)).toMatch(/run 1 \(started .*\) never finished: a synthesize is still running or was interrupted/);
  });

  it('half-written shards, planned shards not made, shard files missing', async () => {
    const d = copy('partial');
    writeFileSync(join(d, 'shards', 'uir-000003.tar.partial'), 'x');
    expect(await refused(d)).toMatch(/half-written shards in shards\/: uir-000003\.tar\.partial/);
    const e = copy('planned');
    const m = Manifest.open(join(e, 'manifest.sqlite'));
    m.dropShard('uir-000002.tar');
    m.close();
    rmSync(join(e, 'shards', 'uir-000002.tar'));
    expect(await refused(e)).toMatch(/1 of 4 planned shards are not made: uir-000002\.tar/);
    const f = copy('gone');
    rmSync(join(f, 'shards', 'uir-000001.tar'));
    expect(await refused(f)).toMatch(/shards listed in the manifest are missing from shards\/: uir-000001\.tar/);
  });

  it('one part of a partitioned run', async () => {
    const d = join(tmp('part'), 'ds');
    await synthesize({ recipe: smallRecipe(), out: d, workers: 2, shardIndex: 0, shardCount: 2 });
    expect(await refused(d)).toMatch(/2 of 4 planned shards are not made: uir-000001\.tar, uir-000003\.tar/);
  }, 60_000);

  it('a dataset that does not check out', async () => {
    const d = copy('damaged');
    const p = join(d, 'shards', 'uir-000000.tar');
    const bytes = readFileSync(p);
    bytes[5000] ^= 1;
    writeFileSync(p, bytes);
    expect(await refused(d)).toMatch(/does not check out \(\d+ problem\(s\)\).*\n.*shards\/uir-000000\.tar/);
  });
});

describe('release: a dataset of imported pairs only', () => {
  it('is released without a recipe, verifies, and is refused by --from-release', async () => {
    const dir = tmp('imported');
    const [lq, gt, d] = ['lq', 'gt', 'ds'].map((n) => join(dir, n));
    for (const f of [lq, gt]) cpSync(SAMPLES_DIR, f, { recursive: true, filter: (p) => !p.endsWith('.md') });
    await importPairs({ type: 'RS', lqDir: lq, gtDir: gt, out: d, real: true });
    await release(d, { name: 'Imported', workers: 2 });
    const lock = parseLock(readFileSync(join(d, RELEASE_LOCK_FILE), 'utf8'));
    expect(lock).toMatchObject({ recipe: null, seed: null, counts: { real: 5, synthetic: 0 } });
    expect([...parseSums(readFileSync(join(d, 'SHA256SUMS'), 'utf8')).entries.keys()]).not.toContain('recipe.json');
    expect(splitCard(readFileSync(join(d, 'README.md'), 'utf8')).body).toContain('No recipe: every pair was imported');
    const r = await verifyDataset(d, { workers: 2, regenerate: 2 });
    expect(r.problems).toEqual([]);
    expect(r.notes.join('\n')).toMatch(/nothing to regenerate: every sample was imported/);
    await expect(rebuildFromRelease({ lock: join(d, RELEASE_LOCK_FILE), sources: [gt], out: join(dir, 'again') })).rejects.toThrow(/5 of its samples are real pairs added by `uirgen import`/);
  }, 60_000);
});
