import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/**
 * Finding source images: a recursive, sorted walk that follows symbolic links without looping,
 * and a streamed content fingerprint (the plan orders sources by it, so paths do not matter).
 */

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  'png', 'jpg', 'jpeg', 'webp', 'tif', 'tiff', 'avif', 'gif', 'heic',
]);

export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface WalkResult {
  /** Image files, sorted by code point, each once. */
  files: string[];
  /** Entries that could not be read or followed, with a reason a user can act on. */
  skipped: SkippedEntry[];
}

export function hasImageExtension(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(path).slice(1).toLowerCase());
}

function reasonOf(err: unknown, link: boolean): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return link ? 'broken symbolic link (its target does not exist)' : 'not found';
    case 'ELOOP':
      return 'symbolic link loop';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'not a directory';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Image files under `dirs` (a file given directly is taken if it has an image extension), found
 * recursively. Symbolic links are followed; a directory reached twice (a link to an ancestor, or
 * two links to one place) is walked once and the repeat is reported in `skipped`. Files without an
 * image extension are ignored silently.
 */
export async function walkSources(dirs: readonly string[]): Promise<WalkResult> {
  if (!Array.isArray(dirs) || dirs.some((d) => typeof d !== 'string' || d.length === 0)) {
    throw new TypeError('dirs must be an array of non-empty paths');
  }
  const files = new Set<string>();
  const skipped: SkippedEntry[] = [];
  const visited = new Map<string, string>(); // real path -> the path it was first walked as

  const walkDir = async (dir: string): Promise<void> => {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      skipped.push({ path: dir, reason: reasonOf(err, true) });
      return;
    }
    const first = visited.get(real);
    if (first !== undefined) {
      skipped.push({ path: dir, reason: `directory already walked as ${first} (symbolic link loop or repeated link)` });
      return;
    }
    visited.set(real, dir);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      skipped.push({ path: dir, reason: `cannot list directory: ${reasonOf(err, false)}` });
      return;
    }
    entries.sort((a, b) => byCodePoint(a.name, b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walkDir(path);
      } else if (entry.isFile()) {
        if (hasImageExtension(entry.name)) files.add(path);
      } else if (entry.isSymbolicLink()) {
        let target;
        try {
          target = await stat(path);
        } catch (err) {
          // A dangling link named like an image is worth reporting; one named otherwise is noise.
          if (hasImageExtension(entry.name) || (err as NodeJS.ErrnoException).code === 'ELOOP') {
            skipped.push({ path, reason: reasonOf(err, true) });
          }
          continue;
        }
        if (target.isDirectory()) await walkDir(path);
        else if (target.isFile() && hasImageExtension(entry.name)) files.add(path);
      }
      // Sockets, FIFOs and devices are not images, whatever their names.
    }
  };

  for (const input of dirs) {
    let info;
    try {
      info = await stat(input);
    } catch (err) {
      skipped.push({ path: input, reason: reasonOf(err, false) });
      continue;
    }
    if (info.isDirectory()) await walkDir(input);
    else if (info.isFile() && hasImageExtension(input)) files.add(input);
    else skipped.push({ path: input, reason: 'not a directory or an image file' });
  }
  return { files: [...files].sort(byCodePoint), skipped };
}

/** sha256 (hex) of a file's bytes, streamed so large files never sit in memory. */
export async function fingerprint(path: string): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw Object.assign(new Error(`cannot read ${path}: ${reasonOf(err, false)}`), { code });
  }
  return hash.digest('hex');
}
