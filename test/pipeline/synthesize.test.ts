import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { groupLikeWebDataset, readTarMembers, shardBytes, shardFiles } from '../support/webdataset.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodePng } from '../../src/core/io.js';
import { psnr } from '../../src/core/metrics.js';
import { pngEncoder } from '../../src/core/png.js';
import { getDegradation } from '../../src/degradations/registry.js';
import type { Params } from '../../src/degradations/types.js';
import { normalizeRecipe, type Recipe } from '../../src/pipeline/recipe.js';
import { InterruptedError, NoSourcesError, synthesize } from '../../src/pipeline/synthesize.js';
import { createProgress, formatSeconds, type Progress } from '../../src/pipeline/progress.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { writeDepthMap } from '../support/depth.js';
import { runSystemPython } from '../support/python.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const made: string[] = [];
const tmp = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `uirgen-synth-${name}-`));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function recipe(extra: Record<string, unknown> = {}): Recipe {
  return normalizeRecipe({ sources: [SAMPLES_DIR], crop: 64, samples: 30, types: ['GN', 'GB', 'J'], shard_samples: 8, seed: 'test', ...extra });
}

function rows(ds: string, sql = 'SELECT * FROM samples ORDER BY key'): Record<string, unknown>[] {
  const db = new Database(join(ds, 'manifest.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

function readAt(path: string, offset: number, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(size);
    readSync(fd, b, 0, size, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

describe('synthesize: determinism and format', () => {
  let one: string;
  let two: string;
  let three: string;

  beforeAll(async () => {
    one = tmp('w1');
    two = tmp('w2');
    three = tmp('w3');
    await synthesize({ recipe: recipe(), out: one, workers: 1 });
    // Other scheduling too: smaller tasks and a tighter in-flight window; with 2 and 3 workers each
    // type has a home thread, so every task is split and merged again (affinity.ts).
    await synthesize({ recipe: recipe(), out: two, workers: 2, taskSamples: 3, maxInFlight: 2 });
    await synthesize({ recipe: recipe(), out: three, workers: 3, taskSamples: 7 });
  });

  it('gives byte-identical shards and identical rows with 1, 2 or 3 workers', () => {
    expect(shardFiles(one)).toEqual(['uir-000000.tar', 'uir-000001.tar', 'uir-000002.tar', 'uir-000003.tar']);
    expect(shardBytes(two)).toEqual(shardBytes(one));
    expect(shardBytes(three)).toEqual(shardBytes(one));
    const a = rows(one);
    expect(a).toHaveLength(30);
    expect(rows(two)).toEqual(a);
    expect(rows(three)).toEqual(a);
    expect(rows(two, 'SELECT * FROM shards ORDER BY name')).toEqual(rows(one, 'SELECT * FROM shards ORDER BY name'));
    expect(readFileSync(join(two, 'recipe.json'), 'utf8')).toBe(readFileSync(join(one, 'recipe.json'), 'utf8'));
  });

  it('records each sample type version (row and JSON member) and the registry in the run', async () => {
    for (const r of rows(one)) expect(r.type_version, String(r.key)).toBe(getDegradation(r.type as string).version);
    const [run] = rows(one, 'SELECT versions FROM runs');
    const versions = JSON.parse(run.versions as string) as { registry: string; types: Record<string, number>; sharp: string };
    expect(versions.registry).toMatch(/^[0-9a-f]{16}$/);
    expect(versions.types.GN).toBe(getDegradation('GN').version);
    expect(versions.sharp).toBeTruthy();
    const [first] = groupLikeWebDataset(await readTarMembers(join(one, 'shards', 'uir-000000.tar')));
    const member = JSON.parse((first.parts.json as Buffer).toString()) as { type: string; type_version: number };
    expect(member.type_version).toBe(getDegradation(member.type).version);
  });

  it('writes WebDataset shards: complete consecutive samples, JSON member, offsets and hashes that match', async () => {
    const manifest = new Map(rows(one).map((r) => [r.key as string, r]));
    let seen = 0;
    for (const file of shardFiles(one)) {
      const path = join(one, 'shards', file);
      const samples = groupLikeWebDataset(await readTarMembers(path));
      expect(new Set(samples.map((s) => s.key)).size).toBe(samples.length); // a key is never split
      for (const s of samples) {
        seen++;
        expect(Object.keys(s.parts).sort()).toEqual(['gt.png', 'json', 'lq.png']);
        const row = manifest.get(s.key);
        expect(row).toBeDefined();
        if (!row) continue;
        expect(row.shard).toBe(file);
        const meta = JSON.parse(s.parts.json.toString('utf8')) as Record<string, unknown>;
        expect(Object.keys(meta)).toEqual(['key', 'type', 'level', 'level_id', 'type_version', 'params', 'seed', 'source', 'crop', 'split']);
        expect(meta).toMatchObject({ key: s.key, type: row.type, level: row.level, level_id: row.level_id, seed: row.seed, split: row.split });
        expect(meta.crop).toEqual({ x: row.crop_x, y: row.crop_y, w: 64, h: 64 });
        expect(JSON.stringify(meta.params)).toBe(row.params);
        expect((meta.source as { path: string }).path).toMatch(/^[a-z_]+\.(png|jpg)$/);
        const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
        expect(sha(s.parts['gt.png'])).toBe(row.gt_sha256);
        expect(sha(s.parts['lq.png'])).toBe(row.lq_sha256);
        expect(readAt(path, row.offset_gt as number, s.parts['gt.png'].length)).toEqual(s.parts['gt.png']);
        expect(readAt(path, row.offset_lq as number, s.parts['lq.png'].length)).toEqual(s.parts['lq.png']);
        expect(typeof row.psnr).toBe('number');
      }
    }
    expect(seen).toBe(30);
  });

  it('stores 8-bit RGB PNGs, and lq is exactly apply(decode(gt.png), params)', async () => {
    const path = join(one, 'shards', 'uir-000001.tar');
    const samples = groupLikeWebDataset(await readTarMembers(path));
    for (const s of samples.slice(0, 3)) {
      const info = await sharp(s.parts['gt.png']).metadata();
      expect(info).toMatchObject({ width: 64, height: 64, channels: 3, depth: 'uchar', format: 'png' });
      const meta = JSON.parse(s.parts.json.toString('utf8')) as { type: string; params: Params };
      const gt = await decodeImage(s.parts['gt.png']);
      const lq = await getDegradation(meta.type).apply(gt, meta.params);
      const recipeLevel = (JSON.parse(readFileSync(join(one, 'recipe.json'), 'utf8')) as { png_level: number }).png_level;
      expect((await encodePng(lq, recipeLevel)).equals(s.parts['lq.png'])).toBe(true);
    }
  });

  it('records the PSNR of the stored pair, as metrics computes it from the two PNGs', async () => {
    const manifest = new Map(rows(one).map((r) => [r.key as string, r]));
    const samples = groupLikeWebDataset(await readTarMembers(join(one, 'shards', 'uir-000000.tar')));
    for (const s of samples) {
      const expected = psnr(await decodeImage(s.parts['lq.png']), await decodeImage(s.parts['gt.png']));
      expect(manifest.get(s.key)?.psnr).toBe(expected);
    }
  });

  it('shards read with Python tarfile decode with OpenCV to the pixels sharp decodes (where Python has them)', async () => {
    const shard = join(one, 'shards', 'uir-000001.tar');
    const script = [
      'import sys, tarfile, hashlib, json',
      'import cv2, numpy as np',
      'out = {}',
      'with tarfile.open(sys.argv[1]) as tf:',
      '    for m in tf.getmembers():',
      '        if m.name.endswith(".png"):',
      '            a = cv2.imdecode(np.frombuffer(tf.extractfile(m).read(), np.uint8), cv2.IMREAD_UNCHANGED)',
      '            out[m.name] = [a.shape, hashlib.sha256(np.ascontiguousarray(a[:, :, ::-1]).tobytes()).hexdigest()]',
      'print(json.dumps(out))',
    ].join('\n');
    const out = runSystemPython(script, [shard], 'cv2');
    if (out === null) return;
    const seen = JSON.parse(out) as Record<string, [number[], string]>;
    const members = (await readTarMembers(shard)).filter((m) => m.name.endsWith('.png'));
    expect(Object.keys(seen).sort()).toEqual(members.map((m) => m.name).sort());
    for (const m of members) {
      const { data, info } = await sharp(m.data).raw().toBuffer({ resolveWithObject: true });
      expect(seen[m.name]).toEqual([[info.height, info.width, 3], createHash('sha256').update(data).digest('hex')]);
    }
  });

  // The data addon (core/addon.ts: PNG writer, byte <-> float conversions, the camera loops of LL,
  // RN, BLN) against the TypeScript alone (UIRGEN_PNG=js), in a child process.
  function synthesizeWithoutAddon(r: Recipe, out: string): void {
    const code = [
      "import { normalizeRecipe } from './src/pipeline/recipe.ts';",
      "import { synthesize } from './src/pipeline/synthesize.ts';",
      "import { pngEncoder } from './src/core/png.ts';",
      "import { dataAddon } from './src/core/addon.ts';",
      `await synthesize({ recipe: normalizeRecipe(${JSON.stringify(r)}), out: ${JSON.stringify(out)}, workers: 2 });`,
      'console.log(pngEncoder(), dataAddon === null);',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, UIRGEN_PNG: 'js' },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('js true');
  }

  it('gives the same shards whether the data addon or the TypeScript alone ran', async () => {
    if (pngEncoder() !== 'native') {
      console.warn('skipped: the data addon is not built, so only the TypeScript runs');
      return;
    }
    const js = tmp('js-png');
    synthesizeWithoutAddon(recipe(), js);
    expect(shardBytes(js)).toEqual(shardBytes(one));
    const camera = recipe({ types: ['LL', 'RN', 'BLN'], samples: 12 });
    const native = tmp('camera-native');
    const alone = tmp('camera-js');
    await synthesize({ recipe: camera, out: native, workers: 1 });
    synthesizeWithoutAddon(camera, alone);
    expect(shardBytes(alone)).toEqual(shardBytes(native));
  });

  it('records sources by content and spreads types and levels', () => {
    const sources = rows(one, 'SELECT id, path, sha256, width, height FROM sources ORDER BY sha256');
    expect(sources).toHaveLength(5);
    for (const s of sources) expect(s.id).toBe((s.sha256 as string).slice(0, 16));
    const types = rows(one, 'SELECT type, count(*) AS n FROM samples GROUP BY type ORDER BY type');
    expect(types).toEqual([{ type: 'GB', n: 10 }, { type: 'GN', n: 10 }, { type: 'J', n: 10 }]);
    const splits = new Set(rows(one, 'SELECT DISTINCT split FROM samples').map((r) => r.split));
    for (const s of splits) expect(['train', 'val', 'test']).toContain(s);
  });

  it('a finished dataset rerun keeps everything and makes nothing', async () => {
    const before = shardBytes(one);
    const s = await synthesize({ recipe: recipe(), out: one, workers: 1 });
    expect(s).toMatchObject({ made: 0, resumed_shards: 4, samples: 30, shards: 4 });
    expect(shardBytes(one)).toEqual(before);
  });

  it('redoes a committed shard whose file has gone missing', async () => {
    rmSync(join(one, 'shards', 'uir-000002.tar'));
    const s = await synthesize({ recipe: recipe(), out: one, workers: 2 });
    expect(s).toMatchObject({ made: 8, resumed_shards: 3, samples: 30 });
    expect(shardBytes(one)).toEqual(shardBytes(two));
    expect(rows(one)).toEqual(rows(two));
  });

  it('refuses to resume into a dataset made with another recipe', async () => {
    await expect(synthesize({ recipe: recipe({ seed: 'other' }), out: one, workers: 1 })).rejects.toThrow(/different recipe/);
  });
});

describe('synthesize: inputs', () => {
  let photo: Buffer;
  beforeAll(async () => {
    photo = await sharp(join(SAMPLES_DIR, 'coffee.png')).extract({ left: 100, top: 50, width: 96, height: 80 }).toBuffer();
  });

  it('uses awkward but valid files: 16-bit, grey, RGBA, CMYK, EXIF-rotated, webp, tiff', async () => {
    const dir = tmp('awkward');
    const src = join(dir, 'src');
    mkdirSync(join(src, 'nested'), { recursive: true });
    writeFileSync(join(src, 'deep16.png'), await sharp(photo).toColourspace('rgb16').png().toBuffer());
    writeFileSync(join(src, 'grey.jpg'), await sharp(photo).greyscale().jpeg().toBuffer());
    writeFileSync(join(src, 'alpha.PNG'), await sharp(photo).ensureAlpha(0.4).png().toBuffer());
    writeFileSync(join(src, 'cmyk.jpeg'), await sharp(photo).toColourspace('cmyk').jpeg().toBuffer());
    // Stored 96x80 with "rotate 90" in EXIF: the image is 80x96, so a 64 crop fits and the y range is larger.
    writeFileSync(join(src, 'nested', 'rotated.jpg'), await sharp(photo).jpeg().withMetadata({ orientation: 6 }).toBuffer());
    writeFileSync(join(src, 'lossless.webp'), await sharp(photo).webp({ lossless: true }).toBuffer());
    writeFileSync(join(src, 'scan.tiff'), await sharp(photo).tiff().toBuffer());
    const out = join(dir, 'ds');
    const s = await synthesize({ recipe: recipe({ sources: [src], samples: null, per_source: 2, shard_samples: 5 }), out, workers: 2 });
    expect(s).toMatchObject({ errors: 0, sources: 7, samples: 14 });
    const sources = rows(out, 'SELECT path, width, height FROM sources ORDER BY path');
    expect(sources.map((r) => r.path)).toEqual(['alpha.PNG', 'cmyk.jpeg', 'deep16.png', 'grey.jpg', 'lossless.webp', 'nested/rotated.jpg', 'scan.tiff']);
    expect(sources.find((r) => r.path === 'nested/rotated.jpg')).toMatchObject({ width: 80, height: 96 });
    const rotated = rows(out, "SELECT crop_x FROM samples s JOIN sources o ON s.source_id = o.id WHERE o.path = 'nested/rotated.jpg'");
    for (const r of rotated) expect(r.crop_x as number).toBeLessThanOrEqual(80 - 64);
  });

  it('skips unusable files with a reason each: empty, truncated, not an image, pixel bomb, too small, duplicate, symlink loop', async () => {
    const dir = tmp('bad');
    const src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    const good = await sharp(photo).png().toBuffer();
    writeFileSync(join(src, 'good.png'), good);
    writeFileSync(join(src, 'z-copy.png'), good);
    writeFileSync(join(src, 'empty.png'), Buffer.alloc(0));
    const big = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#777' } }).png({ compressionLevel: 0 }).toBuffer();
    writeFileSync(join(src, 'truncated.png'), big.subarray(0, big.length >> 1));
    writeFileSync(join(src, 'notes.jpg'), 'this is not an image\n');
    writeFileSync(join(src, 'bomb.png'), pngHeaderOnly(60_000, 60_000));
    writeFileSync(join(src, 'tiny.png'), await sharp(photo).resize(32, 32).png().toBuffer());
    writeFileSync(join(src, 'readme.txt'), 'ignored: not an image extension');
    symlinkSync(src, join(src, 'loop')); // a link to its own folder: walked once, reported, no hang
    const out = join(dir, 'ds');
    const s = await synthesize({ recipe: recipe({ sources: [src], samples: null, per_source: 3 }), out, workers: 1 });
    // The truncated PNG has an intact header, so it is planned (a source row) and fails when decoded.
    expect(s).toMatchObject({ samples: 3, sources: 2, made: 3 });
    const errors = rows(out, 'SELECT path, stage, message FROM errors ORDER BY path');
    const byFile = new Map(errors.map((e) => [(e.path as string).split('/').pop(), e]));
    expect([...byFile.keys()].sort()).toEqual(['bomb.png', 'empty.png', 'loop', 'notes.jpg', 'tiny.png', 'truncated.png', 'z-copy.png']);
    expect(s.errors).toBe(7);
    expect(byFile.get('loop')).toMatchObject({ stage: 'walk' });
    expect(byFile.get('empty.png')).toMatchObject({ stage: 'probe' });
    expect(byFile.get('bomb.png')?.message).toMatch(/pixel limit/);
    expect(byFile.get('tiny.png')).toMatchObject({ stage: 'size' });
    expect(byFile.get('tiny.png')?.message).toMatch(/32x32 is smaller than the 64x64 crop/);
    expect(byFile.get('z-copy.png')).toMatchObject({ stage: 'duplicate' });
    expect(['probe', 'decode']).toContain(byFile.get('truncated.png')?.stage);
    expect(byFile.get('notes.jpg')).toMatchObject({ stage: 'probe' });
    // A rerun meets the same files and does not record them twice.
    await synthesize({ recipe: recipe({ sources: [src], samples: null, per_source: 3 }), out, workers: 1 });
    expect(rows(out, 'SELECT count(*) AS n FROM errors')[0].n).toBe(7);
  });

  it('fails with a clear error when no source is usable', async () => {
    const dir = tmp('none');
    const src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'empty.jpg'), Buffer.alloc(0));
    const run = synthesize({ recipe: recipe({ sources: [src] }), out: join(dir, 'ds'), workers: 1 });
    await expect(run).rejects.toThrow(NoSourcesError);
    await expect(synthesize({ recipe: recipe({ sources: [src] }), out: join(dir, 'ds'), workers: 1 })).rejects.toThrow(
      /no usable source image in .*: 1 image file\(s\) found, none usable at crop 64/,
    );
    await expect(synthesize({ recipe: recipe({ sources: [join(dir, 'missing')] }), out: join(dir, 'ds2'), workers: 1 })).rejects.toThrow(
      /source folder .*missing does not exist/,
    );
    // Nothing was made, so fixing the sources and changing the options is not "another recipe".
    writeFileSync(join(src, 'fine.png'), await sharp(join(SAMPLES_DIR, 'coffee.png')).png().toBuffer());
    const fixed = await synthesize({ recipe: recipe({ sources: [src], seed: 'changed', samples: 3 }), out: join(dir, 'ds'), workers: 1 });
    expect(fixed).toMatchObject({ samples: 3, sources: 1 });
    expect(JSON.parse(readFileSync(join(dir, 'ds', 'recipe.json'), 'utf8'))).toMatchObject({ seed: 'changed' });
  });
});

describe('synthesize: interruption', () => {
  it('an abort drops the open shard, keeps committed ones, and a rerun ends equal to an uninterrupted run', async () => {
    const full = tmp('full');
    await synthesize({ recipe: recipe(), out: full, workers: 2 });
    const cut = tmp('cut');
    const controller = new AbortController();
    let updates = 0;
    const progress: Progress = {
      start() {},
      note() {},
      stop() {},
      update() {
        // After the second task is written, i.e. in the middle of the first shard or just past it.
        if (++updates === 2) controller.abort();
      },
    };
    await expect(synthesize({ recipe: recipe(), out: cut, workers: 2, taskSamples: 3, signal: controller.signal, progress })).rejects.toThrow(
      InterruptedError,
    );
    const files = readdirSync(join(cut, 'shards'));
    expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
    const committed = rows(cut, 'SELECT name FROM shards ORDER BY name').map((r) => r.name);
    expect(files.sort()).toEqual(committed);
    expect(committed.length).toBeLessThan(4);
    const s = await synthesize({ recipe: recipe(), out: cut, workers: 1 });
    expect(s.resumed_shards).toBe(committed.length);
    expect(shardBytes(cut)).toEqual(shardBytes(full));
    expect(rows(cut)).toEqual(rows(full));
    expect(existsSync(join(cut, 'manifest.sqlite-wal'))).toBe(false);
  });
});

describe('synthesize: disk full', () => {
  it.skipIf(!existsSync('/dev/full'))('stops with a clear error, keeps the manifest consistent, and resumes', async () => {
    const full = tmp('ref-full');
    await synthesize({ recipe: recipe(), out: full, workers: 1 });
    const out = tmp('enospc');
    let updates = 0;
    const progress: Progress = {
      start() {},
      note() {},
      stop() {},
      update() {
        // Once shard 0 is under way, make shard 2's temporary file a device that is always full.
        if (++updates === 1) symlinkSync('/dev/full', join(out, 'shards', 'uir-000002.tar.partial'));
      },
    };
    await expect(synthesize({ recipe: recipe(), out, workers: 2, progress })).rejects.toThrow(
      /cannot write .*uir-000002.tar.partial: no space left on device; free some space and run the same command again \(it resumes\) \(ENOSPC\)/,
    );
    const committed = rows(out, 'SELECT name FROM shards ORDER BY name').map((r) => r.name);
    expect(committed).toEqual(['uir-000000.tar', 'uir-000001.tar']);
    expect(readdirSync(join(out, 'shards')).sort()).toEqual(committed);
    expect(rows(out, 'SELECT DISTINCT shard FROM samples ORDER BY shard').map((r) => r.shard)).toEqual(committed);
    const s = await synthesize({ recipe: recipe(), out, workers: 1 });
    expect(s).toMatchObject({ resumed_shards: 2, made: 14, samples: 30 });
    expect(shardBytes(out)).toEqual(shardBytes(full));
    expect(rows(out)).toEqual(rows(full));
  });
});

describe('one writer per dataset folder', () => {
  const lockOf = (dir: string): string => join(dir, '.uirgen.lock');
  const small = (): Recipe => recipe({ samples: 4, types: ['GN'] });

  it('refuses a folder that a live process is writing, takes over a stale lock, and removes its own', async () => {
    const out = tmp('lock');
    mkdirSync(out, { recursive: true });
    writeFileSync(lockOf(out), JSON.stringify({ host: hostname(), pid: process.pid, started: 'now' }));
    await expect(synthesize({ recipe: small(), out, workers: 1 })).rejects.toThrow(
      new RegExp(`is being written by uirgen \\(pid ${process.pid} on ${hostname()}, lock touched \\d+ s ago\\); wait for it`),
    );
    // The same from another machine, refreshed recently: still refused.
    writeFileSync(lockOf(out), JSON.stringify({ host: 'elsewhere', pid: 1, started: 'now' }));
    await expect(synthesize({ recipe: small(), out, workers: 1 })).rejects.toThrow(/being written by uirgen \(pid 1 on elsewhere/);
    // Not touched for ten minutes: that job is gone.
    const old = new Date(Date.now() - 600_000);
    utimesSync(lockOf(out), old, old);
    await expect(synthesize({ recipe: small(), out, workers: 1 })).resolves.toMatchObject({ samples: 4 });
    expect(existsSync(lockOf(out))).toBe(false);
    // A process of this host that no longer exists (killed): taken over at once.
    writeFileSync(lockOf(out), JSON.stringify({ host: hostname(), pid: 2 ** 22 + 12345, started: 'then' }));
    await expect(synthesize({ recipe: small(), out, workers: 1 })).resolves.toMatchObject({ samples: 4 });
    expect(existsSync(lockOf(out))).toBe(false);
  });
});

describe('progress', () => {
  function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    Object.assign(stream, { isTTY, columns: 160 });
    return { stream, text: () => chunks.join('') };
  }

  it('draws a bar with samples, rate, ETA and errors on a terminal', () => {
    const { stream, text } = fakeStream(true);
    const p = createProgress({ stream });
    p.start(200, 20);
    p.update({ done: 110, errors: 3 });
    p.note('resuming: 1 of 10 shards already complete');
    p.stop();
    const out = text().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(out).toMatch(/synthesize .* \d+% \| 110\/200 samples \| [\d.]+\/s \| ETA \S+ \| errors 3/);
    expect(out).toContain('resuming: 1 of 10 shards already complete');
  });

  it('prints plain lines, never carriage returns, when not a terminal', () => {
    const { stream, text } = fakeStream(false);
    const p = createProgress({ stream, intervalSeconds: 0 });
    p.start(50, 0);
    p.update({ done: 25, errors: 0 });
    p.stop();
    const lines = text().trim().split('\n');
    expect(lines[0]).toMatch(/^synthesize: 25\/50 samples \(50\.0%\), [\d.]+\/s, ETA \S+, 0 errors$/);
    expect(text()).not.toMatch(/\r|\x1b/);
    expect(formatSeconds(3725)).toBe('1h02m');
    expect(formatSeconds(75)).toBe('1m15s');
  });
});

/** A PNG that declares width x height but carries no pixel data: what a decompression bomb's header looks like. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

describe('synthesize with real depth maps (recipe depth / --depth)', () => {
  it('uses each source its map (same stem), records it in params, JSON members and the recipe; others keep the estimate', async () => {
    const maps = tmp('depthmaps');
    // maps for every bundled photo but the first; each an inverse-depth ramp at the photo's size
    const photos = readdirSync(SAMPLES_DIR).filter((f) => /\.(png|jpe?g)$/.test(f)).sort();
    const shas = new Map<string, string>();
    for (const f of photos.slice(1)) {
      const meta = await sharp(join(SAMPLES_DIR, f)).metadata();
      const path = join(maps, `${f.replace(/\.[^.]+$/, '')}.png`);
      writeDepthMap(path, meta.width as number, meta.height as number, (x, y) => (x + y) / ((meta.width as number) + (meta.height as number)));
      shas.set(f, createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
    const base = { samples: 20, types: ['H', 'S', 'LHRS'], seed: 'depth' };
    const withMaps = tmp('depth-on');
    const without = tmp('depth-off');
    await synthesize({ recipe: recipe({ ...base, depth: maps }), out: withMaps, workers: 2 });
    await synthesize({ recipe: recipe(base), out: without, workers: 1 });
    const saved = JSON.parse(readFileSync(join(withMaps, 'recipe.json'), 'utf8')) as Recipe;
    expect(saved.depth).toEqual({ dir: maps, kind: 'inverse' });
    const sources = new Map(rows(withMaps, 'SELECT id, path FROM sources').map((r) => [r.id as string, r.path as string]));
    const off = new Map(rows(without).map((r) => [r.key as string, r]));
    let mapped = 0;
    let estimated = 0;
    for (const r of rows(withMaps)) {
      const file = sources.get(r.source_id as string) as string;
      const params = JSON.parse(r.params as string) as Params & { stages?: { params: Params }[] };
      const depths = params.stages ? params.stages.filter((s) => 'depth' in s.params).map((s) => s.params.depth) : [params.depth];
      const sha = shas.get(file);
      for (const d of depths) expect(d).toEqual(sha ? { sha256: sha, kind: 'inverse' } : 'estimate');
      if (sha) mapped++;
      else estimated++;
      // same key, same seed and crop: the map alone changes the pixels (H and S's veil always use depth)
      const other = off.get(r.key as string) as Record<string, unknown>;
      if (sha && r.type !== 'LHRS') expect(r.lq_sha256, String(r.key)).not.toBe(other.lq_sha256);
      if (!sha) expect(r.lq_sha256, String(r.key)).toBe(other.lq_sha256);
    }
    expect(mapped).toBeGreaterThan(0);
    expect(estimated).toBeGreaterThan(0);
    // the JSON member names the map beside the source
    for (const shard of shardFiles(withMaps)) {
      for (const sample of groupLikeWebDataset(await readTarMembers(join(withMaps, 'shards', shard)))) {
        const json = JSON.parse(sample.parts.json.toString()) as { source: { path: string; depth?: { sha256: string } } };
        expect(json.source.depth?.sha256).toBe(shas.get(json.source.path));
      }
    }
    // the source without a map is recorded, with what to expect
    const errs = rows(withMaps, "SELECT path, message FROM errors WHERE stage = 'depth'");
    expect(errs).toHaveLength(1);
    expect(errs[0].path).toContain(photos[0]);
    expect(errs[0].message).toMatch(/depth estimate/);
    // resuming with other maps (or none) is a different dataset
    await expect(synthesize({ recipe: recipe(base), out: withMaps, workers: 1 })).rejects.toThrow(/different recipe/);
  });
});
