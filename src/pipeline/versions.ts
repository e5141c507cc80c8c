import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { registryVersion, typeVersions } from '../degradations/registry.js';
import type { TypeId } from '../degradations/types.js';
import { TOOLKIT_VERSION } from '../version.js';

/**
 * What a run records about the software that made its bytes (the `runs.versions` JSON, and a release's lock):
 * the toolkit, the libraries whose output ends up in shards, and the degradation registry with each type's
 * rendering version. Two runs with equal records render the same params to the same bytes.
 */
export interface SoftwareVersions {
  uirgen: string;
  /** The git commit of the toolkit's own checkout, or null when it is installed without one (npm). */
  git_commit: string | null;
  node: string;
  sharp: string;
  vips: string;
  'better-sqlite3': string;
  /** registryVersion(): a digest of every type's id, rendering version and level ids. */
  registry: string;
  types: Record<TypeId, number>;
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

export function softwareVersions(): SoftwareVersions {
  return {
    uirgen: TOOLKIT_VERSION,
    git_commit: toolkitCommit(),
    node: process.versions.node,
    sharp: sharp.versions.sharp,
    vips: sharp.versions.vips,
    'better-sqlite3': packageVersion('better-sqlite3'),
    registry: registryVersion(),
    types: typeVersions(),
  };
}

/** The toolkit's install folder: the one holding its package.json (two up from src/pipeline or dist/pipeline). */
const TOOLKIT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let commit: string | null | undefined;

/**
 * The commit checked out in the toolkit's folder, read from .git without running git: HEAD, then the branch
 * it names among the refs or packed-refs. A worktree's `.git` is a file naming its git dir, whose `commondir`
 * holds the shared refs. Null when the toolkit has no .git (installed from npm) or it cannot be read.
 */
export function toolkitCommit(root = TOOLKIT_ROOT): string | null {
  if (root === TOOLKIT_ROOT && commit !== undefined) return commit;
  const found = readCommit(root);
  if (root === TOOLKIT_ROOT) commit = found;
  return found;
}

function readCommit(root: string): string | null {
  try {
    const dotGit = join(root, '.git');
    if (!existsSync(dotGit)) return null;
    let gitDir = dotGit;
    if (statSync(dotGit).isFile()) {
      const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
      if (!m) return null;
      gitDir = isAbsolute(m[1].trim()) ? m[1].trim() : resolve(root, m[1].trim());
    }
    const commonFile = join(gitDir, 'commondir');
    const common = existsSync(commonFile) ? resolve(gitDir, readFileSync(commonFile, 'utf8').trim()) : gitDir;
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
    if (!ref || ref.split('/').includes('..')) return null;
    for (const dir of [gitDir, common]) {
      const file = join(dir, ref);
      if (existsSync(file)) {
        const sha = readFileSync(file, 'utf8').trim();
        return /^[0-9a-f]{40}$/.test(sha) ? sha : null;
      }
    }
    const packed = join(common, 'packed-refs');
    if (existsSync(packed)) {
      for (const line of readFileSync(packed, 'utf8').split('\n')) {
        const [sha, name] = line.trim().split(' ');
        if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
      }
    }
    return null;
  } catch {
    return null;
  }
}
