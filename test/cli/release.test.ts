import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../src/pipeline/synthesize.js';
import { copyDataset, scratch, smallRecipe } from '../support/release.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { shardBytes } from '../support/webdataset.js';

/** The command as a user runs it. UIRGEN_CLI may point at the built dist/cli/main.js. */
const CLI = process.env.UIRGEN_CLI ?? 'src/cli/main.ts';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const loader = CLI.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

const tmp = scratch('cli-release');
let ds: string;

beforeAll(async () => {
  ds = join(tmp('base'), 'ds');
  await synthesize({ recipe: smallRecipe(), out: ds, workers: 2 });
}, 120_000);

describe('uirgen release / verify / synthesize --from-release', () => {
  it('releases, verifies (exit 0), and rebuilds byte for byte', async () => {
    const r = await run(['release', ds, '--name', 'CLI UIR', '--version', '2.0.0', '--license', 'cc0-1.0', '--workers', '2', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/released CLI UIR 2\.0\.0: 40 samples in 4 shards/);
    expect(JSON.parse(readFileSync(join(ds, 'release.lock.json'), 'utf8'))).toMatchObject({ version: '2.0.0', license: 'cc0-1.0' });

    const v = await run(['verify', ds, '--json', '--workers', '2', '--regenerate', '4']);
    expect(v.code, v.stderr).toBe(0);
    const report = JSON.parse(v.stdout) as { ok: boolean; release: boolean; regenerated: { matched: number } };
    expect(report).toMatchObject({ ok: true, release: true, regenerated: { matched: 4 } });

    const out = join(tmp('rebuilt'), 'ds2');
    const b = await run(['synthesize', '--from-release', join(ds, 'release.lock.json'), '--sources', SAMPLES_DIR, '--out', out, '--workers', '2', '--quiet']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/all 4 shards and their manifest rows are byte-identical to the release/);
    expect(shardBytes(out)).toEqual(shardBytes(ds));
  }, 120_000);

  it('exits 1 with the problems listed when the release was tampered with', async () => {
    const d = copyDataset(ds, join(tmp('bad'), 'ds'));
    const p = join(d, 'recipe.json');
    writeFileSync(p, readFileSync(p, 'utf8').replace('"seed": "release-test"', '"seed": "other"'));
    const v = await run(['verify', d, '--quiet']);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/recipe-changed: recipe\.json differs from the recipe in release\.lock\.json \(seed: "other" here, "release-test" in the lock\)/);
    expect(v.stdout).toMatch(/FAILED: \d+ problem\(s\)/);
  }, 60_000);

  it('gives usage errors exit 2', async () => {
    expect((await run(['verify', ds, '--regenerate', '3', '--regenerate-all'])).code).toBe(2);
    expect((await run(['release', ds])).code).toBe(2);
    const r = await run(['synthesize', '--from-release', join(ds, 'release.lock.json'), '--sources', SAMPLES_DIR, '--out', join(tmp('x'), 'y'), '--seed', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--from-release takes the recipe from the lock; drop --seed/);
    // The maps' kind is the release's; only their folder is asked for (--depth).
    const k = await run(['synthesize', '--from-release', join(ds, 'release.lock.json'), '--sources', SAMPLES_DIR, '--depth', SAMPLES_DIR, '--depth-kind', 'depth', '--out', join(tmp('x'), 'z')]);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/drop --depth-kind/);
  }, 60_000);
});
