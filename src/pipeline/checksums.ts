import { unsafeMemberName } from '../core/untrusted/tar.js';

/**
 * SHA256SUMS in the format of coreutils' `sha256sum` (`<64 hex>  <path>`, one a line), so that
 * `sha256sum -c SHA256SUMS` run inside the dataset folder checks a release with no uirgen at all.
 * Read as untrusted input: every line must have that shape and a path that stays inside the folder.
 */

export const SUMS_FILE = 'SHA256SUMS';

/** The largest SHA256SUMS read (a line per shard: 2.5M samples in 1000-sample shards is 2,500 lines). */
export const MAX_SUMS_BYTES = 64 * 1024 * 1024;

export interface ParsedSums {
  /** path -> sha256, in file order. */
  entries: Map<string, string>;
  /** Lines that cannot be used, with why (1-based line numbers). */
  problems: string[];
}

const LINE = /^([0-9a-fA-F]{64}) [ *](.+)$/;

export function parseSums(text: string): ParsedSums {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const m = LINE.exec(line);
    if (!m) {
      problems.push(`line ${i + 1} is not "<sha256>  <path>": ${JSON.stringify(line.slice(0, 120))}`);
      return;
    }
    const path = m[2];
    const unsafe = unsafeMemberName(path);
    if (unsafe) {
      problems.push(`line ${i + 1}: path ${JSON.stringify(path)} has ${unsafe}`);
      return;
    }
    if (entries.has(path)) {
      problems.push(`line ${i + 1}: ${path} is listed twice`);
      return;
    }
    entries.set(path, m[1].toLowerCase());
  });
  return { entries, problems };
}

/** The file's text, paths in the given order (callers sort them). */
export function formatSums(entries: ReadonlyArray<{ path: string; sha256: string }>): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join('');
}
