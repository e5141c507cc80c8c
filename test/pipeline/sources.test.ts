import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, walkSources } from '../../src/pipeline/sources.js';

const root = mkdtempSync(join(tmpdir(), 'uirgen-sources-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function tree(files: string[]): string {
  const base = join(root, `t${counter++}`);
  for (const f of files) {
    mkdirSync(join(base, f, '..'), { recursive: true });
    writeFileSync(join(base, f), f);
  }
  return base;
}

describe('walkSources', () => {
  it('walks recursively, keeps image extensions in any case, and sorts by code point', async () => {
    const base = tree(['b.PNG', 'a/z.jpg', 'a/y/x.JpEg', 'C.webp', 'notes.txt', 'a/raw.dng', 'd.tif', 'e.TIFF', 'f.avif', 'g.gif', 'h.HEIC', 'noext']);
    const { files, skipped } = await walkSources([base]);
    const rel = files.map((f) => f.slice(base.length + 1));
    expect(rel).toEqual(['C.webp', 'a/y/x.JpEg', 'a/z.jpg', 'b.PNG', 'd.tif', 'e.TIFF', 'f.avif', 'g.gif', 'h.HEIC']);
    expect(skipped).toEqual([]);
  });

  it('does not hang on a symbolic link to a parent, and reports the repeat', async () => {
    const base = tree(['top.png', 'sub/inner.png']);
    symlinkSync('..', join(base, 'sub', 'up'));
    symlinkSync(base, join(base, 'sub', 'abs'));
    const { files, skipped } = await walkSources([base]);
    expect(files.map((f) => f.slice(base.length + 1))).toEqual(['sub/inner.png', 'top.png']);
    expect(skipped.map((s) => s.path.slice(base.length + 1)).sort()).toEqual(['sub/abs', 'sub/up']);
    expect(skipped[0].reason).toMatch(/already walked/);
  });

  it('follows links to files and directories elsewhere', async () => {
    const other = tree(['o1.png', 'deep/o2.jpg']);
    const base = tree(['own.png']);
    symlinkSync(other, join(base, 'linked'));
    symlinkSync(join(other, 'o1.png'), join(base, 'direct.png'));
    const { files } = await walkSources([base]);
    expect(files.map((f) => f.slice(base.length + 1))).toEqual(['direct.png', 'linked/deep/o2.jpg', 'linked/o1.png', 'own.png']);
  });

  it('reports broken links, self-loops, missing inputs and non-image inputs in skipped', async () => {
    const base = tree(['ok.png', 'readme.md']);
    symlinkSync(join(base, 'nowhere.png'), join(base, 'dangling.png'));
    symlinkSync(join(base, 'self'), join(base, 'self'));
    const missing = join(base, 'missing-dir');
    const { files, skipped } = await walkSources([base, missing, join(base, 'readme.md'), join(base, 'ok.png')]);
    expect(files).toEqual([join(base, 'ok.png')]);
    const reasons = Object.fromEntries(skipped.map((s) => [s.path.slice(base.length + 1), s.reason]));
    expect(reasons).toEqual({
      'dangling.png': 'broken symbolic link (its target does not exist)',
      self: 'symbolic link loop',
      'missing-dir': 'not found',
      'readme.md': 'not a directory or an image file',
    });
  });

  it.skipIf(process.getuid?.() === 0)('reports an unreadable directory (non-root only)', async () => {
    const base = tree(['ok.png', 'locked/hidden.png']);
    chmodSync(join(base, 'locked'), 0o000);
    try {
      const { files, skipped } = await walkSources([base]);
      expect(files).toEqual([join(base, 'ok.png')]);
      expect(skipped).toEqual([{ path: join(base, 'locked'), reason: 'cannot list directory: permission denied' }]);
    } finally {
      chmodSync(join(base, 'locked'), 0o755);
    }
  });
});

describe('fingerprint', () => {
  it('is the sha256 of the bytes, also for files larger than one stream chunk', async () => {
    const base = tree([]);
    mkdirSync(base, { recursive: true });
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 255;
    writeFileSync(join(base, 'big.bin'), big);
    expect(await fingerprint(join(base, 'big.bin'))).toBe(createHash('sha256').update(big).digest('hex'));
    writeFileSync(join(base, 'empty.bin'), '');
    expect(await fingerprint(join(base, 'empty.bin'))).toBe(createHash('sha256').digest('hex'));
    await expect(fingerprint(join(base, 'nope.png'))).rejects.toThrow(`cannot read ${join(base, 'nope.png')}: not found`);
  });
});
