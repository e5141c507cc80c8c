import { describe, expect, it } from 'vitest';
import { absurdImageSize, pngHeader, pngProblem } from '../../../src/core/untrusted/png.js';
import { pngBomb } from '../../support/files.js';

describe('PNG headers from untrusted members', () => {
  it('reads the IHDR and refuses a 60000x60000 claim without decoding', () => {
    const bomb = pngBomb(60000, 60000);
    expect(pngHeader(bomb)).toMatchObject({ width: 60000, height: 60000, depth: 8, colorType: 2 });
    expect(pngProblem(bomb)).toMatch(/claims 60000x60000 \(3,600,000,000 pixels\) is past the limits .* not decoded/);
    expect(pngProblem(pngBomb(64, 64), { width: 64, height: 64 })).toBeNull();
    expect(pngProblem(pngBomb(64, 64), { width: 64, height: 32 })).toMatch(/is 64x64 but the manifest says 64x32/);
    expect(pngProblem(Buffer.from('not a png at all, just some bytes here'))).toMatch(/is not a PNG/);
  });

  it('calls sizes absurd past 65535 per side or 100 MP, and non-integers', () => {
    expect(absurdImageSize(256, 256)).toBeNull();
    expect(absurdImageSize(65536, 1)).not.toBeNull();
    expect(absurdImageSize(20000, 20000)).not.toBeNull();
    expect(absurdImageSize(0, 5)).toMatch(/empty/);
    expect(absurdImageSize(1.5, 5)).toMatch(/not a size/);
    expect(absurdImageSize('64', 64)).toMatch(/not a size/);
  });
});
