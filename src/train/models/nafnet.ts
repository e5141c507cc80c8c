import * as tf from '@tensorflow/tfjs-core';
import {
  defineConv,
  defineDepthwise,
  defineLayerNorm,
  definePointwise,
  pixelShuffle,
  simpleGate,
  spatialMean,
  ParamStore,
  type StoreMode,
} from './layers.js';

/**
 * NAFNet (Chen et al. 2022) as MaskDCPT releases it: `NAFNetBaseline` and, for pre-training,
 * `MaskNAFNetBaseline` with `MaskNAFBlock`s (MILab-PKU/MaskDCPT, basicsr/archs/nafnet_arch.py and
 * mask_nafnet_arch.py). Parameter names are that state_dict's: intro, encoders.{i}.blocks.{j}, downs.{i},
 * middle_blks.blocks.{j}, ups.{i}.0, decoder{i}.blocks.{j}, ending.
 *
 * Masking (`masks` given) follows MaskNAFBlock, densely emulated with a 0/1 map per resolution:
 * - the input is masked, and so is the intro conv's output;
 * - MaskLayerNorm2d (norm1, norm2) normalises visible pixels only and writes zeros at masked ones. Its
 *   statistics are per pixel (over channels), so this is the plain LayerNorm times the mask;
 * - the attention branch (after conv3) is multiplied by the mask before the beta residual;
 * - the FFN branch, the downsampling convs and the simplified channel attention's pooling are not masked
 *   (the pooling averages the whole map, masked cells included), exactly as the released code runs them;
 * - the decoder's blocks are masked blocks too, with the same mask cells at their resolution.
 * With `masks = null` every block is the plain NAFBlock: the network that is fine-tuned and exported.
 */

/** NAFNet's LayerNorm2d is torch.nn.LayerNorm over channels with its default eps. */
export const NAF_LN_EPS = 1e-5;

/** The restoration network's shape: NAFNetBaseline's constructor arguments (img_channel is 3). */
export interface NafnetConfig {
  /** Channels after the intro conv; doubled at every downsampling. */
  width: number;
  /** NAF blocks per encoder stage; its length is the number of 2x downsamplings. */
  encBlocks: number[];
  middleBlocks: number;
  /** NAF blocks per decoder stage, deepest first; one stage per encoder stage. */
  decBlocks: number[];
}

export type MaskedFwd = (x: tf.Tensor4D, mask: tf.Tensor4D | null) => tf.Tensor4D;

function maybeMask(x: tf.Tensor4D, mask: tf.Tensor4D | null): tf.Tensor4D {
  return mask ? tf.mul(x, mask) : x;
}

/** One NAF block on `c` channels (DW_Expand = FFN_Expand = 2, no dropout); MaskNAFBlock when given a mask. */
export function defineNafBlock(ps: ParamStore, name: string, c: number): MaskedFwd {
  const dw = 2 * c;
  const ffn = 2 * c;
  // In the state_dict's order: the block's own parameters (beta, gamma), then its modules in registration
  // order (conv1, conv2, conv3, sca, conv4, conv5, norm1, norm2). Zero-initialised residual scales: each
  // block starts as the identity (NAFNet).
  const beta = ps.add(`${name}.beta`, [c], { kind: 'zeros' }, false, 'channel');
  const gamma = ps.add(`${name}.gamma`, [c], { kind: 'zeros' }, false, 'channel');
  const conv1 = definePointwise(ps, `${name}.conv1`, c, dw);
  const conv2 = defineDepthwise(ps, `${name}.conv2`, dw, 3);
  const conv3 = definePointwise(ps, `${name}.conv3`, dw / 2, c);
  // nn.Sequential(AdaptiveAvgPool2d(1), Conv2d): the conv is the Sequential's item 1
  const sca = definePointwise(ps, `${name}.sca.1`, dw / 2, dw / 2);
  const conv4 = definePointwise(ps, `${name}.conv4`, c, ffn);
  const conv5 = definePointwise(ps, `${name}.conv5`, ffn / 2, c);
  const norm1 = defineLayerNorm(ps, `${name}.norm1`, c, NAF_LN_EPS);
  const norm2 = defineLayerNorm(ps, `${name}.norm2`, c, NAF_LN_EPS);
  return (inp, mask) => {
    let x = maybeMask(norm1(inp), mask);
    x = simpleGate(conv2(conv1(x)));
    x = tf.mul(x, sca(spatialMean(x)));
    x = maybeMask(conv3(x), mask);
    const y = tf.add(inp, tf.mul(x, beta)) as tf.Tensor4D;
    const f = conv5(simpleGate(conv4(maybeMask(norm2(y), mask))));
    return tf.add(y, tf.mul(f, gamma)) as tf.Tensor4D;
  };
}

