import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_LOCK_FILE } from '../../src/pipeline/lock.js';
import type { Problem, ProblemCode } from '../../src/pipeline/problems.js';
import { RegenerateRefusal } from '../../src/pipeline/regenerate.js';
import { verifyDataset, VerifyRefusal, type VerifyReport } from '../../src/pipeline/verify.js';
import { pngBomb } from '../support/files.js';
import { copyDataset, makeRelease, query, scratch, sql } from '../support/release.js';
import { samplePaths, SAMPLES_DIR } from '../support/samples.js';
import { forgeTar } from '../support/tar-forge.js';

const tmp = scratch('verify');
let ds: string;

interface Row {
  key: string;
  shard: string;
  offset_gt: number;
  offset_lq: number;
  type: string;
}

beforeAll(async () => {
  ds = await makeRelease(tmp('base'));
}, 120_000);

function tampered(name: string, change: (d: string) => void): string {
  const d = copyDataset(ds, join(tmp(name), 'ds'));
  change(d);
  return d;
}

const verify = (d: string, extra: Parameters<typeof verifyDataset>[1] = {}): Promise<VerifyReport> => verifyDataset(d, { workers: 2, ...extra });

function find(r: VerifyReport, code: ProblemCode, pattern: RegExp): Problem {
  const p = r.problems.find((x) => x.code === code && pattern.test(x.message));
  expect(p, `no ${code} problem matching ${pattern}; got:\n${r.problems.map((x) => `${x.code}: ${x.message}`).join('\n')}`).toBeDefined();
  return p as Problem;
}

function firstRow(d: string, shard = 'uir-000001.tar'): Row {
  return query<Row>(d, `SELECT key, shard, offset_gt, offset_lq, type FROM samples WHERE shard = '${shard}' ORDER BY offset_gt LIMIT 1 OFFSET 2`)[0];
}

describe('verify: a clean release', () => {
  it('passes, as a release, with every shard and sample checked', async () => {
    const r = await verify(ds);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.release).toBe(true);
    expect(r.checked).toMatchObject({ shards: 4, samples: 40, files: 7 });
    expect(r.mb_per_s).toBeGreaterThan(0);
    const fast = await verify(ds, { fast: true });
    expect(fast.problems).toEqual([]);
    expect(fast.notes).toEqual([]);
  });

  it('passes coreutils sha256sum -c run inside the dataset folder', () => {
    const out = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: ds, encoding: 'utf8' });
    if (out.error) return void console.warn('sha256sum not installed; skipped');
    expect(out.status, out.stdout + out.stderr).toBe(0);
    expect(out.stdout.trim().split('\n').sort()).toEqual(
      ['manifest.sqlite: OK', 'recipe.json: OK', 'release.lock.json: OK', ...[0, 1, 2, 3].map((s) => `shards/uir-00000${s}.tar: OK`)].sort(),
    );
  });

  it('regenerates N samples spread over the types, byte-identical', async () => {
    const r = await verify(ds, { regenerate: 8 });
    expect(r.ok).toBe(true);
    expect(r.regenerated).toMatchObject({ requested: 8, samples: 8, matched: 8, by_type: { GN: 2, MB: 2, J: 2, H: 2 } });
  });

  it('regenerates all of it on the worker pool', async () => {
    const r = await verify(ds, { regenerate: 'all' });
    expect(r.problems).toEqual([]);
    expect(r.regenerated).toMatchObject({ requested: 'all', samples: 40, matched: 40, sources: 5 });
  }, 60_000);

  it('checks a dataset without release files against its manifest, and says so', async () => {
    const d = tampered('plain', (x) => {
      for (const f of ['SHA256SUMS', RELEASE_LOCK_FILE, 'README.md', 'croissant.json']) rmSync(join(x, f));
    });
    const r = await verify(d);
    expect(r.ok).toBe(true);
    expect(r.release).toBe(false);
    expect(r.notes.join('\n')).toMatch(/checked against the manifest only/);
  });

  it('refuses a folder that does not exist', async () => {
    await expect(verify(join(ds, 'nope'))).rejects.toThrow(VerifyRefusal);
  });
});

