import { move } from 'piscina';
import sharp from 'sharp';
import { createRng, deriveSeed } from '../core/random.js';
import { MAX_IMAGE_PIXELS, pngHeader, pngProblem } from '../core/untrusted/png.js';
import { readMembers, ShardReadError } from '../core/shard-reader.js';

/**
 * The loader worker: one task = one sample. It reads the sample's two PNG members from its shard at
 * the manifest's offsets, decodes only the crop window (sharp `extract`, so the full image never
 * becomes float), applies the sample's flip/rotation while converting to float, and returns
 * gt and lq patches in one transferred Float32Array.
 *
 * Every random choice comes from `augmentFor(seed, epoch, key)`: a hash of the stream seed, the
 * epoch and the sample key, never a stream shared between samples, so the result does not depend
 * on which worker runs the task or in what order tasks finish.
 */

// Loader threads run beside the trainer on a small machine: one libvips thread per call avoids
// oversubscription, and the operation cache would only hold buffers that are never reused.
sharp.concurrency(1);
sharp.cache(false);

export interface LoadTask {
  /** Absolute path of the shard file. */
  shard: string;
  key: string;
  offsetGt: number;
  offsetLq: number;
  /** Image size as the manifest records it (both images of a sample have this size). */
  width: number;
  height: number;
  patch: number;
  seed: string;
  epoch: number;
}

export interface Augment {
  /** Top-left corner of the crop window in the stored images. */
  x: number;
  y: number;
  /** Mirror left-right before rotating. */
  flip: boolean;
  /** Counter-clockwise quarter turns after the flip, 0..3 (numpy rot90 convention). */
  rot: number;
}

/** The crop and dihedral transform of one sample in one epoch: a pure function of its arguments. */
export function augmentFor(seed: string, epoch: number, key: string, width: number, height: number, patch: number): Augment {
  if (!Number.isInteger(patch) || patch < 1) throw new RangeError(`patch must be an integer >= 1, got ${patch}`);
  if (width < patch || height < patch) {
    throw new RangeError(`sample ${key} is ${width}x${height}, smaller than the ${patch}x${patch} patch`);
  }
  const rng = createRng(deriveSeed(seed, epoch, key));
  const x = rng.int(0, width - patch);
  const y = rng.int(0, height - patch);
  const flip = rng.uniform() < 0.5;
  const rot = rng.int(0, 3);
  return { x, y, flip, rot };
}

/**
 * Write the P x P RGB8 window `src` into `out` (at `outOffset`) as floats in [0, 1], mirrored
 * left-right if `flip`, then turned `rot` quarter turns counter-clockwise:
 * out = rot90(fliplr(src), rot) in numpy terms. Index arithmetic only; identical for lq and gt.
 */
export function transformPatch(src: Uint8Array, patch: number, aug: Pick<Augment, 'flip' | 'rot'>, out: Float32Array, outOffset: number): void {
  const n = patch - 1;
  const rot = ((aug.rot % 4) + 4) % 4;
  const inv = 1 / 255;
  let o = outOffset;
  for (let y = 0; y < patch; y++) {
    for (let x = 0; x < patch; x++) {
      // Source pixel of output (y, x) under rot90^rot: np.rot90(a)[i, j] = a[j, n - i].
      let sy: number;
      let sx: number;
      if (rot === 0) {
        sy = y;
        sx = x;
      } else if (rot === 1) {
        sy = x;
        sx = n - y;
      } else if (rot === 2) {
        sy = n - y;
        sx = n - x;
      } else {
        sy = n - x;
        sx = y;
      }
      if (aug.flip) sx = n - sx;
      const s = (sy * patch + sx) * 3;
      out[o] = src[s] * inv;
      out[o + 1] = src[s + 1] * inv;
      out[o + 2] = src[s + 2] * inv;
      o += 3;
    }
  }
}

async function decodeWindow(png: Buffer, where: string, task: LoadTask, aug: Augment): Promise<Buffer> {
  // Checked before sharp sees it: a forged header claiming a huge image is refused without decoding.
  const problem = pngProblem(png, { width: task.width, height: task.height });
  if (problem) throw new ShardReadError(task.shard, `${where} ${problem}`);
  const header = pngHeader(png) as NonNullable<ReturnType<typeof pngHeader>>;
  let pipeline = sharp(png, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS }).extract({ left: aug.x, top: aug.y, width: task.patch, height: task.patch });
  // uirgen writes 8-bit RGB; anything else (imported greyscale, alpha, 16-bit) is brought to it the
  // way core/io decodeImage does (alpha over white, sRGB), then cast to 8 bits.
  if (header.depth !== 8 || header.colorType !== 2) {
    pipeline = pipeline.flatten({ background: { r: 255, g: 255, b: 255 } }).toColourspace('srgb');
  }
  let result: { data: Buffer; info: sharp.OutputInfo };
  try {
    result = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ShardReadError(task.shard, `${where}: cannot decode (${(err as Error).message.split('\n')[0]})`);
  }
  const { data, info } = result;
  if (info.channels !== 3 || data.length !== task.patch * task.patch * 3) {
    throw new ShardReadError(task.shard, `${where} decoded to ${info.channels} channels, expected 3`);
  }
  return data;
}

/** Load one sample: gt patch then lq patch, NHWC float32, in one buffer of 2 * patch * patch * 3. */
export async function loadSample(task: LoadTask): Promise<Float32Array> {
  const aug = augmentFor(task.seed, task.epoch, task.key, task.width, task.height, task.patch);
  const [gtPng, lqPng] = readMembers(task.shard, [
    { offset: task.offsetGt, name: `${task.key}.gt.png` },
    { offset: task.offsetLq, name: `${task.key}.lq.png` },
  ]);
  const [gt, lq] = await Promise.all([
    decodeWindow(gtPng, `${task.key}.gt.png`, task, aug),
    decodeWindow(lqPng, `${task.key}.lq.png`, task, aug),
  ]);
  const plane = task.patch * task.patch * 3;
  const out = new Float32Array(2 * plane);
  transformPatch(gt, task.patch, aug, out, 0);
  transformPatch(lq, task.patch, aug, out, plane);
  return out;
}

/** Piscina entry point: the result's buffer is transferred, not copied. */
export default async function run(task: LoadTask): Promise<Float32Array> {
  return move(await loadSample(task)) as Float32Array;
}
