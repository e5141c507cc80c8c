import { afterEach, describe, expect, it, vi } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng, deriveSeed } from '../../src/core/random.js';
import { psnr } from '../../src/core/metrics.js';
import * as camera from '../../src/degradations/camera.js';
import { lowLight } from '../../src/degradations/lowlight.js';
import { blurLowLightNoise as bln, darkBlurredRaw, type NightBlurParams } from '../../src/degradations/nightblur.js';
import { sampleCrops } from '../support/samples.js';

// Count the calls BLN makes into the camera model (the real functions still run).
vi.mock('../../src/degradations/camera.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/degradations/camera.js')>();
  return {
    ...actual,
    sampleCamera: vi.fn(actual.sampleCamera),
    captureRaw: vi.fn(actual.captureRaw),
    captureWithNoise: vi.fn(actual.captureWithNoise),
    addShotReadNoise: vi.fn(actual.addShotReadNoise),
  };
});

const bytes = (im: Image) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength);

/** A dark room with one small lamp (display white) in the middle. */
function lamp(size: number): Image {
  const im = createImage(size, size);
  im.data.fill(0.15);
  const c = size >> 1;
  for (let y = c - 1; y <= c + 1; y++) for (let x = c - 1; x <= c + 1; x++) im.data.fill(1, (y * size + x) * 3, (y * size + x) * 3 + 3);
  return im;
}

const saturated = (im: Image): number => {
  let n = 0;
  for (let i = 0; i < im.data.length; i += 3) if (Math.min(im.data[i], im.data[i + 1], im.data[i + 2]) >= 0.99) n++;
  return n;
};

describe('BLN (blur + low light + noise, one camera)', () => {
  afterEach(() => vi.clearAllMocks());

  it('has 10 night levels raising blur, darkness and shot noise together, inside Brooks et al.\'s shot range', () => {
    expect(bln.levels.map((l) => l.id)).toEqual(Array.from({ length: 10 }, (_, i) => `night:${i + 1}`));
    const ps = bln.levels.map((_, l) => bln.sample(l, createRng('bln-levels'), { width: 64, height: 64 }) as NightBlurParams);
    for (let l = 1; l < ps.length; l++) {
      expect(ps[l].motion.length).toBeGreaterThanOrEqual(ps[l - 1].motion.length);
      expect(ps[l].exposure).toBeLessThan(ps[l - 1].exposure);
      expect(ps[l].shot).toBeGreaterThan(ps[l - 1].shot);
    }
    for (const p of ps) expect(p.shot >= 1e-4 && p.shot <= 0.012).toBe(true);
  });

  it('draws one camera and renders one noise pass through it: no second type, no second camera', async () => {
    const [im] = await sampleCrops(48);
    const p = bln.sample(6, createRng('one-camera'), im) as NightBlurParams;
    expect(vi.mocked(camera.sampleCamera)).toHaveBeenCalledTimes(1);
    expect(Object.keys(p).sort()).toEqual(['boost', 'camera', 'exposure', 'level', 'motion', 'read', 'seed', 'shot']);
    const llApply = vi.spyOn(lowLight, 'apply');
    vi.clearAllMocks();
    await bln.apply(im, p);
    expect(vi.mocked(camera.captureRaw)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(camera.captureRaw).mock.calls[0][1]).toEqual(p.camera);
    expect(vi.mocked(camera.captureRaw).mock.calls[0][2]).toEqual({ shot: p.shot, read: p.read });
    expect(vi.mocked(camera.captureWithNoise)).not.toHaveBeenCalled();
    expect(vi.mocked(camera.addShotReadNoise)).not.toHaveBeenCalled();
    expect(llApply).not.toHaveBeenCalled();
    llApply.mockRestore();
  });

  it('the noise is one pass of shot + read noise: two noise seeds differ by what one camera predicts', async () => {
    const [, im] = await sampleCrops(64);
    const p = bln.sample(5, createRng('noise-pass'), im) as NightBlurParams;
    const a = await bln.apply(im, p);
    const b = await bln.apply(im, { ...p, seed: 'another' });
    const quiet = await bln.apply(im, { ...p, shot: 0, read: 0 });
    expect(bytes(a).equals(bytes(b))).toBe(false);
    // the clean capture is the noiseless mean; one pass with these levels, through the same camera
    const raw = darkBlurredRaw(im, p);
    const once = camera.captureRaw(raw, p.camera, { shot: p.shot, read: p.read }, createRng('reference'));
    const mse = (x: Image, y: Image) => x.data.reduce((s, v, i) => s + (v - y.data[i]) ** 2, 0) / x.data.length;
    const predicted = mse(once, quiet);
    expect(mse(a, quiet) / predicted).toBeGreaterThan(0.8);
    expect(mse(a, quiet) / predicted).toBeLessThan(1.25);
  });

  it('a lamp in the dark smears into a saturated streak (light integrated in linear light, clipped at full well)', async () => {
    const im = lamp(96);
    const p = bln.sample(9, createRng('streak'), im) as NightBlurParams;
    const streak = await bln.apply(im, { ...p, shot: 0, read: 0, boost: 32 });
    // the lamp's 9 pixels become a long saturated streak along the trajectory ...
    expect(saturated(streak)).toBeGreaterThan(25);
    // ... which a lamp only as bright as white (no light restored) does not give: blurred, it dims
    const dim = await bln.apply(im, { ...p, shot: 0, read: 0, boost: 1 });
    expect(p.boost >= 4 && p.boost <= 32).toBe(true);
    expect(saturated(dim)).toBeLessThan(5);
    // and the rest of the room is dark
    expect(streak.data[3 * 5]).toBeLessThan(0.15);
  });

  it('is deterministic, replays from JSON, keeps the size and gives 8-bit values', async () => {
    const [im] = await sampleCrops(40);
    const p = bln.sample(3, createRng(deriveSeed('bln', 3)), im);
    const a = await bln.apply(im, p);
    expect(bytes(await bln.apply(im, JSON.parse(JSON.stringify(p))))).toEqual(bytes(a));
    expect([a.width, a.height]).toEqual([40, 40]);
    expect(a.data.every((v) => Number.isInteger(Math.round(v * 255 * 1e4) / 1e4))).toBe(true);
    expect(psnr(a, im)).toBeLessThan(25);
  });
});
