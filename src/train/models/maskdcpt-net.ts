import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '../../core/random.js';
import { defineClassifier, type Classifier } from './classifier.js';
import { ParamStore } from './layers.js';
import { defineDecoder, defineEncoder, type Decoder, type Encoder } from './nafnet.js';

/**
 * The MaskDCPT pre-training network (Hu et al. 2025): a NAFNet encoder fed the masked LQ image, a
 * classification decoder over its multi-level features and a NAFNet reconstruction decoder predicting
 * the clean image. `method: 'dcpt'` is the earlier DCPT (Hu et al. 2024): no mask, no reconstruction.
 */

export type Method = 'maskdcpt' | 'dcpt';

export interface NetConfig {
  method: Method;
  /** Channels after the intro conv; doubled at every downsampling. */
  width: number;
  /** NAF blocks per encoder stage; its length is the number of 2x downsamplings. */
  encBlocks: number[];
  middleBlocks: number;
  /** NAF blocks per decoder stage, deepest first; same length as encBlocks. */
  decBlocks: number[];
  /** Bottleneck blocks per classifier stage. */
  clsBlocks: number;
  /** Classifier bottleneck width / level channels. */
  clsExpand: number;
  /** Degradation type ids, label = index. */
  classes: string[];
  /** Seed of the initial weights. */
  initSeed: string;
}

/**
 * The tiny default: width 16, one NAF block per stage, three downsamplings, one bottleneck block per
 * classifier stage at expansion 1. (The released classifier expands bottlenecks 2x; at this size that
 * makes the auxiliary head cost more than the encoder it trains: 2.3 s vs 1.4 s per 16x64x64 step on wasm.)
 */
export const TINY_DEFAULTS = {
  width: 16,
  encBlocks: [1, 1, 1],
  middleBlocks: 1,
  decBlocks: [1, 1, 1],
  clsBlocks: 1,
  clsExpand: 1,
} as const;

function positiveInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
}

export function validateConfig(c: NetConfig): NetConfig {
  if (c.method !== 'maskdcpt' && c.method !== 'dcpt') throw new RangeError(`method must be maskdcpt or dcpt, got ${String(c.method)}`);
  positiveInt('width', c.width, 1, 1024);
  if (!Array.isArray(c.encBlocks) || c.encBlocks.length < 1 || c.encBlocks.length > 6) {
    throw new RangeError(`encBlocks must list 1..6 stages, got ${JSON.stringify(c.encBlocks)}`);
  }
  c.encBlocks.forEach((n, i) => positiveInt(`encBlocks[${i}]`, n, 0, 64));
  positiveInt('middleBlocks', c.middleBlocks, 0, 64);
  if (!Array.isArray(c.decBlocks) || c.decBlocks.length !== c.encBlocks.length) {
    throw new RangeError(`decBlocks must have ${c.encBlocks.length} stages (one per encoder stage), got ${JSON.stringify(c.decBlocks)}`);
  }
  c.decBlocks.forEach((n, i) => positiveInt(`decBlocks[${i}]`, n, 0, 64));
  positiveInt('clsBlocks', c.clsBlocks, 1, 16);
  if (typeof c.clsExpand !== 'number' || !(c.clsExpand > 0 && c.clsExpand <= 8)) {
    throw new RangeError(`clsExpand must be in (0, 8], got ${String(c.clsExpand)}`);
  }
  if (!Array.isArray(c.classes) || c.classes.length < 2 || c.classes.some((s) => typeof s !== 'string')) {
    throw new RangeError(`classes must list at least 2 degradation type ids, got ${JSON.stringify(c.classes)}`);
  }
  if (typeof c.initSeed !== 'string') throw new RangeError('initSeed must be a string');
  return c;
}

/** The total downsampling factor of the encoder: also the masking patch size and the patch-size quantum. */
export function downFactor(c: Pick<NetConfig, 'encBlocks'>): number {
  return 2 ** c.encBlocks.length;
}

