import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { softwareVersions, toolkitCommit } from '../../src/pipeline/versions.js';
import { tempDir } from '../support/files.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('toolkitCommit: the toolkit checkout\'s commit, read from .git without git', () => {
  const root = tempDir('uirgen-versions-');

  it('follows HEAD to a loose ref, then to packed-refs; a detached HEAD is the commit', () => {
    const repo = join(root, 'repo');
    mkdirSync(join(repo, '.git', 'refs', 'heads'), { recursive: true });
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(repo, '.git', 'refs', 'heads', 'main'), `${A}\n`);
    expect(toolkitCommit(repo)).toBe(A);
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/packed\n');
    writeFileSync(join(repo, '.git', 'packed-refs'), `# pack-refs with: peeled\n${B} refs/heads/packed\n`);
    expect(toolkitCommit(repo)).toBe(B);
    writeFileSync(join(repo, '.git', 'HEAD'), `${A}\n`);
    expect(toolkitCommit(repo)).toBe(A);
  });

  it('reads a worktree (.git file naming its git dir, refs in the common dir)', () => {
    const main = join(root, 'main');
    const wt = join(root, 'wt');
    mkdirSync(join(main, '.git', 'worktrees', 'wt'), { recursive: true });
    mkdirSync(join(main, '.git', 'refs', 'heads'), { recursive: true });
    mkdirSync(wt);
    writeFileSync(join(wt, '.git'), `gitdir: ${join(main, '.git', 'worktrees', 'wt')}\n`);
    writeFileSync(join(main, '.git', 'worktrees', 'wt', 'HEAD'), 'ref: refs/heads/feature\n');
    writeFileSync(join(main, '.git', 'worktrees', 'wt', 'commondir'), '../..\n');
    writeFileSync(join(main, '.git', 'refs', 'heads', 'feature'), `${B}\n`);
    expect(toolkitCommit(wt)).toBe(B);
  });

  it('is null without a .git (an npm install) or with an unreadable one', () => {
    mkdirSync(join(root, 'plain'));
    expect(toolkitCommit(join(root, 'plain'))).toBeNull();
    mkdirSync(join(root, 'broken', '.git'), { recursive: true });
    writeFileSync(join(root, 'broken', '.git', 'HEAD'), 'ref: ../../etc/passwd\n');
    expect(toolkitCommit(join(root, 'broken'))).toBeNull();
  });

  it('is recorded in softwareVersions', () => {
    const v = softwareVersions();
    expect(v.git_commit === null || /^[0-9a-f]{40}$/.test(v.git_commit)).toBe(true);
  });
});
