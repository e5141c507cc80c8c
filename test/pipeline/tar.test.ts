import { describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, TAR_BLOCK, TarWriter, checkMemberName, paddedSize, type MemberLocation } from '../../src/pipeline/tar.js';

function collect(): { chunks: Buffer[]; sink: (c: Buffer) => Promise<void> } {
  const chunks: Buffer[] = [];
  return { chunks, sink: async (c) => void chunks.push(Buffer.from(c)) };
}

/** Parse ustar headers by hand (independent of tar-stream): name, size, mode, uid, gid, mtime, uname, gname, data offset. */
function parse(archive: Buffer) {
  const out = [];
  let pos = 0;
  while (pos + TAR_BLOCK <= archive.length) {
    const h = archive.subarray(pos, pos + TAR_BLOCK);
    if (h.every((b) => b === 0)) break;
    const str = (o: number, n: number) => h.subarray(o, o + n).toString('latin1').replace(/\0.*$/s, '');
    const oct = (o: number, n: number) => parseInt(str(o, n).trim() || '0', 8);
    const size = oct(124, 12);
    out.push({
      name: str(0, 100),
      mode: oct(100, 8),
      uid: oct(108, 8),
      gid: oct(116, 8),
      size,
      mtime: oct(136, 12),
      type: str(156, 1),
      magic: str(257, 6),
      uname: str(265, 32),
      gname: str(297, 32),
      offset: pos + TAR_BLOCK,
    });
    pos += TAR_BLOCK + paddedSize(size);
  }
  return { members: out, end: pos };
}

describe('TarWriter', () => {
  it('lays members out as single ustar blocks with fixed header fields and reports data offsets', async () => {
    const { chunks, sink } = collect();
    const w = new TarWriter(sink);
    const datas = [Buffer.alloc(0), Buffer.alloc(1, 7), Buffer.alloc(512, 8), Buffer.alloc(1000, 9)];
    const locs: MemberLocation[] = [];
    for (const [i, d] of datas.entries()) locs.push(await w.add(`m${i}.bin`, d));
    const summary = await w.finish();
    const archive = Buffer.concat(chunks);
    expect(summary.bytes).toBe(archive.length);
    const { members, end } = parse(archive);
    expect(end + END_OF_ARCHIVE).toBe(archive.length);
    expect(archive.subarray(end).every((b) => b === 0)).toBe(true);
    expect(members.map((m) => m.name)).toEqual(['m0.bin', 'm1.bin', 'm2.bin', 'm3.bin']);
    members.forEach((m, i) => {
      expect(m).toMatchObject({ mode: 0o644, uid: 0, gid: 0, mtime: 0, uname: '', gname: '', type: '0', magic: 'ustar' });
      expect(locs[i]).toEqual({ offset: m.offset, size: datas[i].length });
      expect(archive.subarray(m.offset, m.offset + m.size).equals(datas[i])).toBe(true);
    });
  });

  it('rejects names that would need a pax header or are not plain ASCII', () => {
    expect(() => checkMemberName('a'.repeat(101))).toThrow(/1\.\.100 characters/);
    expect(() => checkMemberName('dir/x.png')).toThrow(/A-Z a-z 0-9/);
    expect(() => checkMemberName('é.png')).toThrow(/A-Z a-z 0-9/);
    expect(() => checkMemberName('a'.repeat(100))).not.toThrow();
  });

  it('propagates a sink failure to the pending add and to finish', async () => {
    let n = 0;
    const w = new TarWriter(async () => {
      if (++n > 2) throw new Error('disk went away');
    });
    let error: unknown;
    try {
      for (let i = 0; i < 20; i++) await w.add(`f${i}`, Buffer.alloc(100_000, i));
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).toBe('disk went away');
    await expect(w.finish()).rejects.toThrow('disk went away');
    await w.destroy();
  });
});
