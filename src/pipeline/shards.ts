import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { TarWriter, type MemberLocation } from './tar.js';

/**
 * WebDataset shard writer.
 *
 * A sample is `<key>.<suffix>` members written consecutively in suffix order, so Python's
 * webdataset (which groups consecutive members by the name before the first dot) sees it whole.
 * The shard is written as `<name>.tar.partial` and renamed to `<name>.tar` only after its bytes are
 * on disk, so a reader (or a resumed run) never finds a half-written shard under the final name.
 */

export type { MemberLocation } from './tar.js';

export interface ShardSample {
  /** Sample key: letters, digits, _ and -; no dot (the dot separates key from member suffix). */
  key: string;
  /** Member suffix -> bytes, e.g. { 'gt.png': ..., 'json': ..., 'lq.png': ... }. */
  members: Record<string, Buffer>;
}

export interface SampleLocation {
  offsets: Record<string, MemberLocation>;
}

export interface ShardInfo {
  /** File name under the shards directory, e.g. 'uir-000003.tar'. */
  name: string;
  samples: number;
  bytes: number;
  sha256: string;
}

/** A file-system failure while writing the dataset, phrased for a user: the path and what happened. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device; free some space and run the same command again (it resumes)',
  EDQUOT: 'disk quota exceeded; free some space and run the same command again (it resumes)',
  EACCES: 'permission denied; choose an output directory you can write to',
  EPERM: 'operation not permitted; choose an output directory you can write to',
  EROFS: 'read-only file system; choose an output directory on a writable disk',
  ENOTDIR: 'a component of the path is a file, not a directory',
  EISDIR: 'is a directory',
  ENOENT: 'directory does not exist',
  EEXIST: 'already exists and is not a directory',
  EMFILE: 'too many open files',
  EIO: 'input/output error (failing disk or network file system?)',
};

/** Turn an errno-style failure into a StorageError naming `path`; other errors pass through. */
export function storageError(err: unknown, path: string, verb = 'write'): Error {
  if (err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) {
    return err instanceof Error ? err : new Error(String(err));
  }
  const text = ERRNO_TEXT[code] ?? (err as Error).message;
  return new StorageError(path, code, `cannot ${verb} ${path}: ${text} (${code})`);
}

const KEY_PATTERN = /^[A-Za-z0-9_-]+$/;
const SUFFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

type State = 'open' | 'failed' | 'closed' | 'aborted';

