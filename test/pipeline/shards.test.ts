import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupLikeWebDataset, readTarMembers } from '../support/webdataset.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ShardWriter, StorageError, type ShardSample } from '../../src/pipeline/shards.js';

const root = mkdtempSync(join(tmpdir(), 'uirgen-shards-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(root, `d${counter++}`);

/** Deterministic pseudo-random bytes of a given length (sizes chosen to hit and miss block boundaries). */
function bytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let block = Buffer.alloc(0);
  for (let i = 0, n = 0; i < length; i++) {
    if (i % 32 === 0) block = createHash('sha256').update(`${seed}:${n++}`).digest();
    out[i] = block[i % 32];
  }
  return out;
}

function makeSamples(count: number): ShardSample[] {
  const sizes = [1, 511, 512, 513, 1024, 3000, 0, 77];
  return Array.from({ length: count }, (_, i) => ({
    key: `src${String(i).padStart(4, '0')}_k-${i}`,
    // Insertion order deliberately not sorted: the writer must sort.
    members: {
      'lq.png': bytes(`lq${i}`, sizes[(i + 1) % sizes.length]),
      json: Buffer.from(JSON.stringify({ i, type: 'GN' })),
      'gt.png': bytes(`gt${i}`, sizes[i % sizes.length]),
    },
  }));
}

async function writeShard(dir: string, name: string, samples: ShardSample[]) {
  const w = await ShardWriter.create(dir, name);
  const where = [];
  for (const s of samples) where.push(await w.add(s));
  const info = await w.close();
  return { info, where, path: join(dir, info.name) };
}

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import tarfile'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('ShardWriter', () => {
  it('writes WebDataset members that an independent tar reader groups into complete samples', async () => {
    const samples = makeSamples(9);
    const { info, path } = await writeShard(freshDir(), 'uir-000000', samples);
    expect(info.name).toBe('uir-000000.tar');
    expect(info.samples).toBe(9);
    const members = await readTarMembers(path);
    expect(members).toHaveLength(27);
    const groups = groupLikeWebDataset(members);
    expect(groups.map((g) => g.key)).toEqual(samples.map((s) => s.key));
    expect(new Set(groups.map((g) => g.key)).size).toBe(groups.length);
    for (const g of groups) expect(g.suffixes).toEqual(['gt.png', 'json', 'lq.png']);
    for (const m of members) {
      const [key, ...rest] = m.name.split('.');
      const sample = samples.find((s) => s.key === key)!;
      expect(m.data.equals(sample.members[rest.join('.')])).toBe(true);
      expect(m).toMatchObject({ mtime: 0, uid: 0, gid: 0, uname: '', gname: '', mode: 0o644 });
    }
  });

  it('returns byte offsets of member data inside the shard', async () => {
    const samples = makeSamples(8);
    const { where, path } = await writeShard(freshDir(), 'offs', samples);
    const file = readFileSync(path);
    samples.forEach((s, i) => {
      for (const [suffix, data] of Object.entries(s.members)) {
        const { offset, size } = where[i].offsets[suffix];
        expect(size).toBe(data.length);
        expect(file.subarray(offset, offset + size).equals(data)).toBe(true);
      }
    });
  });

  it('reports size and sha256 of the file, and same inputs give identical bytes', async () => {
    const a = await writeShard(freshDir(), 'same', makeSamples(5));
    const b = await writeShard(freshDir(), 'same', makeSamples(5));
    const fa = readFileSync(a.path);
    expect(fa.equals(readFileSync(b.path))).toBe(true);
    expect(a.info.bytes).toBe(fa.length);
    expect(a.info.sha256).toBe(createHash('sha256').update(fa).digest('hex'));
    const c = await writeShard(freshDir(), 'same', makeSamples(6));
    expect(readFileSync(c.path).equals(fa)).toBe(false);
  });

  it('keeps nothing under the final name until close, and leaves no partial after it', async () => {
    const dir = freshDir();
    const w = await ShardWriter.create(dir, 'part');
    for (const s of makeSamples(3)) await w.add(s);
    expect(existsSync(join(dir, 'part.tar'))).toBe(false);
    expect(existsSync(join(dir, 'part.tar.partial'))).toBe(true);
    await w.close();
    expect(readdirSync(dir)).toEqual(['part.tar']);
  });

  it('abort removes the partial file and writes nothing final', async () => {
    const dir = freshDir();
    const w = await ShardWriter.create(dir, 'gone');
    await w.add(makeSamples(1)[0]);
    await w.abort();
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
    await expect(w.add(makeSamples(2)[1])).rejects.toThrow(/aborted/);
  });

  it('serializes adds that are not awaited, so samples never interleave', async () => {
    const dir = freshDir();
    const w = await ShardWriter.create(dir, 'race');
    const samples = makeSamples(6);
    await Promise.all(samples.map((s) => w.add(s)));
    const info = await w.close();
    const groups = groupLikeWebDataset(await readTarMembers(join(dir, info.name)));
    expect(groups.map((g) => g.key)).toEqual(samples.map((s) => s.key));
  });

  it('rejects dotted keys, duplicate keys and bad names with clear messages', async () => {
    await expect(ShardWriter.create(freshDir(), 'a.b')).rejects.toThrow(/shard name/);
    const w = await ShardWriter.create(freshDir(), 'bad');
    await expect(w.add({ key: 'has.dot', members: { json: Buffer.from('{}') } })).rejects.toThrow(/no dot/);
    await expect(w.add({ key: 'k', members: {} })).rejects.toThrow(/non-empty/);
    await w.add({ key: 'k', members: { json: Buffer.from('{}') } });
    await expect(w.add({ key: 'k', members: { json: Buffer.from('{}') } })).rejects.toThrow(/already in shard/);
    // The writer is still usable after argument errors.
    const info = await w.close();
    expect(info.samples).toBe(1);
  });

  it('turns a full disk into a message naming the partial path (ENOSPC via /dev/full)', async () => {
    if (!existsSync('/dev/full')) {
      console.warn('skipped: /dev/full not available');
      return;
    }
    const dir = freshDir();
    const w0 = await ShardWriter.create(dir, 'full');
    await w0.abort();
    symlinkSync('/dev/full', join(dir, 'full.tar.partial'));
    const w = await ShardWriter.create(dir, 'full');
    let error: unknown;
    try {
      for (const s of makeSamples(40)) await w.add(s);
      await w.close();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toBe(
      `cannot write ${join(dir, 'full.tar.partial')}: no space left on device; free some space and run the same command again (it resumes) (ENOSPC)`,
    );
    await expect(w.close()).rejects.toThrow(/no space left/);
    await w.abort();
    expect(existsSync(join(dir, 'full.tar'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('turns an unwritable output directory into a message naming the path', async () => {
    const file = join(root, `plain-file-${counter++}.txt`);
    writeFileSync(file, 'not a directory');
    const dir = join(file, 'shards');
    await expect(ShardWriter.create(dir, 'x')).rejects.toThrow(
      `cannot create directory ${dir}: a component of the path is a file, not a directory (ENOTDIR)`,
    );
  });

  it.skipIf(process.getuid?.() === 0)('reports EACCES for a read-only directory (non-root only)', async () => {
    const { chmodSync, mkdirSync } = await import('node:fs');
    const dir = freshDir();
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    try {
      await expect(ShardWriter.create(dir, 'x')).rejects.toThrow(/cannot write .*x\.tar\.partial: permission denied/);
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it.skipIf(!hasPython())("is read by Python's tarfile with complete samples in WebDataset grouping", async () => {
    const samples = makeSamples(7);
    const { path, where } = await writeShard(freshDir(), 'py', samples);
    const script = `
import json, sys, tarfile, hashlib
out = []
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        data = t.extractfile(m).read()
        out.append([m.name, m.offset_data, m.size, hashlib.sha256(data).hexdigest(), m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode])
print(json.dumps(out))
`;
    const rows = JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })) as [
      string, number, number, string, number, number, number, string, string, number,
    ][];
    const groups = groupLikeWebDataset(rows.map((r) => ({ name: r[0] })));
    expect(groups.map((g) => g.key)).toEqual(samples.map((s) => s.key));
    for (const g of groups) expect(g.suffixes).toEqual(['gt.png', 'json', 'lq.png']);
    rows.forEach(([name, offsetData, size, sha, mtime, uid, gid, uname, gname, mode]) => {
      const [key, ...rest] = name.split('.');
      const i = samples.findIndex((s) => s.key === key);
      const suffix = rest.join('.');
      expect(where[i].offsets[suffix]).toEqual({ offset: offsetData, size });
      expect(sha).toBe(createHash('sha256').update(samples[i].members[suffix]).digest('hex'));
      expect([mtime, uid, gid, uname, gname, mode]).toEqual([0, 0, 0, '', '', 0o644]);
    });
  });
});
