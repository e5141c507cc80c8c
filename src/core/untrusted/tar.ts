import { createHash, type Hash } from 'node:crypto';

/**
 * Reading tar shards that may come from anywhere (a download, a cluster's scratch disk).
 *
 * Everything a reader needs to refuse, rather than follow, allocate for or crash on, in one place:
 * member names that climb out (`..`, absolute paths), link and other non-file members, pax/GNU extension
 * headers (uirgen never writes them, and they would move offsets), sizes that run past the end of the file,
 * corrupt headers. `TarScanner` walks an archive as a stream in constant memory (it never buffers a member),
 * hashing the whole file and each member's data, and resynchronises on the next valid header after a corrupt
 * one, so one damaged byte is reported once, where it is, and the rest of the shard is still checked.
 */

export const TAR_BLOCK = 512;

/** A tar header that cannot be read; the message says what is wrong with it. */
export class TarHeaderError extends Error {
  override name = 'TarHeaderError';
}

export interface TarHeader {
  name: string;
  size: number;
  /** ustar typeflag: '0' (or NUL, read as '0') for a regular file. */
  type: string;
}

function field(block: Uint8Array, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return Buffer.from(raw.buffer, raw.byteOffset, end < 0 ? length : end).toString('latin1');
}

function octal(block: Uint8Array, start: number, length: number): number {
  const text = field(block, start, length).trim();
  if (!/^[0-7]{1,12}$/.test(text)) return NaN;
  return parseInt(text, 8);
}

/** The header checksum: all bytes, the checksum field itself counted as spaces. */
function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  return sum;
}

/** Parse and verify one 512-byte ustar header; throws TarHeaderError saying what is wrong. */
export function parseTarHeader(block: Uint8Array): TarHeader {
  if (block.length !== TAR_BLOCK) throw new TarHeaderError(`tar header must be ${TAR_BLOCK} bytes, got ${block.length}`);
  const sum = checksum(block);
  const stored = octal(block, 148, 8);
  if (stored !== sum) {
    throw new TarHeaderError(`no tar header there (checksum ${Number.isNaN(stored) ? 'unreadable' : stored}, computed ${sum})`);
  }
  // A base-256 size (first byte with the high bit set) is how GNU tar writes members over 8 GiB: not ours.
  const size = octal(block, 124, 12);
  if (!Number.isSafeInteger(size)) throw new TarHeaderError('tar header has an unreadable size field');
  const prefix = field(block, 345, 155);
  const base = field(block, 0, 100);
  const ustar = Buffer.from(block.buffer, block.byteOffset + 257, 5).toString('latin1') === 'ustar';
  const name = ustar && prefix ? `${prefix}/${base}` : base;
  const type = String.fromCharCode(block[156] || 48);
  return { name, size, type };
}

/** True for a block of 512 zero bytes (the end-of-archive marker is two of them). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Why a member name must not be used as a path, or null when it is safe: an absolute path, a `..`
 * component, a backslash or drive letter (Windows paths), control characters, or nothing at all.
 */
export function unsafeMemberName(name: string): string | null {
  if (name.length === 0) return 'an empty name';
  if (name.startsWith('/')) return 'an absolute path';
  if (/^[A-Za-z]:/.test(name) || name.includes('\\')) return 'a Windows path (drive letter or backslash)';
  if (name.split('/').includes('..')) return 'a ".." path component (it would climb out of the extraction folder)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control characters';
  return null;
}

const TYPE_TEXT: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  '7': 'a contiguous file',
  x: 'a pax extended header',
  g: 'a pax global header',
  L: 'a GNU long-name header',
  K: 'a GNU long-link header',
};

/** What a non-regular member is, in words (for reports). */
export function memberTypeText(type: string): string {
  return TYPE_TEXT[type] ?? `an unknown member type ${JSON.stringify(type)}`;
}

/** True for link members, which a reader must never follow. */
export function isLinkType(type: string): boolean {
  return type === '1' || type === '2';
}

export type TarProblemCode =
  | 'header-corrupt'
  | 'unsafe-name'
  | 'link-member'
  | 'not-a-file'
  | 'past-eof'
  | 'padding'
  | 'trailing-bytes'
  | 'no-end-marker'
  | 'too-many-members';

/** Something wrong in the archive itself, at a byte position. */
export interface TarProblem {
  code: TarProblemCode;
  /** Byte position in the file where it is. */
  position: number;
  /** The member's name when one is known. */
  member?: string;
  message: string;
}

export interface ScannedMember {
  name: string;
  type: string;
  /** Position of the member's header. */
  header: number;
  /** Position of the member's data. */
  offset: number;
  size: number;
  /** sha256 of the data (when hashing members), else ''. */
  sha256: string;
  /** The first bytes of the data (up to `headBytes`), e.g. a PNG's signature and IHDR. */
  head: Uint8Array;
  /** The whole data when it is at most `bodyBytes` and the name ends with one of `bodySuffixes`. */
  body: Uint8Array | null;
}