export class ShardWriter {
  private readonly keys = new Set<string>();
  private state: State = 'open';
  private error: Error | null = null;
  /** add() calls run one after another even if the caller does not await, so samples never interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly name: string,
    /** Where bytes go while writing: `<dir>/<name>.tar.partial`. */
    readonly partialPath: string,
    /** Where the shard appears on close: `<dir>/<name>.tar`. */
    readonly finalPath: string,
    private readonly dir: string,
    private readonly file: CoalescingFile,
    private readonly tar: TarWriter,
  ) {}

  /** Open `<dir>/<name>.tar.partial` (created or truncated); `dir` is created if missing. */
  static async create(dir: string, name: string): Promise<ShardWriter> {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty path');
    if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.length > 200) {
      throw new RangeError(`shard name must be 1..200 characters of A-Z a-z 0-9 _ - (no dot), got ${JSON.stringify(name)}`);
    }
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw storageError(err, dir, 'create directory');
    }
    const partialPath = join(dir, `${name}.tar.partial`);
    let file: FileHandle;
    try {
      file = await open(partialPath, 'w', 0o644);
    } catch (err) {
      throw storageError(err, partialPath);
    }
    const out = new CoalescingFile(file, partialPath);
    const tar = new TarWriter((chunk) => out.write(chunk));
    return new ShardWriter(name, partialPath, join(dir, `${name}.tar`), dir, out, tar);
  }

  get samples(): number {
    return this.keys.size;
  }

  /** Append one sample (members sorted by suffix); resolves with each member's data offset and size. */
  add(sample: ShardSample): Promise<SampleLocation> {
    const run = this.queue.then(() => this.addNow(sample));
    this.queue = run.catch(() => {});
    return run;
  }

  private async addNow(sample: ShardSample): Promise<SampleLocation> {
    this.assertOpen();
    const { key, members } = checkSample(sample);
    if (this.keys.has(key)) throw new RangeError(`sample key ${key} is already in shard ${this.name}`);
    this.keys.add(key);
    const offsets: Record<string, MemberLocation> = {};
    try {
      for (const suffix of Object.keys(members).sort()) {
        offsets[suffix] = await this.tar.add(`${key}.${suffix}`, members[suffix]);
      }
    } catch (err) {
      this.fail(err);
      throw this.error;
    }
    return { offsets };
  }

  /** Finish the archive, fsync it, rename it to `<name>.tar` and fsync the directory. */
  async close(): Promise<ShardInfo> {
    await this.queue;
    this.assertOpen();
    try {
      const { bytes, sha256 } = await this.tar.finish();
      await this.file.flushSyncClose();
      try {
        await rename(this.partialPath, this.finalPath);
      } catch (err) {
        throw storageError(err, this.finalPath, 'rename into');
      }
      await syncDirectory(this.dir);
      this.state = 'closed';
      return { name: `${this.name}.tar`, samples: this.keys.size, bytes, sha256 };
    } catch (err) {
      this.fail(err);
      throw this.error;
    }
  }

  /** Drop the shard: stop writing and remove the partial file. Safe after a failure, and idempotent. */
  async abort(): Promise<void> {
    if (this.state === 'closed' || this.state === 'aborted') return;
    this.state = 'aborted';
    await this.queue;
    await this.tar.destroy();
    await this.file.close().catch(() => {});
    await unlink(this.partialPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw storageError(err, this.partialPath, 'remove');
    });
  }

  private assertOpen(): void {
    if (this.state === 'failed' && this.error) throw this.error;
    if (this.state !== 'open') throw new Error(`shard ${this.name} is ${this.state}`);
  }

  private fail(err: unknown): void {
    if (this.state === 'open') {
      this.state = 'failed';
      this.error = storageError(err, this.partialPath);
    }
  }
}

/** Write size that keeps syscalls few: tar-stream hands over each header, body and padding separately. */
const WRITE_BATCH = 1 << 20;

/** Gathers the archive's small chunks into ~1 MiB writes; errors name the file. */
class CoalescingFile {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    // The chunks are tar-stream's own header/padding buffers or the caller's member buffers, which
    // are not reused, so holding references until the batch is written is safe.
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    // One gathered write of the batch's chunks (no concatenated copy of them).
    let chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      // A write may be partial (near a full disk); the rest is written again, and then the error shows.
      while (chunks.length > 0) {
        let { bytesWritten } = await this.handle.writev(chunks);
        let k = 0;
        while (k < chunks.length && bytesWritten >= chunks[k].length) bytesWritten -= chunks[k++].length;
        chunks = chunks.slice(k);
        if (chunks.length > 0 && bytesWritten > 0) chunks[0] = chunks[0].subarray(bytesWritten);
      }
    } catch (err) {
      throw storageError(err, this.path);
    }
  }

  async flushSyncClose(): Promise<void> {
    await this.flush();
    try {
      await this.handle.sync();
      await this.handle.close();
    } catch (err) {
      throw storageError(err, this.path);
    }
  }

  async close(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.close();
  }
}

function checkSample(sample: ShardSample): ShardSample {
  if (sample === null || typeof sample !== 'object') throw new TypeError('sample must be { key, members }');
  const { key, members } = sample;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new RangeError(`sample key must be letters, digits, _ or - (no dot, no slash), got ${JSON.stringify(key)}`);
  }
  if (members === null || typeof members !== 'object' || Object.keys(members).length === 0) {
    throw new RangeError(`sample ${key}: members must be a non-empty { suffix: Buffer } object`);
  }
  for (const [suffix, data] of Object.entries(members)) {
    if (!SUFFIX_PATTERN.test(suffix)) {
      throw new RangeError(`sample ${key}: member suffix must look like 'gt.png' or 'json', got ${JSON.stringify(suffix)}`);
    }
    if (!Buffer.isBuffer(data)) throw new TypeError(`sample ${key}: member ${suffix} must be a Buffer`);
  }
  return sample;
}

/** Make a rename durable. Some file systems refuse fsync on a directory; that is not an error here. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw storageError(err, dir, 'sync');
  } finally {
    await handle?.close().catch(() => {});
  }
}
