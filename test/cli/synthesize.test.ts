import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeRecipe } from '../../src/pipeline/recipe.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { shardBytes } from '../support/webdataset.js';
import { ended, runCli, startCli } from '../support/cli.js';

const start = startCli;
const run = runCli;
const made: string[] = [];
const tmp = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `uirgen-cli-synth-${name}-`));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const SMALL = ['--crop', '64', '--types', 'GN,J', '--seed', 'cli', '--workers', '2'];

describe('uirgen synthesize (CLI)', () => {
  it('--json prints the summary; progress goes to stderr as plain lines when not a terminal', async () => {
    const out = tmp('json');
    const r = await run(['synthesize', '--sources', SAMPLES_DIR, '--out', out, '--per-source', '4', '--shard-samples', '5', ...SMALL, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['samples', 'shards', 'errors', 'sources', 'seconds', 'pairs_per_s', 'out']) expect(s).toHaveProperty(k);
    expect(s).toMatchObject({ samples: 20, shards: 4, errors: 0, sources: 5, out });
    expect(r.stderr).toMatch(/synthesize: 20\/20 samples \(100\.0%\), [\d.]+\/s, ETA 0s, 0 errors/);
    expect(r.stderr).not.toMatch(/\r|\x1b\[/);
    const saved = JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toEqual(normalizeRecipe({ sources: [SAMPLES_DIR], per_source: 4, shard_samples: 5, crop: 64, types: ['GN', 'J'], seed: 'cli' }));
  });

  it('--recipe: the recipe file decides, options override it; prints a human summary without --json', async () => {
    const dir = tmp('recipe');
    const recipePath = join(dir, 'r.json');
    writeFileSync(recipePath, JSON.stringify({ sources: [SAMPLES_DIR], crop: 64, samples: 12, types: { GN: 2, J: 1 }, shard_samples: 4, seed: 'r', prefix: 'mini' }));
    const out = join(dir, 'ds');
    const r = await run(['synthesize', '--recipe', recipePath, '--out', out, '--samples', '9', '--workers', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/made 9 samples in [\d.]+ s/);
    expect(r.stdout).toMatch(/9 samples, 3 shards, 5 sources, 0 errors/);
    expect(readdirSync(join(out, 'shards')).sort()).toEqual(['mini-000000.tar', 'mini-000001.tar', 'mini-000002.tar']);
    expect(JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8'))).toMatchObject({ samples: 9, types: { GN: { weight: 2 }, J: { weight: 1 } } });
  });

  it.each([
    [['--samples', '5', '--per-source', '2'], /--samples or --per-source, not both/],
    [['--shard-index', '1'], /--shard-index and --shard-count go together/],
    [['--shard-index', '3', '--shard-count', '3'], /--shard-index must be an integer 0..2/],
    [['--types', 'GN,XX'], /unknown type "XX"/],
    [['--crop', '0'], /--crop must be an integer 8..8192/],
    [['--workers', 'many'], /--workers must be an integer/],
  ])('usage error %j exits 2 with a message', async (extra, message) => {
    const r = await run(['synthesize', '--sources', SAMPLES_DIR, '--out', join(tmp('usage'), 'ds'), ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 with a clear message when no source is usable or a folder is missing', async () => {
    const dir = tmp('nosrc');
    const src = join(dir, 'photos');
    mkdirSync(src);
    writeFileSync(join(src, 'broken.jpg'), 'not a jpeg');
    const r = await run(['synthesize', '--sources', src, '--out', join(dir, 'ds'), ...SMALL]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/uirgen: no usable source image in .*photos: 1 image file\(s\) found, none usable at crop 64/);
    const missing = await run(['synthesize', '--sources', join(dir, 'nope'), '--out', join(dir, 'ds2'), ...SMALL]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/source folder .*nope does not exist/);
    const unwritable = await run(['synthesize', '--sources', SAMPLES_DIR, '--out', join(src, 'broken.jpg', 'ds'), ...SMALL]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot create the output folder .*broken.jpg\/ds: ENOTDIR/);
  });

  it('Ctrl-C (SIGINT) stops cleanly with exit 130; the same command then finishes the identical dataset', async () => {
    const args = (out: string): string[] => ['synthesize', '--sources', SAMPLES_DIR, '--out', out, '--samples', '80', '--shard-samples', '8', ...SMALL, '--json'];
    const reference = tmp('ref');
    expect((await run(args(reference))).code).toBe(0);

    const out = tmp('sigint');
    const child = start(args(out));
    const done = ended(child);
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited) {
      const dir = join(out, 'shards');
      if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.tar'))) {
        child.kill('SIGINT');
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted; run the same command again to resume/);
    expect(readdirSync(join(out, 'shards')).filter((f) => f.endsWith('.partial'))).toEqual([]);
    // The manifest was closed (checkpointed back into one file).
    expect(existsSync(join(out, 'manifest.sqlite-wal'))).toBe(false);
    const again = await run(args(out));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ samples: 80, shards: 10 });
    expect(shardBytes(out)).toEqual(shardBytes(reference));
  });
});

describe('uirgen merge (CLI)', () => {
  it('joins partitioned runs; an incomplete merge exits 1 unless --allow-partial', async () => {
    const base = ['--sources', SAMPLES_DIR, '--samples', '24', '--shard-samples', '6', ...SMALL];
    const parts = [tmp('p0'), tmp('p1')];
    for (const [i, p] of parts.entries()) {
      const r = await run(['synthesize', ...base, '--out', p, '--shard-index', String(i), '--shard-count', '2']);
      expect(r.code).toBe(0);
    }
    const partial = await run(['merge', join(tmp('m1'), 'ds'), parts[0]]);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toMatch(/2 of 4 planned shards are in no part: uir-000001.tar, uir-000003.tar/);
    const allowed = await run(['merge', join(tmp('m2'), 'ds'), parts[0], '--allow-partial']);
    expect(allowed.code).toBe(0);
    const out = join(tmp('m3'), 'ds');
    const full = await run(['merge', out, ...parts, '--json']);
    expect(full.code).toBe(0);
    expect(JSON.parse(full.stdout)).toMatchObject({ samples: 24, shards: 4, merged_shards: 4, missing: [] });
  });
});