export interface ScanOptions {
  /** The file's size when known: a member whose size runs past it is reported at its header. */
  fileSize?: number;
  /** Hash each member's data (verify) or only the whole file (cheaper, e.g. merge). */
  hashMembers?: boolean;
  headBytes?: number;
  /** Keep the data of small members with these name endings (e.g. ['.json']). */
  bodySuffixes?: readonly string[];
  bodyBytes?: number;
  /** Members kept in the result at most (a forged archive of millions of empty members stays bounded). */
  maxMembers?: number;
}

export interface ScanResult {
  bytes: number;
  sha256: string;
  members: ScannedMember[];
  problems: TarProblem[];
}

type Phase = 'header' | 'data' | 'padding' | 'end' | 'resync';

/**
 * A push parser for a tar archive. Feed it the file's bytes in order (`push`), then `end()`. Memory is
 * one header block plus the small heads/bodies it was asked to keep, whatever the members' sizes.
 */
export class TarScanner {
  private readonly fileHash = createHash('sha256');
  private readonly members: ScannedMember[] = [];
  private readonly problems: TarProblem[] = [];
  private readonly block = new Uint8Array(TAR_BLOCK);
  private blockFill = 0;
  private position = 0;
  private phase: Phase = 'header';
  private current: ScannedMember | null = null;
  private memberHash: Hash | null = null;
  private dataLeft = 0;
  private paddingLeft = 0;
  private paddingReported = false;
  private headFill = 0;
  private bodyParts: Uint8Array[] | null = null;
  private zeroBlocks = 0;
  private trailingReported = false;
  private readonly hashMembers: boolean;
  private readonly headBytes: number;
  private readonly bodySuffixes: readonly string[];
  private readonly bodyBytes: number;
  private readonly fileSize: number | undefined;
  private readonly maxMembers: number;

  constructor(options: ScanOptions = {}) {
    this.hashMembers = options.hashMembers ?? true;
    this.headBytes = options.headBytes ?? 64;
    this.bodySuffixes = options.bodySuffixes ?? [];
    this.bodyBytes = options.bodyBytes ?? 64 * 1024;
    this.fileSize = options.fileSize;
    this.maxMembers = options.maxMembers ?? 1_000_000;
  }

  push(chunk: Uint8Array): void {
    this.fileHash.update(chunk);
    let at = 0;
    while (at < chunk.length) {
      switch (this.phase) {
        case 'data':
          at = this.takeData(chunk, at);
          break;
        case 'padding':
          at = this.takePadding(chunk, at);
          break;
        default:
          at = this.takeBlock(chunk, at);
      }
    }
  }

  end(): ScanResult {
    const bytes = this.position + 0;
    if (this.phase === 'data') {
      const m = this.current as ScannedMember;
      // Reported at the header when the file size was known; here otherwise.
      if (!this.problems.some((p) => p.code === 'past-eof' && p.position === m.header)) {
        this.problem('past-eof', m.header, `member ${m.name} claims ${m.size} bytes but the file ends ${bytes - m.offset} bytes into it (truncated shard?)`, m.name);
      }
      this.finishMember();
    } else if (this.phase === 'padding') {
      const m = this.current as ScannedMember;
      this.problem('no-end-marker', bytes, `the archive ends at byte ${bytes}, inside the padding after member ${m.name} (truncated shard?)`, m.name);
    } else if (this.phase === 'header' || this.phase === 'resync') {
      const partial = this.blockFill > 0 ? ` (the last ${this.blockFill} bytes are a partial block)` : '';
      this.problem('no-end-marker', bytes, `the archive ends at byte ${bytes} without its end-of-archive marker${partial} (truncated shard?)`);
    } else if (this.phase === 'end' && this.zeroBlocks < 2 && !this.trailingReported) {
      this.problem('no-end-marker', bytes, `the archive ends at byte ${bytes} with one of its two end-of-archive blocks (truncated shard?)`);
    }
    return { bytes, sha256: this.fileHash.digest('hex'), members: this.members, problems: this.problems };
  }

  private problem(code: TarProblemCode, position: number, message: string, member?: string): void {
    this.problems.push({ code, position, message, ...(member !== undefined ? { member } : {}) });
  }

  /** Gather a 512-byte block (a header, an end marker, or a candidate header while resynchronising). */
  private takeBlock(chunk: Uint8Array, at: number): number {
    const n = Math.min(TAR_BLOCK - this.blockFill, chunk.length - at);
    this.block.set(chunk.subarray(at, at + n), this.blockFill);
    this.blockFill += n;
    this.position += n;
    if (this.blockFill === TAR_BLOCK) {
      this.blockFill = 0;
      this.onBlock(this.position - TAR_BLOCK);
    }
    return at + n;
  }

