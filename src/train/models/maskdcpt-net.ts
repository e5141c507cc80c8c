import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '../../core/random.js';
import { defineClassifier, type Classifier } from './classifier.js';
import { ParamStore } from './layers.js';
import { defineNafnet, nafnetFactor, validateNafnetConfig, type NafnetConfig, type NafnetForward } from './nafnet.js';

/**
 * The MaskDCPT pre-training network (Hu et al. 2025; MILab-PKU/MaskDCPT): the restoration network itself,
 * a NAFNet U-Net of masked NAF blocks fed the masked LQ image, is the "encoder"; its ending conv is the
 * reconstruction head, and the classification decoder PromptIR_NoImg_DC reads the decoder stages' outputs
 * (the features the DCPT trainer hooks). `method: 'dcpt'` is the earlier DCPT (Hu et al. 2024): no mask,
 * classification, and optionally the L1 path that restores the clean image from itself.
 */

export type Method = 'maskdcpt' | 'dcpt';

export interface NetConfig extends NafnetConfig {
  method: Method;
  /** Side of the square mask patches in pixels (the configs' window_size: 16), whatever the depth. */
  maskWindow: number;
  /** Bottleneck blocks per classifier stage (num_res_blocks: 2). */
  clsBlocks: number;
  /** Classifier bottleneck width / level channels (2 in the released code). */
  clsExpand: number;
  /** Degradation type ids, label = index. */
  classes: string[];
  /** Seed of the initial weights. */
  initSeed: string;
}

/** The released classifier settings and mask window (PromptIR_NoImg_DC defaults; window_size 16). */
export const MASKDCPT_DEFAULTS = { maskWindow: 16, clsBlocks: 2, clsExpand: 2 } as const;

function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
}

export function validateConfig(c: NetConfig): NetConfig {
  if (c.method !== 'maskdcpt' && c.method !== 'dcpt') throw new RangeError(`method must be maskdcpt or dcpt, got ${String(c.method)}`);
  validateNafnetConfig(c);
  checkInt('maskWindow', c.maskWindow, 1, 1024);
  const factor = nafnetFactor(c);
  if (c.maskWindow % factor !== 0) {
    throw new RangeError(`maskWindow must be a multiple of ${factor} (the network downsamples ${c.encBlocks.length} times), got ${c.maskWindow}`);
  }
  checkInt('clsBlocks', c.clsBlocks, 1, 16);
  if (typeof c.clsExpand !== 'number' || !(c.clsExpand > 0 && c.clsExpand <= 8)) {
    throw new RangeError(`clsExpand must be in (0, 8], got ${String(c.clsExpand)}`);
  }
  if (!Array.isArray(c.classes) || c.classes.length < 2 || c.classes.some((s) => typeof s !== 'string')) {
    throw new RangeError(`classes must list at least 2 degradation type ids, got ${JSON.stringify(c.classes)}`);
  }
  if (typeof c.initSeed !== 'string') throw new RangeError('initSeed must be a string');
  return c;
}

/**
 * What input sides must be multiples of: the network's downsampling, and with masking also the mask
 * window (a multiple of it).
 */
export function patchQuantum(c: Pick<NetConfig, 'encBlocks' | 'maskWindow'>, masked: boolean): number {
  return masked ? c.maskWindow : nafnetFactor(c);
}

/** The classifier's feature_dims: the decoder stages' channels, full resolution first. */
export function featureDims(c: Pick<NafnetConfig, 'width' | 'encBlocks'>): number[] {
  return c.encBlocks.map((_, l) => c.width * 2 ** l);
}

export interface NetOutput {
  logits: tf.Tensor2D;
  /** Predicted clean image [n, h, w, 3], when asked for. */
  restored: tf.Tensor4D | null;
}

