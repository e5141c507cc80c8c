import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createImage, type Image } from '../../src/core/image.js';
import { decodeImage } from '../../src/core/io.js';
import { measure } from '../../src/core/metrics.js';
import { piqe } from '../../src/core/piqe.js';
import { evaluate, savedName, type EvalSet } from '../../src/train/evaluate.js';
import { identityRestorer, type Restorer } from '../../src/train/restorer.js';
import { tempDir } from '../support/files.js';

const dir = tempDir('uirgen-evaluate-');

function image(w: number, h: number, seed: number): Image {
  const im = createImage(w, h);
  for (let i = 0; i < im.data.length; i++) im.data[i] = ((i * 131 + seed * 977) % 256) / 255;
  return im;
}

/** Darkens by 10%: a restorer with a known, non-trivial output. */
const darken: Restorer = {
  description: 'darken',
  restore: (im) => Promise.resolve(createImage(im.width, im.height, im.data.map((v) => v * 0.9))),
  dispose() {},
};

const item = (name: string, lq: Image, gt: Image | null) => ({ name, load: () => Promise.resolve({ lq, gt }) });

describe('evaluate', () => {
  const a = image(32, 24, 1);
  const b = image(32, 24, 2);
  const sets: EvalSet[] = [
    { name: 'one', task: 'derain', items: [item('x/a.jpg', a, b), item('b.png', b, a)] },
    { name: 'two', task: 'derain', items: [item('c.png', a, a)] },
    { name: 'three', task: 'deblur', items: [item('d.png', b, b)] },
    { name: 'real', task: 'deblur', items: [item('e.png', a, null)] },
  ];

  it('per image BasicSR PSNR/SSIM of the output, set means, task means over sets, the overall mean', async () => {
    const r = await evaluate(darken, sets, { metrics: { crop_border: 2 } });
    const dark = (im: Image) => createImage(im.width, im.height, im.data.map((v) => v * 0.9));
    const m1 = measure(dark(a), b, { crop_border: 2 });
    const m2 = measure(dark(b), a, { crop_border: 2 });
    expect(r.sets[0].images.map((i) => [i.name, i.psnr, i.ssim, i.piqe])).toEqual([
      ['x/a.jpg', m1.psnr, m1.ssim, null],
      ['b.png', m2.psnr, m2.ssim, null],
    ]);
    expect(r.sets[0].psnr).toBeCloseTo((m1.psnr + m2.psnr) / 2, 12);
    const m3 = measure(dark(a), a, { crop_border: 2 });
    expect(r.tasks[0]).toMatchObject({ task: 'derain', sets: ['one', 'two'] });
    expect(r.tasks[0].psnr).toBeCloseTo(((m1.psnr + m2.psnr) / 2 + m3.psnr) / 2, 12);
    // A set without ground truth gets PIQE only.
    expect(r.sets[3]).toMatchObject({ psnr: null, ssim: null, piqe: piqe(dark(a)).score });
    expect(r.tasks[1]).toMatchObject({ task: 'deblur', sets: ['three', 'real'], piqe: piqe(dark(a)).score });
    expect(r.mean.psnr).toBeCloseTo((r.sets[0].psnr! + r.sets[1].psnr! + r.sets[2].psnr!) / 3, 12);
    expect(r.metrics).toEqual({ crop_border: 2, test_y_channel: false });
  });

  it('identity: inputs measured against themselves are PSNR inf; --piqe measures every output', async () => {
    const r = await evaluate(identityRestorer(), [sets[1]], { piqeAlways: true });
    expect(r.sets[0]).toMatchObject({ psnr: Infinity, ssim: 1, piqe: piqe(a).score });
  });

  it('saves the restored PNGs under the input names, extension .png, and they decode to what was measured', async () => {
    const save = join(dir, 'out');
    const r = await evaluate(darken, sets.slice(0, 1), { save });
    expect(r.sets[0].images.map((i) => i.saved)).toEqual([join(save, 'one', 'x', 'a.png'), join(save, 'one', 'b.png')]);
    const back = await decodeImage(r.sets[0].images[0].saved!);
    const m = measure(back, b);
    expect([m.psnr, m.ssim]).toEqual([r.sets[0].images[0].psnr, r.sets[0].images[0].ssim]);
    expect(existsSync(join(save, 'one', 'b.png'))).toBe(true);
  });

  it('names saved files', () => {
    expect(savedName('hazy/0001_0.8_0.2.jpg')).toBe('hazy/0001_0.8_0.2.png');
    expect(savedName('a.b/c')).toBe('a.b/c.png');
    expect(savedName('.hidden')).toBe('.hidden.png');
  });

  it('refuses a restorer that changes the size', async () => {
    const bad: Restorer = { description: 'bad', restore: () => Promise.resolve(createImage(4, 4)), dispose() {} };
    await expect(evaluate(bad, sets.slice(0, 1))).rejects.toThrow(/returned 4x4 for the 32x24 input one\/x\/a.jpg/);
  });
});
