import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { TarScanner, type ScanResult } from '../core/untrusted/tar.js';

/**
 * The hashing worker of verify and release: one task = one file, read in 1 MiB pieces (constant memory,
 * whatever its size) and hashed; a shard is also walked by the untrusted-tar scanner, which hashes each
 * member and keeps what the checks need (PNG heads, the small JSON members). Bytes read are added to a
 * shared counter as they go, so the main thread can draw progress without messages per chunk.
 * A symbolic link is never followed (O_NOFOLLOW), and anything but a regular file is refused.
 */

export interface ScanTask {
  path: string;
  /** 'tar': walk the archive too; 'file': hash only. */
  mode: 'tar' | 'file';
  hashMembers?: boolean;
  /** Shared byte counter (index 0), for progress. */
  progress?: BigInt64Array;
}

export type ScanOutput =
  | ({ ok: true } & ScanResult)
  | { ok: false; code: string; message: string };

const CHUNK = 1 << 20;

export function scanFile(task: ScanTask): ScanOutput {
  let fd: number;
  try {
    fd = openSync(task.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const message = code === 'ENOENT' ? 'file not found' : code === 'ELOOP' ? 'is a symbolic link (not followed)' : `cannot open (${code})`;
    return { ok: false, code, message };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, code: 'ENOTFILE', message: 'is not a regular file' };
    const scanner = task.mode === 'tar' ? new TarScanner({ fileSize: st.size, hashMembers: task.hashMembers ?? true, bodySuffixes: ['.json'] }) : null;
    const hash = scanner ? null : createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK);
    let bytes = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, bytes);
      if (n === 0) break;
      const piece = buffer.subarray(0, n);
      if (scanner) scanner.push(piece);
      else hash?.update(piece);
      bytes += n;
      if (task.progress) Atomics.add(task.progress, 0, BigInt(n));
    }
    if (scanner) return { ok: true, ...scanner.end() };
    return { ok: true, bytes, sha256: (hash as ReturnType<typeof createHash>).digest('hex'), members: [], problems: [] };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return { ok: false, code, message: `read error (${code}: ${(err as Error).message})` };
  } finally {
    closeSync(fd);
  }
}

export default function run(task: ScanTask): ScanOutput {
  return scanFile(task);
}
