import * as tf from '@tensorflow/tfjs-core';
import {
  defineConv,
  defineDepthwise,
  defineLayerNorm,
  definePointwise,
  pixelShuffle,
  simpleGate,
  spatialMean,
  type ParamStore,
} from './layers.js';

/**
 * NAFNet (Chen et al. 2022) as a U-Net encoder and decoder, with MaskDCPT's masked NAF blocks.
 *
 * Masking follows MILab-PKU/MaskDCPT `mask_nafnet_arch.py` (MaskNAFBlock / MaskLayerNorm2d, after SparK),
 * emulated densely: a mask tensor [n, h, w, 1] of 0/1 at the block's resolution
 * - MaskLayerNorm2d normalises visible pixels only and writes zeros at masked ones. LayerNorm2d's
 *   statistics are per pixel (over channels), so masked pixels are excluded from every statistic simply
 *   by multiplying the normalised output by the mask;
 * - the attention branch's output is multiplied by the mask before the beta residual (as the code does);
 * - the block's output is multiplied by the mask once more (the code leaves the FFN's bias there; zeroing
 *   it is what a sparse convolution would produce and keeps masked positions exactly empty);
 * - the simplified channel attention pools over the whole (dense) map, as the released code does.
 * Pass `mask = null` for the plain NAFNet block (decoder, and DCPT without masking).
 */

const LN_EPS = 1e-6; // NAFNet's LayerNorm2d default

export type MaskedFwd = (x: tf.Tensor4D, mask: tf.Tensor4D | null) => tf.Tensor4D;

function maybeMask(x: tf.Tensor4D, mask: tf.Tensor4D | null): tf.Tensor4D {
  return mask ? tf.mul(x, mask) : x;
}

/** One NAF block on `c` channels (DW_Expand = FFN_Expand = 2, no dropout). */
export function defineNafBlock(ps: ParamStore, name: string, c: number): MaskedFwd {
  const dw = 2 * c;
  const ffn = 2 * c;
  const norm1 = defineLayerNorm(ps, `${name}.norm1`, c, LN_EPS);
  const conv1 = definePointwise(ps, `${name}.conv1`, c, dw);
  const conv2 = defineDepthwise(ps, `${name}.conv2`, dw, 3);
  const sca = definePointwise(ps, `${name}.sca`, dw / 2, dw / 2);
  const conv3 = definePointwise(ps, `${name}.conv3`, dw / 2, c);
  const norm2 = defineLayerNorm(ps, `${name}.norm2`, c, LN_EPS);
  const conv4 = definePointwise(ps, `${name}.conv4`, c, ffn);
  const conv5 = definePointwise(ps, `${name}.conv5`, ffn / 2, c);
  // Zero-initialised residual scales: each block starts as the identity (NAFNet).
  const beta = ps.add(`${name}.beta`, [c], { kind: 'zeros' });
  const gamma = ps.add(`${name}.gamma`, [c], { kind: 'zeros' });
  return (inp, mask) => {
    let x = maybeMask(norm1(inp), mask);
    x = conv2(conv1(x));
    x = simpleGate(x);
    x = tf.mul(x, sca(spatialMean(x)));
    x = maybeMask(conv3(x), mask);
    const y = tf.add(inp, tf.mul(x, beta)) as tf.Tensor4D;
    let f = conv4(maybeMask(norm2(y), mask));
    f = conv5(simpleGate(f));
    return maybeMask(tf.add(y, tf.mul(f, gamma)) as tf.Tensor4D, mask);
  };
}

export function defineNafBlocks(ps: ParamStore, name: string, c: number, count: number): MaskedFwd {
  const blocks = Array.from({ length: count }, (_, i) => defineNafBlock(ps, `${name}.${i}`, c));
  return (x, mask) => blocks.reduce((acc, block) => block(acc, mask), x);
}

export interface EncoderOutput {
  /** Outputs of each encoder stage (before its downsampling), full resolution first: width * 2^i channels. */
  skips: tf.Tensor4D[];
  /** Output of the middle blocks at 1 / 2^stages resolution, width * 2^stages channels. */
  deepest: tf.Tensor4D;
  /** The network input after masking (what the encoder saw): NAFNet's global residual adds this. */
  input: tf.Tensor4D;
}

