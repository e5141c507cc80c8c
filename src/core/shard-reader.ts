import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TAR_BLOCK, parseTarHeader, unsafeMemberName, type TarHeader } from './untrusted/tar.js';
import { badMemberOffset } from './untrusted/rows.js';

/**
 * Random access to members of a uirgen shard by the data offsets the manifest records.
 *
 * The manifest stores where a member's data starts (offset_gt, offset_lq) but not its size. Every
 * member of a uirgen shard has a single 512-byte ustar header directly before its data (DESIGN.md
 * section 3; pipeline/tar.ts never writes pax or GNU long-name headers), so the size is read from
 * that header: the octal field at bytes 124..135. The header is also checked (checksum, regular
 * file, and the member name the caller expects), so a stale manifest or a wrong offset is reported
 * as such instead of handing a slice of some other member to the PNG decoder. The shard is untrusted input
 * (core/untrusted): the offset must fit the file, the header's size must fit what is left of it and a sane
 * allocation, and the member must be a regular file with a safe name, before a byte of data is read.
 *
 * Synchronous on purpose: it runs inside loader worker threads, where blocking only the worker is
 * what we want, and one open/read/close per sample never leaves descriptors behind when a worker
 * is terminated.
 */

export { TAR_BLOCK, parseTarHeader, type TarHeader };

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

/** The largest member this reader allocates for: far above any PNG of an image within the pixel limits. */
export const MAX_MEMBER_BYTES = 1 << 30;

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
  const fileSize = fstatSync(fd).size;
  const bad = badMemberOffset(offset);
  if (bad) throw new ShardReadError(path, `member ${name}: ${bad}; the manifest does not match this shard`);
  let header: TarHeader;
  try {
    header = parseTarHeader(readExactly(fd, path, TAR_BLOCK, offset - TAR_BLOCK));
  } catch (err) {
    if (err instanceof ShardReadError) throw err;
    throw new ShardReadError(path, `member ${name} at offset ${offset}: ${(err as Error).message}; the manifest does not match this shard`);
  }
  const unsafe = unsafeMemberName(header.name);
  if (unsafe) throw new ShardReadError(path, `member at offset ${offset} has ${unsafe}; refusing it`);
  if (header.name !== name) {
    throw new ShardReadError(path, `offset ${offset} holds ${JSON.stringify(header.name)}, expected ${JSON.stringify(name)}; the manifest does not match this shard`);
  }
  if (header.type !== '0') throw new ShardReadError(path, `member ${name} is not a regular file (type ${JSON.stringify(header.type)}); links are never followed`);
  if (offset + header.size > fileSize) {
    throw new ShardReadError(path, `member ${name} claims ${header.size} bytes, past the end of the ${fileSize}-byte shard (truncated or forged)`);
  }
  if (header.size > MAX_MEMBER_BYTES) {
    throw new ShardReadError(path, `member ${name} claims ${header.size} bytes, more than the ${MAX_MEMBER_BYTES}-byte limit of a member`);
  }
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
