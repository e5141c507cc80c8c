import { cloneImage, type Image } from '../core/image.js';

/**
 * Anything that restores an image: what `uirgen eval` measures. Evaluation knows nothing of networks,
 * checkpoints or tiling; each way of getting a model is one adapter that returns a Restorer
 * (checkpoint-restorer.ts for uirgen's checkpoints; the identity, whose scores are each benchmark's input
 * quality, below).
 */
export interface Restorer {
  /** What restores, for reports and JSON: 'identity', or the checkpoint and its step. */
  readonly description: string;
  /** The restored image, same size as the input, float RGB (quantized only when measured or saved). */
  restore(image: Image): Promise<Image>;
  dispose(): void;
}

/** Returns its input: eval with it gives every benchmark's input PSNR / SSIM / PIQE. */
export function identityRestorer(): Restorer {
  return {
    description: 'identity',
    restore: (image) => Promise.resolve(cloneImage(image)),
    dispose() {},
  };
}