/**
 * NAFNet's encoder: intro 3x3 conv, per stage NAF blocks then a 2x2 stride-2 conv doubling the channels,
 * middle blocks. `masks[i]` is the mask at 1 / 2^i resolution (masks.length = stages + 1) or null (dense).
 */
export type Encoder = (inp: tf.Tensor4D, masks: tf.Tensor4D[] | null) => EncoderOutput;

export function defineEncoder(ps: ParamStore, width: number, encBlocks: readonly number[], middleBlocks: number): Encoder {
  const intro = defineConv(ps, 'enc.intro', 3, width, 3);
  const stages: MaskedFwd[] = [];
  const downs: Array<(x: tf.Tensor4D) => tf.Tensor4D> = [];
  let chan = width;
  encBlocks.forEach((n, i) => {
    stages.push(defineNafBlocks(ps, `enc.stage${i}`, chan, n));
    downs.push(defineConv(ps, `enc.down${i}`, chan, 2 * chan, 2, { stride: 2, pad: 'valid' }));
    chan *= 2;
  });
  const middle = defineNafBlocks(ps, 'enc.middle', chan, middleBlocks);
  return (inp, masks) => {
    const m = (i: number): tf.Tensor4D | null => (masks ? masks[i] : null);
    const input = maybeMask(inp, m(0));
    let x = maybeMask(intro(input), m(0));
    const skips: tf.Tensor4D[] = [];
    stages.forEach((stage, i) => {
      x = stage(x, m(i));
      skips.push(x);
      // The strided conv's bias would fill masked cells; a sparse conv leaves them empty.
      x = maybeMask(downs[i](x), m(i + 1));
    });
    return { skips, deepest: middle(x, m(stages.length)), input };
  };
}

/**
 * NAFNet's decoder: per stage (deepest first) a bias-free 1x1 conv to twice the channels + pixel shuffle
 * (halving them), the encoder skip added, NAF blocks; then the ending 3x3 conv to RGB plus the input
 * (global residual). Dense: MaskDCPT reconstructs the whole clean image from the masked encoding. With
 * masks, masked cells of every encoder map are first filled with a learnt per-level mask token, the way
 * SparK densifies sparse features for its decoder.
 */
export type Decoder = (enc: EncoderOutput, masks: tf.Tensor4D[] | null) => tf.Tensor4D;

export function defineDecoder(ps: ParamStore, width: number, decBlocks: readonly number[], masked: boolean): Decoder {
  const stages = decBlocks.length;
  const ups: Array<(x: tf.Tensor4D) => tf.Tensor4D> = [];
  const blocks: MaskedFwd[] = [];
  const tokens: tf.Variable[] = [];
  let chan = width * 2 ** stages;
  if (masked) tokens[stages] = ps.add(`dec.token${stages}`, [chan], { kind: 'normal', std: 0.02 });
  for (let i = 0; i < stages; i++) {
    const up = definePointwise(ps, `dec.up${i}`, chan, 2 * chan, false);
    ups.push((x) => pixelShuffle(up(x), 2));
    chan /= 2;
    const level = stages - 1 - i;
    if (masked) tokens[level] = ps.add(`dec.token${level}`, [chan], { kind: 'normal', std: 0.02 });
    blocks.push(defineNafBlocks(ps, `dec.stage${i}`, chan, decBlocks[i]));
  }
  const ending = defineConv(ps, 'dec.ending', width, 3, 3);
  return (enc, masks) => {
    const densify = (x: tf.Tensor4D, level: number): tf.Tensor4D => {
      if (!masks) return x;
      const m = masks[level];
      return tf.add(x, tf.mul(tf.sub(1, m), tokens[level])) as tf.Tensor4D; // x is already 0 where masked
    };
    let x = densify(enc.deepest, stages);
    for (let i = 0; i < stages; i++) {
      const level = stages - 1 - i;
      x = tf.add(ups[i](x), densify(enc.skips[level], level)) as tf.Tensor4D;
      x = blocks[i](x, null);
    }
    return tf.add(ending(x), enc.input) as tf.Tensor4D;
  };
}
