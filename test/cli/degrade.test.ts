import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { samplePaths } from '../support/samples.js';
import { decodeImage } from '../../src/core/io.js';
import { writeDepthMap } from '../support/depth.js';
import { pngBomb, tempDir } from '../support/files.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const dir = tempDir();
const photo = samplePaths().find((p) => p.endsWith('chelsea.png')) as string;

function uirgen(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('uirgen degradations', () => {
  it('--json lists 19 types and at least 200 levels with ids and settings', () => {
    const r = uirgen('degradations', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { types: { id: string; levels: { id: string; settings: object }[] }[]; total_levels: number };
    expect(out.types).toHaveLength(19);
    expect(out.total_levels).toBeGreaterThanOrEqual(200);
    expect(out.types[0].levels[0].id).toMatch(/^[a-z0-9-]+:/);
  });
  it('prints a readable table', () => {
    const r = uirgen('degradations');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^GN /m);
    expect(r.stdout).toMatch(/19 types, \d+ levels/);
  });
});

describe('uirgen degrade', () => {
  it('writes a PNG and params that replay to identical bytes', () => {
    const a = join(dir, 'a.png');
    const b = join(dir, 'b.png');
    const p = join(dir, 'p.json');
    let r = uirgen('degrade', photo, '-t', 'GN', '-l', 'gaussian:25', '--seed', '7', '-o', a, '--params-out', p);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(readFileSync(p, 'utf8')) as { type: string; level_id: string; params: object };
    expect(record.type).toBe('GN');
    expect(record.level_id).toBe('gaussian:25');
    r = uirgen('degrade', photo, '-t', 'GN', '--params', p, '-o', b);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('records the type version and refuses to replay params of another version, naming both', () => {
    const p = join(dir, 'v.json');
    expect(uirgen('degrade', photo, '-t', 'GN', '--seed', '3', '-o', join(dir, 'v.png'), '--params-out', p).code).toBe(0);
    const record = JSON.parse(readFileSync(p, 'utf8')) as { type_version: number };
    expect(Number.isInteger(record.type_version)).toBe(true);
    const other = record.type_version + 1;
    writeFileSync(p, JSON.stringify({ ...record, type_version: other }));
    const r = uirgen('degrade', photo, '-t', 'GN', '--params', p, '-o', join(dir, 'v2.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`GN version ${other}`);
    expect(r.stderr).toContain(`GN version ${record.type_version}`);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const outs = ['1', '1', '2'].map((seed, i) => {
      const o = join(dir, `s${i}.png`);
      expect(uirgen('degrade', photo, '-t', 'RS', '--seed', seed, '-o', o).code).toBe(0);
      return readFileSync(o);
    });
    expect(outs[0].equals(outs[1])).toBe(true);
    expect(outs[0].equals(outs[2])).toBe(false);
  });

  it('--json reports what was made', () => {
    const r = uirgen('degrade', photo, '-t', 'J', '-l', '0', '-o', join(dir, 'j.png'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { type: string; width: number; height: number };
    expect([out.type, out.width, out.height]).toEqual(['J', 451, 300]);
  });

  it.each([
    ['missing input', ['nope.png'], 1, /nope\.png: file not found/],
    ['not an image', ['__text__'], 1, /not a readable image/],
    ['pixel bomb', ['__bomb__'], 1, /pixel limit/],
  ])('%s: exit %d with a message naming the file', (_name, [input], code, message) => {
    const text = join(dir, 'text.png');
    const bomb = join(dir, 'bomb.png');
    writeFileSync(text, 'not a picture');
    writeFileSync(bomb, pngBomb());
    const path = input === '__text__' ? text : input === '__bomb__' ? bomb : join(dir, input);
    const r = uirgen('degrade', path, '-t', 'GN', '-o', join(dir, 'x.png'));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(path);
  });

  it.each([
    ['unknown type', ['-t', 'XX'], /unknown degradation type "XX"/],
    ['bad level', ['-t', 'GN', '-l', '999'], /GN has levels 0\.\./],
    ['non-png output', ['-t', 'GN', '-o', 'out.jpg'], /must be a \.png/],
    ['missing type', [], /required option '-t, --type/],
  ])('%s: usage error, exit 2', (_name, args, message) => {
    const all = args.includes('-o') ? args : [...args, '-o', join(dir, 'u.png')];
    const r = uirgen('degrade', photo, ...all);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('uirgen degrade --depth', () => {
  // chelsea.png is 451x300; the map is written at half that size (same aspect) and resized to it
  const map = join(dir, 'chelsea-depth.png');
  writeDepthMap(map, 226, 150, (x) => 1 - x / 225); // inverse depth: the left side near, the right far
  const sha = createHash('sha256').update(readFileSync(map)).digest('hex');
  const meanRed = async (path: string, x0: number, x1: number) => {
    const im = await decodeImage(path);
    let s = 0;
    let n = 0;
    for (let y = 0; y < im.height; y++) for (let x = x0; x < x1; x++) [s, n] = [s + im.data[(y * im.width + x) * 3], n + 1];
    return s / n;
  };

  it('uses the map instead of the estimate and records it in the params; replay needs the same map', async () => {
    const withMap = join(dir, 'hm.png');
    const params = join(dir, 'hm.json');
    let r = uirgen('degrade', photo, '-t', 'H', '-l', 'beta:1.8', '--seed', '2', '--depth', map, '-o', withMap, '--params-out', params);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(readFileSync(params, 'utf8')) as { params: { depth: unknown } };
    expect(record.params.depth).toEqual({ sha256: sha, kind: 'inverse' });
    const estimate = join(dir, 'he.png');
    r = uirgen('degrade', photo, '-t', 'H', '-l', 'beta:1.8', '--seed', '2', '-o', estimate, '--params-out', join(dir, 'he.json'));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'he.json'), 'utf8')).params.depth).toBe('estimate');
    expect(readFileSync(withMap).equals(readFileSync(estimate))).toBe(false);
    // the far (right) side is hazier, i.e. brighter over this dark-ish photo, than the near (left) side
    const clean = { left: await meanRed(photo, 0, 60), right: await meanRed(photo, 391, 451) };
    const hazy = { left: await meanRed(withMap, 0, 60), right: await meanRed(withMap, 391, 451) };
    expect(hazy.right - clean.right).toBeGreaterThan(hazy.left - clean.left + 0.1);
    // a replay without the map is refused, naming it; with it, the bytes are the same
    r = uirgen('degrade', photo, '-t', 'H', '--params', params, '-o', join(dir, 'hr.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(sha.slice(0, 12));
    expect(r.stderr).toContain('--depth');
    r = uirgen('degrade', photo, '-t', 'H', '--params', params, '--depth', map, '-o', join(dir, 'hr.png'));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'hr.png')).equals(readFileSync(withMap))).toBe(true);
  });

  it('--depth-kind depth reads larger values as farther; composites pass the map to their stages', () => {
    const p = join(dir, 'kd.json');
    let r = uirgen('degrade', photo, '-t', 'LHRS', '-l', 'haze-snow:2', '--depth', map, '--depth-kind', 'depth', '-o', join(dir, 'kd.png'), '--params-out', p);
    expect(r.code, r.stderr).toBe(0);
    const stages = (JSON.parse(readFileSync(p, 'utf8')) as { params: { stages: { params: { depth?: unknown } }[] } }).params.stages;
    for (const s of stages) expect(s.params.depth).toEqual({ sha256: sha, kind: 'depth' });
    r = uirgen('degrade', photo, '-t', 'H', '--depth-kind', 'depth', '-o', join(dir, 'x.png'));
    expect(r.code).toBe(2);
    r = uirgen('degrade', photo, '-t', 'H', '--depth', photo, '-o', join(dir, 'x.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/greyscale/);
  });
});
