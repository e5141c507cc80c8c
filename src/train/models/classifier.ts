import * as tf from '@tensorflow/tfjs-core';
import { defineConv, defineLayerNorm, definePointwise, type Fwd, type ParamStore } from './layers.js';

/**
 * The degradation-classification decoder, after MILab-PKU/MaskDCPT `degrad_classify_arch.py`
 * (PromptIR_NoImg_DC, itself after ODISE's feature extractor): the encoder's multi-level features are
 * mixed in one at a time, shallow to deep, with softmax-normalised learnt weights; at each level a stage of
 * detectron2 BottleneckBlocks (1x1 -> 3x3 -> 1x1, LayerNorm after each conv, ReLU, residual) and a
 * downsample (1x1 conv to the next level's channels, 2x2 max pool, ReLU); a last bottleneck stage on the
 * deepest level, global average pool, linear layer to the class logits.
 *
 * Departure: the released code also downsamples after the deepest level; here the deepest level goes
 * straight to the last stage, which keeps tiny patches (deepest map 1x1 or 2x2) usable.
 */

const LN_EPS = 1e-6; // detectron2 / ConvNeXt channels-first LayerNorm

/** MSRA fill (detectron2 c2_msra_fill): kaiming normal, fan_out, ReLU gain. */
function msra(k: number, cout: number): { kind: 'normal'; std: number } {
  return { kind: 'normal', std: Math.sqrt(2 / (k * k * cout)) };
}

function defineConvNorm(ps: ParamStore, name: string, cin: number, cout: number, k: number): Fwd {
  const conv = k === 1 ? definePointwise(ps, `${name}.conv`, cin, cout, false, msra(1, cout)) : defineConv(ps, `${name}.conv`, cin, cout, k, { bias: false, init: msra(k, cout) });
  const norm = defineLayerNorm(ps, `${name}.norm`, cout, LN_EPS);
  return (x) => norm(conv(x));
}

/** Bottleneck block with equal in/out channels (no projection shortcut, as the classifier uses it). */
function defineBottleneck(ps: ParamStore, name: string, c: number, inner: number): Fwd {
  const c1 = defineConvNorm(ps, `${name}.c1`, c, inner, 1);
  const c2 = defineConvNorm(ps, `${name}.c2`, inner, inner, 3);
  const c3 = defineConvNorm(ps, `${name}.c3`, inner, c, 1);
  return (x) => tf.relu(tf.add(c3(tf.relu(c2(tf.relu(c1(x))))), x)) as tf.Tensor4D;
}

function defineStage(ps: ParamStore, name: string, c: number, inner: number, count: number): Fwd {
  const blocks = Array.from({ length: count }, (_, i) => defineBottleneck(ps, `${name}.${i}`, c, inner));
  return (x) => blocks.reduce((acc, b) => b(acc), x);
}

export interface ClassifierOptions {
  /** Channels of each feature level, shallow first (each level half the resolution of the previous). */
  dims: readonly number[];
  /** Bottleneck blocks per stage (num_res_blocks; the released configs use 2). */
  blocks: number;
  /** Bottleneck width as a multiple of the level's channels (2 in the released code). */
  expand: number;
  classes: number;
}

/** Returns logits [n, classes] from features [level0, level1, ...]. */
export type Classifier = (features: tf.Tensor4D[]) => tf.Tensor2D;

export function defineClassifier(ps: ParamStore, opt: ClassifierOptions): Classifier {
  const levels = opt.dims.length;
  const mixing = ps.add('cls.mix', [levels], { kind: 'ones' });
  const stages: Fwd[] = [];
  const downs: Fwd[] = [];
  opt.dims.forEach((d, l) => {
    stages.push(defineStage(ps, `cls.stage${l}`, d, Math.max(1, Math.round(d * opt.expand)), opt.blocks));
    if (l < levels - 1) {
      const proj = definePointwise(ps, `cls.down${l}`, d, opt.dims[l + 1], false);
      downs.push((x) => tf.relu(tf.maxPool(proj(x), 2, 2, 'valid')) as tf.Tensor4D);
    }
  });
  const last = opt.dims[levels - 1];
  const lastStage = defineStage(ps, 'cls.last', last, Math.max(1, Math.round(last * opt.expand)), opt.blocks);
  const fcW = ps.add('cls.fc.w', [last, opt.classes], { kind: 'normal', std: 0.01 }, true);
  const fcB = ps.add('cls.fc.b', [opt.classes], { kind: 'zeros' });
  return (features) => {
    if (features.length !== levels) throw new Error(`classifier expects ${levels} feature levels, got ${features.length}`);
    const w = tf.softmax(mixing);
    let x: tf.Tensor4D | null = null;
    for (let l = 0; l < levels; l++) {
      const mixed = tf.mul(features[l], tf.slice(w, [l], [1])) as tf.Tensor4D;
      x = stages[l](x ? (tf.add(x, mixed) as tf.Tensor4D) : mixed);
      if (l < levels - 1) x = downs[l](x);
    }
    const pooled = tf.mean(lastStage(x as tf.Tensor4D), [1, 2]) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, fcW as tf.Tensor2D), fcB) as tf.Tensor2D;
  };
}
