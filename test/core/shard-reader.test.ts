import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { ShardWriter } from '../../src/pipeline/shards.js';
import { loadSample } from '../../src/train/data-worker.js';
import { parseTarHeader, readMembers, ShardReadError, TAR_BLOCK } from '../../src/core/shard-reader.js';
import { pngBomb } from '../support/files.js';
import { forgeTar } from '../support/tar-forge.js';

const root = mkdtempSync(join(tmpdir(), 'uirgen-shard-reader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function bytes(n: number, salt: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt * 7) & 255;
  return b;
}

/** A shard of three samples with member sizes around block boundaries; returns path and offsets. */
async function makeShard(name: string) {
  const writer = await ShardWriter.create(root, name);
  const sizes = [0, 1, 511, 512, 513, 5000, 70_000];
  const samples: Array<{ key: string; members: Record<string, Buffer>; offsets: Record<string, { offset: number; size: number }> }> = [];
  for (let s = 0; s < 3; s++) {
    const key = `k${s}`;
    const members = {
      'gt.png': bytes(sizes[(s * 3) % sizes.length], s),
      json: Buffer.from(JSON.stringify({ s })),
      'lq.png': bytes(sizes[(s * 3 + 1) % sizes.length], s + 10),
    };
    const { offsets } = await writer.add({ key, members });
    samples.push({ key, members, offsets });
  }
  const info = await writer.close();
  return { path: join(root, info.name), samples };
}

describe('shard reader', () => {
  it('reads members back by data offset alone, sizes from the headers', async () => {
    const { path, samples } = await makeShard('a');
    for (const s of samples) {
      const got = readMembers(path, [
        { offset: s.offsets['gt.png'].offset, name: `${s.key}.gt.png` },
        { offset: s.offsets['lq.png'].offset, name: `${s.key}.lq.png` },
        { offset: s.offsets.json.offset, name: `${s.key}.json` },
      ]);
      expect(got[0].equals(s.members['gt.png'])).toBe(true);
      expect(got[1].equals(s.members['lq.png'])).toBe(true);
      expect(got[2].equals(s.members.json)).toBe(true);
    }
  });

  it('parses headers written by node-tar (size field in octal at 124..135)', async () => {
    const dir = join(root, 'nt');
    const file = join(root, 'nt.tar');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'x.lq.png'), bytes(1234, 3));
    await tar.create({ file, cwd: dir, portable: true }, ['x.lq.png']);
    const archive = readFileSync(file);
    const header = parseTarHeader(archive.subarray(0, TAR_BLOCK));
    expect(header).toEqual({ name: 'x.lq.png', size: 1234, type: '0' });
    expect(readMembers(file, [{ offset: TAR_BLOCK, name: 'x.lq.png' }])[0].equals(bytes(1234, 3))).toBe(true);
  });

  it('refuses an offset that names another member, is misaligned, or is not after a header', async () => {
    const { path, samples } = await makeShard('b');
    const s = samples[1];
    expect(() => readMembers(path, [{ offset: s.offsets['gt.png'].offset, name: `${s.key}.lq.png` }])).toThrow(
      /holds "k1.gt.png", expected "k1.lq.png"; the manifest does not match/,
    );
    expect(() => readMembers(path, [{ offset: s.offsets['gt.png'].offset + 1, name: `${s.key}.gt.png` }])).toThrow(
      /not where a member's data can start \(a multiple of 512/,
    );
    expect(() => readMembers(path, [{ offset: 0, name: `${s.key}.gt.png` }])).toThrow(/not where a member's data can start \(a multiple of 512/);
    // The 70 000-byte member spans many blocks; a block inside its data is not a header.
    const big = samples.flatMap((x) => Object.entries(x.offsets)).find(([, loc]) => loc.size === 70_000);
    expect(big).toBeDefined();
    const inside = (big as [string, { offset: number }])[1].offset + 4 * TAR_BLOCK;
    expect(() => readMembers(path, [{ offset: inside, name: 'k0.gt.png' }])).toThrow(ShardReadError);
    expect(() => readMembers(path, [{ offset: inside, name: 'k0.gt.png' }])).toThrow(/no tar header there/);
  });

  it('reports a missing shard and a truncated one', async () => {
    expect(() => readMembers(join(root, 'nope.tar'), [{ offset: 512, name: 'a.gt.png' }])).toThrow(/shard file not found/);
    const { path, samples } = await makeShard('c');
    const last = samples[2];
    truncateSync(path, last.offsets['gt.png'].offset + 10);
    expect(() => readMembers(path, [{ offset: last.offsets['gt.png'].offset, name: 'k2.gt.png' }])).toThrow(/claims 70000 bytes, past the end of the 6666-byte shard \(truncated or forged\)/);
  });
});

describe('shard reader: untrusted shards', () => {
  it('refuses, before reading data, unsafe names, link members and sizes past the end of the file', () => {
    const file = join(root, 'forged.tar');
    writeFileSync(
      file,
      forgeTar([
        { name: '../up.gt.png', data: Buffer.from('x') },
        { name: 'k.lq.png', type: '2', linkname: '/etc/passwd' },
        { name: 'k.gt.png', size: 2 ** 33 - 1 },
      ]),
    );
    expect(() => readMembers(file, [{ offset: 512, name: '../up.gt.png' }])).toThrow(/has a "\.\." path component .*; refusing it/);
    expect(() => readMembers(file, [{ offset: 1536, name: 'k.lq.png' }])).toThrow(/is not a regular file \(type "2"\); links are never followed/);
    expect(() => readMembers(file, [{ offset: 2048, name: 'k.gt.png' }])).toThrow(/claims 8589934591 bytes, past the end of the \d+-byte shard/);
  });

  it('the loader refuses a PNG whose header claims 60000x60000 without decoding it', async () => {
    const file = join(root, 'bomb.tar');
    writeFileSync(
      file,
      forgeTar([
        { name: 'k.gt.png', data: pngBomb(60000, 60000) },
        { name: 'k.json', data: Buffer.from('{}') },
        { name: 'k.lq.png', data: pngBomb(60000, 60000) },
      ]),
    );
    const task = { shard: file, key: 'k', offsetGt: 512, offsetLq: 2560, width: 60000, height: 60000, patch: 16, seed: 's', epoch: 0 };
    await expect(loadSample(task)).rejects.toThrow(/k\.gt\.png claims 60000x60000 \(3,600,000,000 pixels\) is past the limits/);
    await expect(loadSample({ ...task, width: 64, height: 64 })).rejects.toThrow(ShardReadError);
  });
});