export interface MaskDcptNet {
  readonly config: NetConfig;
  readonly params: ParamStore;
  /** Names of the restoration network's parameters (NAFNetBaseline's state_dict); the rest are the classifier's. */
  readonly restorationNames: string[];
  /**
   * `masks` from makeMasks (maskdcpt) or null (dcpt, or without masking). `restore` runs the reconstruction
   * head (default: maskdcpt yes, dcpt no).
   */
  forward(lq: tf.Tensor4D, masks: tf.Tensor4D[] | null, opts?: { restore?: boolean }): NetOutput;
  /** The restoration network alone: restored image of `x`, unmasked (DCPT's L1 path feeds it the clean image). */
  restore(x: tf.Tensor4D): tf.Tensor4D;
  /** The classifier's input: the decoder stages' outputs, full resolution first (for analysis and tests). */
  featureLevels(lq: tf.Tensor4D, masks: tf.Tensor4D[] | null): tf.Tensor4D[];
  dispose(): void;
}

export function buildNet(config: NetConfig): MaskDcptNet {
  validateConfig(config);
  const params = new ParamStore(config.initSeed);
  const nafnet: NafnetForward = defineNafnet(params, config);
  const restorationNames = params.names();
  const classifier: Classifier = defineClassifier(params, {
    dims: featureDims(config),
    blocks: config.clsBlocks,
    expand: config.clsExpand,
    classes: config.classes.length,
  });
  const factor = nafnetFactor(config);
  const check = (x: tf.Tensor4D): void => {
    const [, h, w, c] = x.shape;
    if (c !== 3 || h % factor !== 0 || w % factor !== 0) {
      throw new RangeError(`input must be [n, h, w, 3] with h and w multiples of ${factor}, got [${x.shape}]`);
    }
  };
  return {
    config,
    params,
    restorationNames,
    forward(lq, masks, opts = {}) {
      check(lq);
      const restore = opts.restore ?? config.method === 'maskdcpt';
      const out = nafnet(lq, masks, { restore });
      return { logits: classifier(out.levels), restored: out.restored };
    },
    restore(x) {
      check(x);
      return nafnet(x, null).restored as tf.Tensor4D;
    },
    featureLevels(lq, masks) {
      check(lq);
      return nafnet(lq, masks, { restore: false }).levels;
    },
    dispose() {
      params.dispose();
    },
  };
}

/** Python's round(): halves go to the even neighbour (the released mask keeps round(cells * (1 - ratio))). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * SparK / MaskDCPT patch masking: per image, round(cells * (1 - ratio)) of the (h/window) x (w/window) cells are
 * kept (at least one), the kept set a seeded random choice. Returns 0/1 per cell, image-major, row-major.
 */
export function sampleMaskCells(batch: number, cellsH: number, cellsW: number, ratio: number, seed: string): Uint8Array {
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`mask ratio must be in [0, 1), got ${ratio}`);
  const cells = cellsH * cellsW;
  // The released code can keep none (round(0.5) = 0 for one cell); an all-masked image teaches nothing.
  const keep = Math.max(1, roundHalfEven(cells * (1 - ratio)));
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
 * The mask at every network resolution, full resolution first: masks[i] is [n, h/2^i, w/2^i, 1] for
 * i = 0..levels, each cell of `window` pixels repeated over its window/2^i square (window a multiple of 2^levels).
 */
export function makeMasks(cells: Uint8Array, batch: number, h: number, w: number, window: number, levels: number): tf.Tensor4D[] {
  const ch = h / window;
  const cw = w / window;
  if (!Number.isInteger(ch) || !Number.isInteger(cw) || cells.length !== batch * ch * cw) {
    throw new RangeError(`mask cells (${cells.length}) do not match ${batch} images of ${h}x${w} in ${window}x${window} patches`);
  }
  if (window % 2 ** levels !== 0) throw new RangeError(`mask window ${window} is not a multiple of 2^${levels}`);
  return tf.tidy(() => {
    const grid = tf.tensor4d(Float32Array.from(cells), [batch, ch, cw, 1]);
    // Nearest-neighbour upscaling by an integer factor repeats every cell exactly (src = floor(dst / rep)).
    return Array.from({ length: levels + 1 }, (_, l) => tf.image.resizeNearestNeighbor(grid, [h / 2 ** l, w / 2 ** l]));
  });
}
