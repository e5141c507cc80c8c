import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { createRng } from '../../src/core/random.js';
import { buildRestorationNet, type RestorationNet } from '../../src/train/models/nafnet.js';
import { restoreImage, tileSpans } from '../../src/train/restore.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const NET = { width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1] };

/** A smooth test picture with some texture: ramps, a sinusoid, a little noise. */
function picture(width: number, height: number): Image {
  const rng = createRng('pic');
  const img = createImage(width, height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) img.data[(y * width + x) * 3 + c] = 0.3 + 0.3 * (x / width) + 0.2 * Math.sin(0.2 * y + c) + 0.05 * rng.uniform();
  return img;
}

function randomised(seed: string): RestorationNet {
  const net = buildRestorationNet(NET, seed);
  const rng = createRng(seed);
  for (const [name, v] of net.params.entries()) {
    if (!/\.(beta|gamma)$/.test(name)) continue;
    v.assign(tf.tensor(Float32Array.from({ length: v.size }, () => 0.5 * rng.normal()), v.shape));
  }
  return net;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('tileSpans', () => {
  it('covers the axis with tiles overlapping by `overlap`, origins at multiples of the downsampling', () => {
    for (const [n, tile, overlap] of [
      [1000, 256, 32],
      [257, 256, 32],
      [300, 64, 16],
      [64, 64, 16],
      [50, 64, 16],
    ]) {
      const spans = tileSpans(n, tile, overlap, 4);
      expect(spans[0].start).toBe(0);
      expect(spans[spans.length - 1].start + spans[spans.length - 1].size).toBeGreaterThanOrEqual(n);
      for (const s of spans) expect([s.start % 4, s.size % 4, s.size <= Math.max(tile, 4 * Math.ceil(n / 4))]).toEqual([0, 0, true]);
      for (let i = 1; i < spans.length; i++) {
        expect(spans[i].start - spans[i - 1].start).toBe(tile - overlap);
        expect(spans[i].size).toBeGreaterThan(overlap);
      }
    }
  });
});

describe('restoreImage', () => {
  it('equals one whole-image pass for a network whose reach is under overlap / 4 (fresh NAFNet: identity blocks)', async () => {
    const net = buildRestorationNet(NET, 'local');
    const img = picture(150, 90); // not multiples of the downsampling: reflect-padded and cropped
    const whole = await restoreImage(net, img, { tile: 1024, overlap: 0 });
    const tiled = await restoreImage(net, img, { tile: 64, overlap: 32 });
    expect([tiled.width, tiled.height]).toEqual([150, 90]);
    expect(maxAbsDiff(tiled.data, whole.data)).toBeLessThan(1e-5);
    net.dispose();
  });

  it('blends tiles without seams where the channel attention makes tiles differ from the whole image', async () => {
    const net = randomised('sca');
    const img = picture(160, 40);
    const whole = await restoreImage(net, img, { tile: 1024, overlap: 0 });
    // the largest column-to-column step of (tiled - whole): a seam is a step the whole image does not have
    const step = (o: Image): number => {
      let m = 0;
      for (let y = 0; y < o.height; y++)
        for (let x = 1; x < o.width; x++)
          for (let c = 0; c < 3; c++) {
            const i = (y * o.width + x) * 3 + c;
            m = Math.max(m, Math.abs(o.data[i] - whole.data[i] - (o.data[i - 3] - whole.data[i - 3])));
          }
      return m;
    };
    const hard = await restoreImage(net, img, { tile: 64, overlap: 0 });
    const blended = await restoreImage(net, img, { tile: 64, overlap: 32 });
    expect(maxAbsDiff(hard.data, whole.data)).toBeGreaterThan(1e-3); // tiles really differ from one pass
    expect(step(blended)).toBeLessThan(0.25 * step(hard));
    net.dispose();
  });

  it('runs the network on tiles only: memory follows the tile size, not the image', async () => {
    const net = buildRestorationNet(NET, 'spy');
    const shapes: number[][] = [];
    const restore = net.restore.bind(net);
    const spy: RestorationNet = { ...net, restore: (x) => (shapes.push(x.shape), restore(x)) };
    let progress = 0;
    await restoreImage(spy, picture(150, 100), { tile: 32, overlap: 8, onTile: (d) => (progress = d) });
    expect(shapes.length).toBe(Math.ceil((150 - 32) / 24 + 1) * Math.ceil((100 - 32) / 24 + 1));
    expect(progress).toBe(shapes.length);
    expect(Math.max(...shapes.map((s) => s[1] * s[2]))).toBeLessThanOrEqual(32 * 32);
    net.dispose();
  });

  it('rejects tiles and overlaps the network cannot use', async () => {
    const net = buildRestorationNet(NET, 'bad');
    await expect(restoreImage(net, picture(8, 8), { tile: 30 })).rejects.toThrow(/tile must be a positive multiple of 4/);
    await expect(restoreImage(net, picture(8, 8), { tile: 32, overlap: 20 })).rejects.toThrow(/overlap must be/);
    await expect(restoreImage(net, picture(8, 8), { tile: 32, overlap: 6 })).rejects.toThrow(/overlap must be/);
    net.dispose();
  });
});