  private onBlock(start: number): void {
    const block = this.block;
    if (this.phase === 'end') {
      if (isZeroBlock(block)) {
        this.zeroBlocks++;
        return;
      }
      if (!this.trailingReported) {
        this.trailingReported = true;
        this.problem('trailing-bytes', start, `non-zero bytes at ${start}, after the end-of-archive marker`);
      }
      return;
    }
    if (isZeroBlock(block)) {
      if (this.phase === 'resync') return;
      this.phase = 'end';
      this.zeroBlocks = 1;
      return;
    }
    let header: TarHeader;
    try {
      header = parseTarHeader(block);
    } catch (err) {
      if (this.phase !== 'resync') {
        this.problem('header-corrupt', start, `the member header at byte ${start} is corrupt: ${(err as Error).message}; looking for the next valid header`);
        this.phase = 'resync';
      }
      return;
    }
    // While resynchronising, a block of member data that happens to pass the checksum is vanishingly
    // unlikely; the ustar magic makes it more so.
    if (this.phase === 'resync' && Buffer.from(block.buffer, block.byteOffset + 257, 5).toString('latin1') !== 'ustar') return;
    this.phase = 'header';
    this.startMember(header, start);
  }

  private startMember(header: TarHeader, start: number): void {
    const m: ScannedMember = {
      name: header.name,
      type: header.type,
      header: start,
      offset: start + TAR_BLOCK,
      size: header.size,
      sha256: '',
      head: new Uint8Array(0),
      body: null,
    };
    const unsafe = unsafeMemberName(header.name);
    if (unsafe) this.problem('unsafe-name', start, `member ${JSON.stringify(header.name)} at byte ${start} has ${unsafe}; it is never used as a path`, header.name);
    if (header.type !== '0') {
      const code = isLinkType(header.type) ? 'link-member' : 'not-a-file';
      const what = memberTypeText(header.type);
      this.problem(code, start, `member ${JSON.stringify(header.name)} at byte ${start} is ${what}, not a regular file; it is not followed`, header.name);
    }
    if (this.fileSize !== undefined && m.offset + m.size > this.fileSize) {
      this.problem(
        'past-eof',
        start,
        `member ${header.name} at byte ${start} claims ${m.size} bytes, past the end of the ${this.fileSize}-byte file (truncated or forged); its data is not read`,
        header.name,
      );
    }
    this.current = m;
    if (this.members.length < this.maxMembers) this.members.push(m);
    else if (this.members.length === this.maxMembers && !this.problems.some((p) => p.code === 'too-many-members')) {
      this.problem('too-many-members', start, `more than ${this.maxMembers} members; those after byte ${start} are scanned but not listed`);
    }
    this.memberHash = this.hashMembers ? createHash('sha256') : null;
    this.headFill = 0;
    m.head = new Uint8Array(Math.min(this.headBytes, m.size));
    const keepBody = m.size <= this.bodyBytes && this.bodySuffixes.some((s) => header.name.endsWith(s));
    this.bodyParts = keepBody ? [] : null;
    this.dataLeft = m.size;
    this.paddingLeft = (TAR_BLOCK - (m.size % TAR_BLOCK)) % TAR_BLOCK;
    this.paddingReported = false;
    this.phase = 'data';
    if (this.dataLeft === 0) this.afterData();
  }

  private takeData(chunk: Uint8Array, at: number): number {
    const n = Math.min(this.dataLeft, chunk.length - at);
    const piece = chunk.subarray(at, at + n);
    this.memberHash?.update(piece);
    const m = this.current as ScannedMember;
    if (this.headFill < m.head.length) {
      const h = Math.min(m.head.length - this.headFill, n);
      m.head.set(piece.subarray(0, h), this.headFill);
      this.headFill += h;
    }
    // A copy (Buffer's slice would be a view): the caller reuses its read buffer.
    this.bodyParts?.push(Uint8Array.prototype.slice.call(piece));
    this.dataLeft -= n;
    this.position += n;
    if (this.dataLeft === 0) this.afterData();
    return at + n;
  }

  private afterData(): void {
    this.finishMember();
    this.phase = this.paddingLeft > 0 ? 'padding' : 'header';
  }

  private finishMember(): void {
    const m = this.current;
    if (!m) return;
    if (this.memberHash) m.sha256 = this.memberHash.digest('hex');
    this.memberHash = null;
    if (this.bodyParts) m.body = this.bodyParts.length === 1 ? this.bodyParts[0] : Buffer.concat(this.bodyParts);
    this.bodyParts = null;
  }

  private takePadding(chunk: Uint8Array, at: number): number {
    const n = Math.min(this.paddingLeft, chunk.length - at);
    if (!this.paddingReported) {
      for (let i = at; i < at + n; i++) {
        if (chunk[i] !== 0) {
          const m = this.current as ScannedMember;
          const pos = this.position + (i - at);
          this.problem('padding', pos, `non-zero padding byte at ${pos}, after the data of member ${m.name}`, m.name);
          this.paddingReported = true;
          break;
        }
      }
    }
    this.paddingLeft -= n;
    this.position += n;
    if (this.paddingLeft === 0) {
      this.current = null;
      this.phase = 'header';
    }
    return at + n;
  }
}
