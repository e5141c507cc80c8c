import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerNormRef } from './reference.js';
import { defineLayerNorm, ParamStore, pixelShuffle } from '../../../src/train/models/layers.js';
import { buildNet, makeMasks, sampleMaskCells, validateConfig, type NetConfig } from '../../../src/train/models/maskdcpt-net.js';
import { tinyNetConfig } from './synthetic.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tiny = (over: Partial<NetConfig> = {}): NetConfig => tinyNetConfig({ classes: ['a', 'b', 'c'], ...over });

function randomImages(n: number, size: number, seed: number): Float32Array {
  const out = new Float32Array(n * size * size * 3);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 2147483648;
  }
  return out;
}

describe('sampleMaskCells', () => {
  it('keeps exactly round(cells * (1 - ratio)) cells per image, seeded', () => {
    const a = sampleMaskCells(3, 4, 4, 0.5, 's1');
    for (let b = 0; b < 3; b++) expect(a.subarray(b * 16, b * 16 + 16).reduce((x, y) => x + y, 0)).toBe(8);
    expect(Buffer.from(sampleMaskCells(3, 4, 4, 0.5, 's1'))).toEqual(Buffer.from(a));
    expect(Buffer.from(sampleMaskCells(3, 4, 4, 0.5, 's2'))).not.toEqual(Buffer.from(a));
    const c = sampleMaskCells(2, 5, 5, 0.75, 'x');
    expect(c.subarray(0, 25).reduce((x, y) => x + y, 0)).toBe(6);
    expect(() => sampleMaskCells(1, 2, 2, 1, 's')).toThrow(/mask ratio/);
  });
});

describe('makeMasks', () => {
  it('repeats every cell over its 2^k x 2^k block at each level', () => {
    const cells = Uint8Array.from([1, 0, 0, 1, 0, 1, 1, 0]); // 2 images of 2x2 cells
    const masks = makeMasks(cells, 2, 8, 8, 4, 2);
    expect(masks.map((m) => m.shape)).toEqual([
      [2, 8, 8, 1],
      [2, 4, 4, 1],
      [2, 2, 2, 1],
    ]);
    const full = masks[0].arraySync() as number[][][][];
    for (let b = 0; b < 2; b++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) expect(full[b][y][x][0]).toBe(cells[b * 4 + Math.floor(y / 4) * 2 + Math.floor(x / 4)]);
    tf.dispose(masks);
  });
});

describe('layers', () => {
  it('pixelShuffle moves channel (i*r + j)*c + k to offset (i, j)', () => {
    const n = 1, h = 2, w = 3, r = 2, c = 2;
    const x = tf.tensor4d(Float32Array.from({ length: n * h * w * r * r * c }, (_, i) => i), [n, h, w, r * r * c]);
    const y = pixelShuffle(x, r).arraySync()[0];
    const xs = x.arraySync()[0];
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++)
        for (let i = 0; i < r; i++)
          for (let j = 0; j < r; j++)
            for (let k = 0; k < c; k++) expect(y[yy * r + i][xx * r + j][k]).toBe(xs[yy][xx][(i * r + j) * c + k]);
  });

  it('LayerNorm2d normalises each pixel over its channels', () => {
    const ps = new ParamStore('ln');
    const ln = defineLayerNorm(ps, 'ln', 5, 1e-6);
    const x = tf.tensor4d(randomImages(1, 6, 7).slice(0, 90), [2, 3, 3, 5]);
    const got = ln(x).dataSync();
    const want = layerNormRef(x.dataSync() as Float32Array, 5, 1e-6);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    ps.dispose();
  });
});

