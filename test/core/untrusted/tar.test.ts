import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTarHeader, TarScanner, unsafeMemberName, type ScanResult } from '../../../src/core/untrusted/tar.js';
import { ShardWriter } from '../../../src/pipeline/shards.js';
import { forgeTar, tarHeader } from '../../support/tar-forge.js';

const root = mkdtempSync(join(tmpdir(), 'uirgen-untrusted-tar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Scan `bytes` pushed in pieces of `chunk` bytes, each copied into one reused buffer (as a file reader does). */
function scan(bytes: Buffer, chunk = bytes.length, withSize = true): ScanResult {
  const s = new TarScanner({ bodySuffixes: ['.json'], ...(withSize ? { fileSize: bytes.length } : {}) });
  const reused = Buffer.alloc(chunk);
  for (let at = 0; at < bytes.length; at += chunk) {
    const n = bytes.copy(reused, 0, at, at + chunk);
    s.push(reused.subarray(0, n));
  }
  reused.fill(0xee);
  return s.end();
}

function data(n: number, salt: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + salt) & 255;
  return b;
}

async function shard(): Promise<{ bytes: Buffer; offsets: Record<string, { offset: number; size: number }>[]; members: Record<string, Buffer>[] }> {
  const w = await ShardWriter.create(root, 'a');
  const offsets = [];
  const members = [];
  for (let s = 0; s < 3; s++) {
    const m = { 'gt.png': data(700 + s * 511, s), json: Buffer.from(JSON.stringify({ s })), 'lq.png': data(512 * s, s + 9) };
    members.push(m);
    offsets.push((await w.add({ key: `k${s}`, members: m })).offsets);
  }
  const info = await w.close();
  return { bytes: readFileSync(join(root, info.name)), offsets, members };
}

describe('TarScanner', () => {
  it('finds every member of a uirgen shard at its offset with its hash, whatever the chunking', async () => {
    const { bytes, offsets, members } = await shard();
    const whole = scan(bytes);
    expect(whole.problems).toEqual([]);
    expect(whole.sha256).toBe(sha(bytes));
    expect(whole.bytes).toBe(bytes.length);
    expect(whole.members.map((m) => m.name)).toEqual(['k0.gt.png', 'k0.json', 'k0.lq.png', 'k1.gt.png', 'k1.json', 'k1.lq.png', 'k2.gt.png', 'k2.json', 'k2.lq.png']);
    for (const m of whole.members) {
      const [key, suffix] = [m.name.slice(0, 2), m.name.slice(3)];
      const s = Number(key[1]);
      expect(m.offset).toBe(offsets[s][suffix].offset);
      expect(m.sha256).toBe(sha(members[s][suffix]));
      if (suffix === 'json') expect(Buffer.from(m.body as Uint8Array).equals(members[s].json)).toBe(true);
      expect(Buffer.from(m.head).equals(members[s][suffix].subarray(0, 64))).toBe(true);
    }
    // 1-byte and odd-sized pushes give the same result.
    for (const chunk of [1, 7, 511, 513]) expect(scan(bytes, chunk)).toEqual(whole);
  });

  it('reports a corrupt header once and resynchronises on the next valid one', async () => {
    const { bytes, offsets } = await shard();
    const bad = Buffer.from(bytes);
    bad[offsets[1]['gt.png'].offset - 512 + 3] ^= 0x20; // inside k1.gt.png's name field
    const r = scan(bad);
    expect(r.problems.map((p) => p.code)).toEqual(['header-corrupt']);
    expect(r.problems[0].position).toBe(offsets[1]['gt.png'].offset - 512);
    expect(r.members.map((m) => m.name)).toContain('k1.json');
    expect(r.members.map((m) => m.name)).not.toContain('k1.gt.png');
  });

  it('reports, without following or reading, unsafe names, links, other member types and sizes past the end', () => {
    const bytes = forgeTar([
      { name: '../../etc/passwd', data: Buffer.from('x') },
      { name: '/abs/path.png', data: Buffer.from('y') },
      { name: 'a.lq.png', type: '2', linkname: '/etc/shadow' },
      { name: 'b.lq.png', type: '1', linkname: 'a.lq.png' },
      { name: 'dir', type: '5' },
      { name: 'pax', type: 'x', data: Buffer.from('19 path=../../x\n') },
    ]);
    const r = scan(bytes);
    expect(r.problems.map((p) => p.code)).toEqual(['unsafe-name', 'unsafe-name', 'link-member', 'link-member', 'not-a-file', 'not-a-file']);
    expect(r.problems[0].message).toMatch(/"\.\." path component .* never used as a path/);
    expect(r.problems[1].message).toMatch(/an absolute path/);
    expect(r.problems[2].message).toMatch(/a symbolic link, not a regular file; it is not followed/);
    expect(r.problems[5].message).toMatch(/a pax extended header/);

    // A header claiming 8 GB in a file of a few blocks: reported at its header; nothing allocated for it.
    const huge = Buffer.concat([tarHeader({ name: 'k.gt.png', size: 8 * 1024 ** 3 - 1 }), Buffer.alloc(1024)]);
    const h = scan(huge);
    expect(h.problems[0]).toMatchObject({ code: 'past-eof', position: 0, member: 'k.gt.png' });
    expect(h.problems[0].message).toMatch(/claims 8589934591 bytes, past the end of the 1536-byte file/);
    // Without the file size known up front, the end of the stream says it.
    expect(scan(huge, huge.length, false).problems[0]).toMatchObject({ code: 'past-eof' });
  });

  it('reports a truncated archive, non-zero padding and bytes after the end marker', async () => {
    const { bytes, offsets } = await shard();
    expect(scan(bytes.subarray(0, offsets[2]['gt.png'].offset + 10)).problems.map((p) => p.code)).toEqual(['past-eof']);
    expect(scan(bytes.subarray(0, bytes.length - 1024)).problems.map((p) => p.code)).toEqual(['no-end-marker']);
    expect(scan(bytes.subarray(0, bytes.length - 512)).problems.map((p) => p.code)).toEqual(['no-end-marker']);
    const padded = Buffer.from(bytes);
    padded[offsets[0]['gt.png'].offset + 700 + 5] = 1;
    expect(scan(padded).problems).toMatchObject([{ code: 'padding', member: 'k0.gt.png' }]);
    const trailing = Buffer.concat([bytes, Buffer.from('garbage'), Buffer.alloc(505)]);
    expect(scan(trailing).problems).toMatchObject([{ code: 'trailing-bytes', position: bytes.length }]);
  });
});

describe('member names and headers', () => {
  it('accepts plain relative names and refuses the rest', () => {
    for (const ok of ['k.gt.png', 'dir/k.json', 'a..b.png']) expect(unsafeMemberName(ok)).toBeNull();
    for (const bad of ['', '/x', '../x', 'a/../../x', 'C:\\x', 'a\\b', 'a\u0000b']) expect(unsafeMemberName(bad)).not.toBeNull();
  });

  it('parses a valid header and refuses a corrupt checksum', () => {
    const h = tarHeader({ name: 'x.lq.png', size: 1234 });
    expect(parseTarHeader(h)).toEqual({ name: 'x.lq.png', size: 1234, type: '0' });
    h[10] ^= 1;
    expect(() => parseTarHeader(h)).toThrow(/no tar header there \(checksum/);
  });
});