export interface NetOutput {
  logits: tf.Tensor2D;
  /** Predicted clean image [n, h, w, 3] (maskdcpt only). */
  restored: tf.Tensor4D | null;
}

export interface MaskDcptNet {
  readonly config: NetConfig;
  readonly params: ParamStore;
  /** `masks` from makeMasks (maskdcpt) or null (dcpt, or evaluation without masking). */
  forward(lq: tf.Tensor4D, masks: tf.Tensor4D[] | null): NetOutput;
  dispose(): void;
}

export function buildNet(config: NetConfig): MaskDcptNet {
  validateConfig(config);
  const params = new ParamStore(config.initSeed);
  const encoder: Encoder = defineEncoder(params, config.width, config.encBlocks, config.middleBlocks);
  const dims = [...config.encBlocks.map((_, i) => config.width * 2 ** i), config.width * 2 ** config.encBlocks.length];
  const classifier: Classifier = defineClassifier(params, {
    dims,
    blocks: config.clsBlocks,
    expand: config.clsExpand,
    classes: config.classes.length,
  });
  const decoder: Decoder | null = config.method === 'maskdcpt' ? defineDecoder(params, config.width, config.decBlocks, true) : null;
  const factor = downFactor(config);
  return {
    config,
    params,
    forward(lq, masks) {
      const [, h, w, c] = lq.shape;
      if (c !== 3 || h % factor !== 0 || w % factor !== 0) {
        throw new RangeError(`input must be [n, h, w, 3] with h and w multiples of ${factor}, got [${lq.shape}]`);
      }
      const enc = encoder(lq, masks);
      const logits = classifier([...enc.skips, enc.deepest]);
      return { logits, restored: decoder ? decoder(enc, masks) : null };
    },
    dispose() {
      params.dispose();
    },
  };
}

/**
 * SparK / MaskDCPT patch masking: per image, exactly max(1, round(cells * (1 - ratio))) of the (h/f) x (w/f) cells are
 * kept, the kept set a seeded random choice. Returns 0/1 per cell, image-major, row-major.
 */
export function sampleMaskCells(batch: number, cellsH: number, cellsW: number, ratio: number, seed: string): Uint8Array {
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`mask ratio must be in [0, 1), got ${ratio}`);
  const cells = cellsH * cellsW;
  const keep = Math.max(1, Math.round(cells * (1 - ratio)));
  const out = new Uint8Array(batch * cells);
  const rng = createRng(seed);
  const order = new Int32Array(cells);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < cells; i++) order[i] = i;
    // Partial Fisher-Yates: the first `keep` entries are a uniform random subset.
    for (let i = 0; i < keep; i++) {
      const j = i + Math.floor(rng.uniform() * (cells - i));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
      out[b * cells + order[i]] = 1;
    }
  }
  return out;
}

/**
 * The mask at every encoder resolution, full resolution first: masks[i] is [n, h/2^i, w/2^i, 1]
 * (levels + 1 maps for `levels` downsamplings); the deepest is one value per cell.
 */
export function makeMasks(cells: Uint8Array, batch: number, h: number, w: number, levels: number): tf.Tensor4D[] {
  const f = 2 ** levels;
  const ch = h / f;
  const cw = w / f;
  if (!Number.isInteger(ch) || !Number.isInteger(cw) || cells.length !== batch * ch * cw) {
    throw new RangeError(`mask cells (${cells.length}) do not match ${batch} images of ${h}x${w} in ${f}x${f} patches`);
  }
  return tf.tidy(() => {
    const deepest = tf.tensor4d(Float32Array.from(cells), [batch, ch, cw, 1]);
    const out: tf.Tensor4D[] = [];
    // Nearest-neighbour upscaling by an integer factor repeats every cell exactly (src = floor(dst / rep)).
    for (let l = 0; l < levels; l++) out.push(tf.image.resizeNearestNeighbor(deepest, [h / 2 ** l, w / 2 ** l]));
    out.push(deepest);
    return out;
  });
}