describe('buildNet', () => {
  it('names parameters stably and initialises them from the seed', () => {
    const a = buildNet(tiny());
    const b = buildNet(tiny());
    const c = buildNet(tiny({ initSeed: 'other' }));
    expect(a.params.names()).toEqual(b.params.names());
    expect(a.params.names()).toContain('encoders.0.blocks.0.conv1.weight');
    expect(a.params.names()).toContain('ending.weight');
    expect(a.params.names()).toContain('dc.fc.weight');
    expect(a.restorationNames.every((n) => !n.startsWith('dc.'))).toBe(true);
    expect(a.params.names().filter((n) => !n.startsWith('dc.'))).toEqual(a.restorationNames);
    const w = (n: typeof a) => Buffer.from(n.params.get('intro.weight').dataSync().buffer);
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(c));
    [a, b, c].forEach((n) => n.dispose());
  });

  it('gives logits per class and a restored image; dcpt the same network without the reconstruction by default', () => {
    const net = buildNet(tiny());
    const lq = tf.tensor4d(randomImages(2, 8, 1), [2, 8, 8, 3]);
    const out = net.forward(lq, makeMasks(sampleMaskCells(2, 2, 2, 0.5, 'm'), 2, 8, 8, 4, 2));
    expect(out.logits.shape).toEqual([2, 3]);
    expect(out.restored?.shape).toEqual([2, 8, 8, 3]);
    const dcpt = buildNet(tiny({ method: 'dcpt' }));
    expect(dcpt.forward(lq, null).restored).toBeNull();
    expect(dcpt.params.names()).toEqual(net.params.names());
    expect(() => net.forward(tf.zeros([1, 6, 6, 3]) as tf.Tensor4D, null)).toThrow(/multiples of 4/);
    net.dispose();
    dcpt.dispose();
  });

  it('sees nothing of the masked patches: their content does not change any output', () => {
    const net = buildNet(tiny());
    // Make every residual scale non-zero so that all branches contribute.
    for (const name of net.params.names()) if (/\.(beta|gamma)$/.test(name)) net.params.get(name).assign(tf.fill(net.params.get(name).shape, 0.5));
    const cells = sampleMaskCells(2, 2, 2, 0.5, 'leak');
    const masks = makeMasks(cells, 2, 8, 8, 4, 2);
    const a = randomImages(2, 8, 3);
    const b = Float32Array.from(a);
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          if (cells[n * 4 + Math.floor(y / 4) * 2 + Math.floor(x / 4)] === 0) for (let ch = 0; ch < 3; ch++) b[((n * 8 + y) * 8 + x) * 3 + ch] = 1 - b[((n * 8 + y) * 8 + x) * 3 + ch];
    expect(Buffer.from(a.buffer)).not.toEqual(Buffer.from(b.buffer));
    const oa = net.forward(tf.tensor4d(a, [2, 8, 8, 3]), masks);
    const ob = net.forward(tf.tensor4d(b, [2, 8, 8, 3]), masks);
    expect(Buffer.from(oa.logits.dataSync().buffer)).toEqual(Buffer.from(ob.logits.dataSync().buffer));
    expect(Buffer.from((oa.restored as tf.Tensor).dataSync().buffer)).toEqual(Buffer.from((ob.restored as tf.Tensor).dataSync().buffer));
    // Without the mask the same change is seen.
    const da = net.forward(tf.tensor4d(a, [2, 8, 8, 3]), null).logits.dataSync();
    const db = net.forward(tf.tensor4d(b, [2, 8, 8, 3]), null).logits.dataSync();
    expect(Buffer.from(da.buffer)).not.toEqual(Buffer.from(db.buffer));
    net.dispose();
  });

  it('validates its configuration naming the field', () => {
    expect(() => validateConfig(tiny({ width: 0 }))).toThrow(/width/);
    expect(() => validateConfig(tiny({ decBlocks: [1] }))).toThrow(/decBlocks/);
    expect(() => validateConfig(tiny({ classes: ['a'] }))).toThrow(/classes/);
    expect(() => validateConfig(tiny({ method: 'mae' as 'dcpt' }))).toThrow(/method/);
    expect(() => validateConfig(tiny({ maskWindow: 6 }))).toThrow(/maskWindow must be a multiple of 4/);
  });
});
