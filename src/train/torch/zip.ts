import * as zlib from 'node:zlib';

/**
 * The small part of ZIP that PyTorch's checkpoint files use. PyTorch writes (caffe2's
 * PyTorchStreamWriter, through miniz) uncompressed entries whose data start on 64-byte boundaries (padding
 * the local header's extra field), so storages can be read or memory-mapped in place; it reads any
 * well-formed archive. The writer here does the same (stored, 64-byte aligned, no zip64: archives over
 * 4 GiB are refused). The reader takes stored and deflated entries, zip64 records, and checks every offset
 * and size against the file and every CRC: the input is untrusted.
 */

export class ZipError extends Error {
  override name = 'ZipError';
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

// node:zlib has crc32 from Node 20.15 / 22.2; the table loop serves older ones.
const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

export function crc32(data: Uint8Array): number {
  if (nativeCrc32) return nativeCrc32(data) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntryInput {
  name: string;
  data: Uint8Array;
}

const ALIGN = 64;
const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const EOCD = 22;
// DOS date 1980-01-01 00:00: fixed, so the same weights give the same bytes.
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const U32_MAX = 0xffffffff;

/** An archive of stored entries, each one's data starting at a multiple of 64 bytes. */
export function writeZip(entries: readonly ZipEntryInput[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    // Extra field: id 'FB' (as PyTorch's writer) padding the data to the next 64-byte boundary.
    const pad = (ALIGN - ((offset + LOCAL_HEADER + name.length + 4) % ALIGN)) % ALIGN;
    const extra = Buffer.alloc(4 + pad);
    extra.write('FB', 0, 'latin1');
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(LOCAL_HEADER);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const cen = Buffer.alloc(CENTRAL_HEADER);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0x0800, 8);
    cen.writeUInt16LE(0, 10);
    cen.writeUInt16LE(0, 12);
    cen.writeUInt16LE(DOS_DATE, 14);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(e.data.length, 20);
    cen.writeUInt32LE(e.data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    central.push(cen, name);
    parts.push(local, name, extra, Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
    offset += LOCAL_HEADER + name.length + extra.length + e.data.length;
    if (offset > U32_MAX) throw new ZipError('archive over 4 GiB: write safetensors instead');
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  if (entries.length > 0xffff || offset + cdSize > U32_MAX) throw new ZipError('archive over 4 GiB or 65535 entries: write safetensors instead');
  const end = Buffer.alloc(EOCD);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

export interface ZipEntry {
  name: string;
  /** Method 0 (stored) or 8 (deflate). */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('a zip64 size or offset is out of range');
  return Number(v);
}

function findEocd(buf: Buffer): number {
  // The EOCD record is at the end, followed by a comment of at most 65535 bytes.
  const stop = Math.max(0, buf.length - EOCD - 0xffff);
  for (let i = buf.length - EOCD; i >= stop; i--) if (buf.readUInt32LE(i) === 0x06054b50) return i;
  throw new ZipError('not a zip archive (no end-of-central-directory record)');
}

/** The archive's entries from its central directory. */
export function readZipDirectory(buf: Buffer): ZipEntry[] {
  if (buf.length < EOCD) throw new ZipError('not a zip archive (too short)');
  const eocd = findEocd(buf);
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== 0x07064b50) throw new ZipError('zip64 archive without its end-of-central-directory locator');
    const z = u64(buf, loc + 8);
    if (z + 56 > buf.length || buf.readUInt32LE(z) !== 0x06064b50) throw new ZipError('zip64 end-of-central-directory record out of place');
    count = u64(buf, z + 32);
    cdSize = u64(buf, z + 40);
    cdOffset = u64(buf, z + 48);
  }
  if (cdOffset + cdSize > buf.length) throw new ZipError('central directory runs past the end of the file');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_HEADER > cdOffset + cdSize || buf.readUInt32LE(p) !== 0x02014b50) throw new ZipError(`central directory entry ${i} is damaged`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let headerOffset = buf.readUInt32LE(p + 42);
    const next = p + CENTRAL_HEADER + nameLen + extraLen + commentLen;
    if (next > cdOffset + cdSize) throw new ZipError(`central directory entry ${i} runs past the directory`);
    if (flags & 1) throw new ZipError('encrypted zip entries are not supported');
    const name = buf.toString(flags & 0x0800 ? 'utf8' : 'latin1', p + CENTRAL_HEADER, p + CENTRAL_HEADER + nameLen);
    // zip64 extended information: the 0xFFFFFFFF fields, in order, as 8-byte values.
    let e = p + CENTRAL_HEADER + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (e + 4 + len > extraEnd) throw new ZipError(`entry ${name}: extra field runs past its end`);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw new ZipError(`entry ${name}: zip64 field too short`);
          const v = u64(buf, q);
          q += 8;
          return v;
        };
        if (size === U32_MAX) size = take();
        if (compressedSize === U32_MAX) compressedSize = take();
        if (headerOffset === U32_MAX) headerOffset = take();
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, crc, headerOffset });
    p = next;
  }
  return entries;
}

/** One entry's bytes (a view into `buf` when stored), CRC-checked. */
export function readZipEntry(buf: Buffer, entry: ZipEntry, maxSize = 2 ** 31): Buffer {
  const h = entry.headerOffset;
  if (h + LOCAL_HEADER > buf.length || buf.readUInt32LE(h) !== 0x04034b50) throw new ZipError(`entry ${entry.name}: local header is damaged`);
  const start = h + LOCAL_HEADER + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  if (start + entry.compressedSize > buf.length) throw new ZipError(`entry ${entry.name} runs past the end of the file`);
  if (entry.size > maxSize) throw new ZipError(`entry ${entry.name} is ${entry.size} bytes, over the ${maxSize}-byte limit`);
  const raw = buf.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) {
    if (entry.size !== entry.compressedSize) throw new ZipError(`entry ${entry.name}: stored entry with two sizes`);
    data = raw;
  } else if (entry.method === 8) {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      throw new ZipError(`entry ${entry.name}: cannot inflate (${(err as Error).message})`);
    }
    if (data.length !== entry.size) throw new ZipError(`entry ${entry.name}: inflated to ${data.length} bytes, the directory says ${entry.size}`);
  } else {
    throw new ZipError(`entry ${entry.name}: compression method ${entry.method} is not supported`);
  }
  if (crc32(data) !== entry.crc) throw new ZipError(`entry ${entry.name}: CRC mismatch (damaged file)`);
  return data;
}