/** `count` blocks in a row, named `${name}.blocks.{j}` (NAFBlocks / MaskNAFBlocks). */
export function defineNafBlocks(ps: ParamStore, name: string, c: number, count: number): MaskedFwd {
  const blocks = Array.from({ length: count }, (_, i) => defineNafBlock(ps, `${name}.blocks.${i}`, c));
  return (x, mask) => blocks.reduce((acc, block) => block(acc, mask), x);
}

export interface NafnetOutput {
  /** ending(features) + input (the masked input when masked, as MaskNAFNetBaseline): null unless asked for. */
  restored: tf.Tensor4D | null;
  /**
   * The decoder stages' outputs, full resolution first (level l: h / 2^l, width * 2^l channels): what the
   * DCPT trainer's forward hooks collect on the decoder and hand, reversed, to the classifier.
   */
  levels: tf.Tensor4D[];
}

export interface NafnetForwardOptions {
  /** Run the ending conv (the reconstruction head); false when only the features are needed. */
  restore?: boolean;
}

/**
 * `masks[i]` is the 0/1 mask at 1 / 2^i resolution, full resolution first (stages + 1 maps), or null for
 * the plain network.
 */
export type NafnetForward = (inp: tf.Tensor4D, masks: tf.Tensor4D[] | null, opts?: NafnetForwardOptions) => NafnetOutput;

/** Define NAFNetBaseline's parameters in `ps` (unprefixed, as its state_dict) and return its forward pass. */
export function defineNafnet(ps: ParamStore, config: NafnetConfig): NafnetForward {
  const { width, encBlocks, middleBlocks, decBlocks } = config;
  const stages = encBlocks.length;
  // Parameters are created in the order of the state_dict (module registration order): intro, ending,
  // encoders, middle_blks, ups, downs, decoder0.. .
  const intro = defineConv(ps, 'intro', 3, width, 3);
  const ending = defineConv(ps, 'ending', width, 3, 3);
  const chans = encBlocks.map((_, i) => width * 2 ** i);
  const encoders: MaskedFwd[] = encBlocks.map((n, i) => defineNafBlocks(ps, `encoders.${i}`, chans[i], n));
  const middle = defineNafBlocks(ps, 'middle_blks', width * 2 ** stages, middleBlocks);
  const ups = decBlocks.map((_, i) => {
    const c = width * 2 ** (stages - i);
    // nn.Sequential(Conv2d(c, 2c, 1, bias=False), PixelShuffle(2))
    const up = definePointwise(ps, `ups.${i}.0`, c, 2 * c, false, undefined, 'pointwise-shuffle');
    return (x: tf.Tensor4D): tf.Tensor4D => pixelShuffle(up(x), 2);
  });
  const downs = chans.map((c, i) => defineConv(ps, `downs.${i}`, c, 2 * c, 2, { stride: 2, pad: 'valid' }));
  const decoders: MaskedFwd[] = decBlocks.map((n, i) => defineNafBlocks(ps, `decoder${i}`, width * 2 ** (stages - 1 - i), n));
  return (inp, masks, opts = {}) => {
    const m = (level: number): tf.Tensor4D | null => (masks ? masks[level] : null);
    const input = maybeMask(inp, m(0));
    let x = maybeMask(intro(input), m(0));
    const skips: tf.Tensor4D[] = [];
    encoders.forEach((encoder, i) => {
      x = encoder(x, m(i));
      skips.push(x);
      x = downs[i](x);
    });
    x = middle(x, m(stages));
    const levels: tf.Tensor4D[] = [];
    decoders.forEach((decoder, i) => {
      const level = stages - 1 - i;
      x = decoder(tf.add(ups[i](x), skips[level]) as tf.Tensor4D, m(level));
      levels.unshift(x);
    });
    const restored = opts.restore === false ? null : (tf.add(ending(x), input) as tf.Tensor4D);
    return { restored, levels };
  };
}