describe('verify: tampered releases', () => {
  it('a flipped byte in a shard: the shard checksum and the sample whose bytes changed', async () => {
    let row: Row | undefined;
    const d = tampered('flip', (x) => {
      row = firstRow(x);
      const path = join(x, 'shards', row.shard);
      const bytes = readFileSync(path);
      bytes[row.offset_lq + 100] ^= 0x01;
      writeFileSync(path, bytes);
    });
    const r = await verify(d);
    expect(r.ok).toBe(false);
    const row1 = row as Row;
    find(r, 'checksum-mismatch', new RegExp(`shards/${row1.shard}: sha256 [0-9a-f]{64}, SHA256SUMS says`));
    const p = find(r, 'member-hash', /lq\.png bytes differ from the manifest/);
    expect(p).toMatchObject({ file: `shards/${row1.shard}`, sample: row1.key });
    // Only that sample's member differs.
    expect(r.problems.filter((x) => x.code === 'member-hash')).toHaveLength(1);
    // --fast hashes members only where a checksum differs: the same finding, after reading that shard again.
    const fast = await verify(d, { fast: true });
    expect(fast.problems.filter((x) => x.code === 'member-hash')).toEqual(r.problems.filter((x) => x.code === 'member-hash'));
    expect(fast.notes.join('\n')).toMatch(/--fast: 1 shard\(s\) with a differing checksum were read again/);
  });

  it('a flipped byte in a member header: the corrupt header and its sample, the rest still checked', async () => {
    let row: Row | undefined;
    const d = tampered('header', (x) => {
      row = firstRow(x);
      const path = join(x, 'shards', row.shard);
      const bytes = readFileSync(path);
      bytes[row.offset_gt - 512 + 2] ^= 0x04;
      writeFileSync(path, bytes);
    });
    const r = await verify(d);
    const p = find(r, 'tar-structure', /the member header at byte \d+ is corrupt/);
    expect(p.sample).toBe((row as Row).key);
    find(r, 'member-missing', new RegExp(`no ${(row as Row).key}\\.gt\\.png in the shard`));
    expect(r.problems.filter((x) => x.code === 'member-missing' || x.code === 'member-order').every((x) => x.sample === (row as Row).key)).toBe(true);
  });

  it('a truncated shard', async () => {
    const d = tampered('trunc', (x) => truncateSync(join(x, 'shards', 'uir-000002.tar'), 40_000));
    const r = await verify(d);
    find(r, 'size-mismatch', /shards\/uir-000002\.tar is 40000 bytes, the manifest says \d+ \(truncated\?\)/);
    expect(r.problems.some((p) => p.code === 'tar-structure' && /past the end|without its end-of-archive marker/.test(p.message))).toBe(true);
    find(r, 'member-missing', /but not in the shard, which ends at byte 40000/);
    expect(r.problems.some((p) => p.code === 'row-invalid')).toBe(false);
  });

  it('a missing shard', async () => {
    const d = tampered('missing', (x) => rmSync(join(x, 'shards', 'uir-000003.tar')));
    const r = await verify(d);
    const p = find(r, 'file-missing', /shards\/uir-000003\.tar is missing \(listed by the manifest, release\.lock\.json, SHA256SUMS\)/);
    expect(p.file).toBe('shards/uir-000003.tar');
  });

  it('an extra file in shards/, a half-written shard, a link (not followed)', async () => {
    const d = tampered('extra', (x) => {
      writeFileSync(join(x, 'shards', 'notes.txt'), 'hello');
      writeFileSync(join(x, 'shards', 'uir-000004.tar.partial'), 'x');
      symlinkSync('/etc/passwd', join(x, 'shards', 'uir-000009.tar'));
    });
    const r = await verify(d);
    find(r, 'file-extra', /shards\/notes\.txt is an extra file/);
    find(r, 'incomplete', /uir-000004\.tar\.partial is a shard still being written/);
    find(r, 'file-extra', /uir-000009\.tar is a symbolic link; not followed/);
  });

  it('a changed manifest row: the manifest checksum, the shard\'s rows digest and the sample', async () => {
    let key = '';
    const d = tampered('row', (x) => {
      key = firstRow(x).key;
      sql(x, `UPDATE samples SET level_id = 'forged:1' WHERE key = '${key}'`);
    });
    const r = await verify(d);
    find(r, 'checksum-mismatch', /manifest\.sqlite: sha256 .* the manifest was changed after the release/);
    find(r, 'rows-changed', /the manifest rows of shards\/uir-000001\.tar differ from those in release\.lock\.json/);
    const p = find(r, 'row-mismatch', /the manifest row says level_id "forged:1", its JSON member says/);
    expect(p.sample).toBe(key);
  });

  it('a changed hash column in the manifest: that sample\'s member no longer matches', async () => {
    const d = tampered('rowhash', (x) => sql(x, `UPDATE samples SET gt_sha256 = '${'0'.repeat(64)}' WHERE key = '${firstRow(x).key}'`));
    const r = await verify(d);
    find(r, 'member-hash', /gt\.png bytes differ from the manifest \(sha256 [0-9a-f]{64}, recorded 0{64}\)/);
  });

  it('a changed recipe', async () => {
    const d = tampered('recipe', (x) => {
      const p = join(x, 'recipe.json');
      writeFileSync(p, readFileSync(p, 'utf8').replace('"crop": 64', '"crop": 96'));
    });
    const r = await verify(d);
    find(r, 'recipe-changed', /recipe\.json differs from the recipe in release\.lock\.json \(crop: 96 here, 64 in the lock\)/);
    find(r, 'checksum-mismatch', /recipe\.json: .* the recipe was changed after the release/);
  });

  it('a changed lock, and a lock that is not one', async () => {
    const d = tampered('lock', (x) => {
      const p = join(x, RELEASE_LOCK_FILE);
      writeFileSync(p, readFileSync(p, 'utf8').replace('"license": "cc-by-4.0"', '"license": "mit"'));
    });
    find(await verify(d), 'checksum-mismatch', /release\.lock\.json: .* the release lock was changed after the release/);
    const e = tampered('lock2', (x) => writeFileSync(join(x, RELEASE_LOCK_FILE), '{"format": "something else"}'));
    find(await verify(e), 'lock-invalid', /release\.lock\.json cannot be used: format must be "uirgen-release-lock"/);
  });

  it('a changed shard checksum in the lock', async () => {
    const d = tampered('lockshard', (x) => {
      const p = join(x, RELEASE_LOCK_FILE);
      const lock = JSON.parse(readFileSync(p, 'utf8')) as { shards: { sha256: string }[] };
      lock.shards[0].sha256 = 'f'.repeat(64);
      writeFileSync(p, JSON.stringify(lock));
    });
    const r = await verify(d);
    find(r, 'checksum-mismatch', /shards\/uir-000000\.tar: sha256 [0-9a-f]{64}, release\.lock\.json says f{64}/);
  });
});

