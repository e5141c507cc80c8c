import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Random access to members of a uirgen shard by the data offsets the manifest records.
 *
 * The manifest stores where a member's data starts (offset_gt, offset_lq) but not its size. Every
 * member of a uirgen shard has a single 512-byte ustar header directly before its data (DESIGN.md
 * section 3; pipeline/tar.ts never writes pax or GNU long-name headers), so the size is read from
 * that header: the octal field at bytes 124..135. The header is also checked (checksum, regular
 * file, and the member name the caller expects), so a stale manifest or a wrong offset is reported
 * as such instead of handing a slice of some other member to the PNG decoder.
 *
 * Synchronous on purpose: it runs inside loader worker threads, where blocking only the worker is
 * what we want, and one open/read/close per sample never leaves descriptors behind when a worker
 * is terminated.
 */

export const TAR_BLOCK = 512;

/** A shard that does not hold what the manifest says it holds. */
export class ShardReadError extends Error {
  override name = 'ShardReadError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export interface TarHeader {
  name: string;
  size: number;
  /** ustar typeflag: '0' (or NUL) for a regular file. */
  type: string;
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.toString('latin1', 0, end < 0 ? length : end);
}

function octal(block: Buffer, start: number, length: number): number {
  const text = field(block, start, length).trim();
  if (!/^[0-7]+$/.test(text)) return NaN;
  return parseInt(text, 8);
}

/** Parse and verify one 512-byte ustar header; throws a plain Error saying what is wrong. */
export function parseTarHeader(block: Buffer): TarHeader {
  if (block.length !== TAR_BLOCK) throw new Error(`tar header must be ${TAR_BLOCK} bytes, got ${block.length}`);
  // Checksum: sum of all header bytes with the checksum field itself counted as spaces.
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  const stored = octal(block, 148, 8);
  if (stored !== sum) {
    throw new Error(`no tar header there (checksum ${Number.isNaN(stored) ? 'unreadable' : stored}, computed ${sum})`);
  }
  const size = octal(block, 124, 12);
  if (!Number.isSafeInteger(size)) throw new Error('tar header has an unreadable size field');
  const prefix = field(block, 345, 155);
  const base = field(block, 0, 100);
  const name = block.toString('latin1', 257, 262) === 'ustar' && prefix ? `${prefix}/${base}` : base;
  const type = String.fromCharCode(block[156] || 48);
  return { name, size, type };
}

/** Read exactly `length` bytes at `position`, or throw. */
function readExactly(fd: number, path: string, length: number, position: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new ShardReadError(path, `unexpected end of file reading ${length} bytes at ${position} (truncated shard?)`);
    done += n;
  }
  return out;
}

/** The data of the member whose data starts at `offset`, checked to be named `name`. */
export function readMemberAt(fd: number, path: string, offset: number, name: string): Buffer {
  if (!Number.isSafeInteger(offset) || offset < TAR_BLOCK || offset % TAR_BLOCK !== 0) {
    throw new ShardReadError(path, `member ${name}: offset must be a multiple of ${TAR_BLOCK} and >= ${TAR_BLOCK}, got ${offset}`);
  }
  let header: TarHeader;
  try {
    header = parseTarHeader(readExactly(fd, path, TAR_BLOCK, offset - TAR_BLOCK));
  } catch (err) {
    if (err instanceof ShardReadError) throw err;
    throw new ShardReadError(path, `member ${name} at offset ${offset}: ${(err as Error).message}; the manifest does not match this shard`);
  }
  if (header.name !== name) {
    throw new ShardReadError(path, `offset ${offset} holds ${JSON.stringify(header.name)}, expected ${JSON.stringify(name)}; the manifest does not match this shard`);
  }
  if (header.type !== '0') throw new ShardReadError(path, `member ${name} is not a regular file (type ${JSON.stringify(header.type)})`);
  return readExactly(fd, path, header.size, offset);
}

/** Open `path`, read the named members at their offsets, close. */
export function readMembers(path: string, members: ReadonlyArray<{ offset: number; name: string }>): Buffer[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ShardReadError(path, code === 'ENOENT' ? 'shard file not found (dataset incomplete or moved?)' : `cannot open shard (${code ?? String(err)})`);
  }
  try {
    return members.map((m) => readMemberAt(fd, path, m.offset, m.name));
  } finally {
    closeSync(fd);
  }
}
