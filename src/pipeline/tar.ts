import { createHash } from 'node:crypto';
import tarStream from 'tar-stream';

/**
 * A reproducible tar stream with known byte positions.
 *
 * tar-stream encodes the format; this module pins every header field that would otherwise carry
 * the writer's clock or identity (mtime, uid/gid, uname/gname, mode), so equal inputs give equal
 * bytes, and restricts member names to plain ASCII of at most 100 bytes so every header is exactly
 * one 512-byte ustar block (no pax extension). That makes member data offsets pure arithmetic,
 * which is checked against the bytes actually produced when the archive is finished.
 */

export const TAR_BLOCK = 512;
/** Two zero blocks end a tar archive. */
export const END_OF_ARCHIVE = 2 * TAR_BLOCK;
/** The ustar name field: longer names would need a pax header, which would move offsets. */
export const MAX_MEMBER_NAME = 100;

/** Header fields that are the same for every member, whoever writes the archive and when. */
export const FIXED_HEADER = {
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  uname: '',
  gname: '',
  mtime: new Date(0),
} as const;

const NAME_PATTERN = /^[A-Za-z0-9_\-.]+$/;

/** Size of a member's data rounded up to whole blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

/** Throw unless `name` can be written as a single ustar header (ASCII letters, digits, _ - . ; <= 100 bytes). */
export function checkMemberName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_MEMBER_NAME || !NAME_PATTERN.test(name)) {
    throw new RangeError(
      `tar member name must be 1..${MAX_MEMBER_NAME} characters of A-Z a-z 0-9 _ - . , got ${JSON.stringify(name)}`,
    );
  }
}

export interface MemberLocation {
  /** Byte offset of the member's data (after its header) from the start of the archive. */
  offset: number;
  size: number;
}

export interface TarSummary {
  bytes: number;
  sha256: string;
}

/** Receives the archive's bytes in order; rejects to abort the archive (e.g. a full disk). */
export type ChunkSink = (chunk: Buffer) => Promise<void>;

export class TarWriter {
  private readonly pack = tarStream.pack();
  private readonly hash = createHash('sha256');
  /** Where the next header starts, by arithmetic. */
  private position = 0;
  /** Bytes actually handed to the sink. */
  private written = 0;
  private failure: Error | null = null;
  private readonly pumped: Promise<void>;
  private readonly failed: Promise<never>;
  private rejectFailed: (err: Error) => void = () => {};
  private finished = false;

  constructor(private readonly sink: ChunkSink) {
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    // Avoid an unhandled rejection when nobody is waiting at the moment the sink fails.
    this.failed.catch(() => {});
    this.pumped = this.pump().catch((err: unknown) => {
      this.setFailure(err);
      this.pack.destroy(this.failure ?? undefined);
    });
  }

  private async pump(): Promise<void> {
    for await (const chunk of this.pack as AsyncIterable<Buffer>) {
      this.hash.update(chunk);
      try {
        await this.sink(chunk);
      } catch (err) {
        // Record the sink's error before leaving the loop destroys the pack (which fails the
        // pending entry with a generic "tar entry destroyed").
        this.setFailure(err);
        throw err;
      }
      this.written += chunk.length;
    }
  }

  private setFailure(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.rejectFailed(this.failure);
  }

  /** Append one regular file; resolves once its bytes have been accepted by the sink's backpressure. */
  async add(name: string, data: Buffer): Promise<MemberLocation> {
    if (this.finished) throw new Error('tar archive is already finished');
    if (this.failure) throw this.failure;
    checkMemberName(name);
    if (!Buffer.isBuffer(data)) throw new TypeError(`tar member ${name}: data must be a Buffer`);
    const location = { offset: this.position + TAR_BLOCK, size: data.length };
    this.position += TAR_BLOCK + paddedSize(data.length);
    const written = new Promise<void>((resolve, reject) => {
      this.pack.entry({ ...FIXED_HEADER, name, size: data.length }, data, (err?: Error | null) => {
        if (err) reject(err);
        else resolve();
      });
    });
    written.catch(() => {});
    try {
      await Promise.race([written, this.failed]);
    } catch (err) {
      throw this.failure ?? err;
    }
    return location;
  }

  /** End the archive and wait until every byte reached the sink. */
  async finish(): Promise<TarSummary> {
    if (this.finished) throw new Error('tar archive is already finished');
    if (this.failure) throw this.failure;
    this.finished = true;
    this.pack.finalize();
    await this.pumped;
    if (this.failure) throw this.failure;
    const expected = this.position + END_OF_ARCHIVE;
    if (this.written !== expected) {
      // Would mean tar-stream laid out headers differently from ustar single blocks.
      throw new Error(`internal error: tar has ${this.written} bytes, offsets assumed ${expected}`);
    }
    return { bytes: this.written, sha256: this.hash.digest('hex') };
  }

  /** Stop without finishing; safe to call after a failure or twice. */
  async destroy(): Promise<void> {
    this.finished = true;
    if (!this.failure) this.pack.destroy();
    await this.pumped.catch(() => {});
  }
}