describe('verify: untrusted input', () => {
  it('members named with ".." or an absolute path, and link members: reported, never followed or extracted', async () => {
    const d = tampered('names', (x) => {
      writeFileSync(
        join(x, 'shards', 'uir-000000.tar'),
        forgeTar([
          { name: '../../escape.gt.png', data: Buffer.from('x') },
          { name: '/tmp/abs.json', data: Buffer.from('{}') },
          { name: 'k.lq.png', type: '2', linkname: '/etc/passwd' },
          { name: 'h.lq.png', type: '1', linkname: '../../x' },
        ]),
      );
    });
    const r = await verify(d);
    find(r, 'unsafe-member', /"\.\.\/\.\.\/escape\.gt\.png" at byte 0 has a "\.\." path component/);
    find(r, 'unsafe-member', /"\/tmp\/abs\.json" at byte 1024 has an absolute path/);
    find(r, 'unsafe-member', /"k\.lq\.png" at byte 2048 is a symbolic link, not a regular file; it is not followed/);
    find(r, 'unsafe-member', /"h\.lq\.png" at byte 2560 is a hard link/);
    expect(existsSync(join(d, '..', '..', 'escape.gt.png'))).toBe(false);
  });

  it('a member whose size runs past the end of the file', async () => {
    const d = tampered('pasteof', (x) => {
      writeFileSync(join(x, 'shards', 'uir-000000.tar'), forgeTar([{ name: 'a.gt.png', size: 2 ** 33 - 1, data: Buffer.alloc(512) }]));
    });
    const r = await verify(d);
    find(r, 'tar-structure', /member a\.gt\.png at byte 0 claims 8589934591 bytes, past the end of the \d+-byte file \(truncated or forged\); its data is not read/);
  });

  it('a PNG member whose header claims 60000x60000: reported from the header, never decoded', async () => {
    let key = '';
    const d = tampered('bomb', (x) => {
      // Rewrite shard 0 with its last sample's gt.png replaced by a bomb (its row's offsets stay valid).
      const members = readTarMembersSync(join(x, 'shards', 'uir-000000.tar'));
      key = members[members.length - 3].name.split('.')[0];
      members[members.length - 3].data = pngBomb(60000, 60000);
      writeFileSync(join(x, 'shards', 'uir-000000.tar'), forgeTar(members));
    });
    const r = await verify(d);
    const p = find(r, 'png-header', /gt\.png claims 60000x60000 \(3,600,000,000 pixels\) is past the limits .*; not decoded/);
    expect(p.sample).toBe(key);
  });

  it('manifest rows whose offsets point past the shard or whose size is absurd', async () => {
    let key = '';
    const d = tampered('rows', (x) => {
      key = firstRow(x).key;
      sql(x, `UPDATE samples SET offset_lq = 1099511627776, width = 60000, height = 60000 WHERE key = '${key}'`);
    });
    const r = await verify(d);
    const p = find(r, 'row-invalid', /offset_lq: offset 1099511627776 is past the end of the \d+-byte shard/);
    expect(p.sample).toBe(key);
    find(r, 'row-invalid', /width x height 60000x60000 .* is past the limits/);
    // More rows than a shard's bytes can hold are counted, not loaded.
    const many = tampered('manyrows', (x) =>
      sql(
        x,
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
         INSERT INTO samples (key, type, level, level_id, params, seed, source_id, crop_x, crop_y, width, height, split, real, shard,
           offset_gt, offset_lq, lq_sha256, gt_sha256, psnr, type_version)
         SELECT 'fake-' || i, 'GN', 0, 'gaussian:5', '{}', 's', NULL, 0, 0, 64, 64, 'train', 0, 'uir-000000.tar', 512, 1024, 'x', 'y', 1, 1 FROM n`,
      ),
    );
    find(await verify(many), 'manifest-inconsistent', /the manifest has 5010 rows for shards\/uir-000000\.tar, more than its \d+ bytes can hold \(\d+\); its rows are not checked/);
  });

  it('a manifest that is not SQLite, or lacks a table', async () => {
    const d = tampered('notsql', (x) => writeFileSync(join(x, 'manifest.sqlite'), 'PK\u0003\u0004 this is a zip, not SQLite'));
    const r = await verify(d);
    find(r, 'manifest-unreadable', /manifest\.sqlite: not a SQLite database/);
    // The shards are still hashed against the lock and SHA256SUMS.
    expect(r.checked.shards).toBe(4);
    const e = tampered('notable', (x) => sql(x, 'DROP TABLE sources'));
    find(await verify(e), 'manifest-unreadable', /has no sources table/);
  });
});

describe('verify --regenerate: refusals and mismatches', () => {
  it('refuses when a source file differs from the one the release was made from', async () => {
    const src = tmp('src');
    cpSync(SAMPLES_DIR, src, { recursive: true });
    const name = samplePaths()[0].split('/').pop() as string;
    appendFileSync(join(src, name), Buffer.from([0]));
    const err = await verify(ds, { regenerate: 'all', sources: [src] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegenerateRefusal);
    expect((err as Error).message).toMatch(new RegExp(`source .*${name} has sha256 [0-9a-f]{64}, the dataset was made from [0-9a-f]{64} \\(as release\\.lock\\.json records\\): it is not the same file`));
    const missing = tmp('src-missing');
    const err2 = await verify(ds, { regenerate: 'all', sources: [missing] }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/is not under .*src-missing/);
  });

  it('refuses when sharp or a type version differs from the lock, saying what to install', async () => {
    const d = tampered('versions', (x) => {
      const p = join(x, RELEASE_LOCK_FILE);
      const lock = JSON.parse(readFileSync(p, 'utf8')) as { software: { sharp: string; types: Record<string, number> } };
      lock.software.sharp = '0.30.0';
      lock.software.types.MB = 7;
      writeFileSync(p, JSON.stringify(lock));
    });
    const err = await verify(d, { regenerate: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegenerateRefusal);
    expect((err as Error).message).toMatch(/sharp 0\.30\.0 \(libvips [\d.]+\) made the release, this uirgen has sharp [\d.]+ .*npm install sharp@0\.30\.0/);
    expect((err as Error).message).toMatch(/params made by MB version 7, but this uirgen renders MB version 1.*install the uirgen that made it/);
  });

  it('reports a sample whose recorded params no longer give its bytes', async () => {
    let key = '';
    const d = tampered('params', (x) => {
      const row = query<{ key: string; params: string }>(x, "SELECT key, params FROM samples WHERE type = 'GN' ORDER BY key LIMIT 1")[0];
      key = row.key;
      const params = JSON.parse(row.params) as Record<string, unknown>;
      params.seed = `${String(params.seed)}x`;
      sql(x, `UPDATE samples SET params = '${JSON.stringify(params)}' WHERE key = '${key}'`);
    });
    const r = await verify(d, { regenerate: 'all' });
    const p = find(r, 'regenerate-mismatch', /the regenerated lq\.png differs from the dataset's/);
    expect(p.sample).toBe(key);
    expect(r.regenerated?.matched).toBe(39);
  }, 60_000);
});

/** Members of a tar in order (synchronously, by the test's own reader of uirgen shards). */
function readTarMembersSync(path: string): { name: string; data: Buffer }[] {
  const bytes = readFileSync(path);
  const out: { name: string; data: Buffer }[] = [];
  for (let at = 0; at + 512 <= bytes.length; ) {
    const h = bytes.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim(), 8);
    out.push({ name, data: Buffer.from(bytes.subarray(at + 512, at + 512 + size)) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