export function sameNafnet(a: NafnetConfig, b: NafnetConfig): boolean {
  const eq = (x: readonly number[], y: readonly number[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.width === b.width && a.middleBlocks === b.middleBlocks && eq(a.encBlocks, b.encBlocks) && eq(a.decBlocks, b.decBlocks);
}

/** "width 64, enc [1,1,1,28], middle 1, dec [1,1,1,1]" */
export function describeNafnet(c: NafnetConfig): string {
  return `width ${c.width}, enc [${c.encBlocks.join(',')}], middle ${c.middleBlocks}, dec [${c.decBlocks.join(',')}]`;
}

/** The total downsampling factor: input sides must be multiples of it. */
export function nafnetFactor(config: Pick<NafnetConfig, 'encBlocks'>): number {
  return 2 ** config.encBlocks.length;
}

function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
}

export function validateNafnetConfig<T extends NafnetConfig>(c: T): T {
  checkInt('width', c.width, 1, 1024);
  if (!Array.isArray(c.encBlocks) || c.encBlocks.length < 1 || c.encBlocks.length > 6) {
    throw new RangeError(`encBlocks must list 1..6 stages, got ${JSON.stringify(c.encBlocks)}`);
  }
  c.encBlocks.forEach((n, i) => checkInt(`encBlocks[${i}]`, n, 0, 64));
  checkInt('middleBlocks', c.middleBlocks, 0, 64);
  if (!Array.isArray(c.decBlocks) || c.decBlocks.length !== c.encBlocks.length) {
    throw new RangeError(`decBlocks must have ${c.encBlocks.length} stages (one per encoder stage), got ${JSON.stringify(c.decBlocks)}`);
  }
  c.decBlocks.forEach((n, i) => checkInt(`decBlocks[${i}]`, n, 0, 64));
  return c;
}

/** The plain restoration network on its own (fine-tuning, evaluation, `restore`, weight import and export). */
export interface RestorationNet {
  readonly config: NafnetConfig;
  /** Parameters under their PyTorch names. */
  readonly params: ParamStore;
  /** Restore images [n, h, w, 3] (h and w multiples of nafnetFactor); the caller owns the result. */
  restore(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/** `mode` 'zeros' when weights are loaded next; 'specs' for names and layouts only (restore must not be called). */
export function buildRestorationNet(config: NafnetConfig, initSeed = 'init', mode: StoreMode = 'init'): RestorationNet {
  validateNafnetConfig(config);
  const params = new ParamStore(initSeed, mode);
  const forward = defineNafnet(params, config);
  const factor = nafnetFactor(config);
  return {
    config,
    params,
    restore(x) {
      const [, h, w, c] = x.shape;
      if (c !== 3 || h % factor !== 0 || w % factor !== 0) {
        throw new RangeError(`input must be [n, h, w, 3] with h and w multiples of ${factor}, got [${x.shape}]`);
      }
      return tf.tidy(() => forward(x, null).restored as tf.Tensor4D);
    },
    dispose() {
      params.dispose();
    },
  };
}
