import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropDepthMap, decodeDepthMap, DepthMapError } from '../../src/core/depthmap.js';
import { writeDepthMap } from '../support/depth.js';

const dir = mkdtempSync(join(tmpdir(), 'uirgen-depthmap-'));

describe('depth maps', () => {
  it('reads a 16-bit map at full precision, normalized over the map, inverse maps flipped (1 = far)', async () => {
    const path = join(dir, 'ramp.png');
    // inverse depth 0.2 .. 0.8 left to right: the left is far, the right near
    writeDepthMap(path, 64, 8, (x) => 0.2 + (0.6 * x) / 63);
    const bytes = readFileSync(path);
    expect((await sharp(bytes).metadata()).depth).toBe('ushort');
    const inv = await decodeDepthMap(bytes, 'inverse', path);
    expect(inv.width).toBe(64);
    expect(inv.data[0]).toBeCloseTo(1, 4);
    expect(inv.data[63]).toBeCloseTo(0, 4);
    expect(inv.data[31]).toBeCloseTo(1 - 31 / 63, 4);
    const far = await decodeDepthMap(bytes, 'depth', path);
    expect(far.data[0]).toBeCloseTo(0, 4);
    expect(far.sha256).toMatch(/^[0-9a-f]{64}$/);
    // resized to its source when written at another size of the same aspect; cropped like the source
    const big = await decodeDepthMap(bytes, 'inverse', path, { width: 128, height: 16 });
    expect([big.width, big.height]).toEqual([128, 16]);
    const crop = cropDepthMap(big, 100, 4, 20, 10);
    expect(crop.data[0]).toBe(big.data[4 * 128 + 100]);
    await expect(decodeDepthMap(bytes, 'inverse', path, { width: 64, height: 64 })).rejects.toThrow(/aspect/);
  });

  it('refuses colour images (a colour-mapped visualization is not a depth map)', async () => {
    const rgb = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer();
    await expect(decodeDepthMap(rgb, 'inverse', 'viz.png')).rejects.toThrow(DepthMapError);
    await expect(decodeDepthMap(rgb, 'inverse', 'viz.png')).rejects.toThrow(/greyscale/);
  });
});
