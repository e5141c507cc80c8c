import * as tf from '@tensorflow/tfjs-core';
import { defineConv, defineLayerNorm, definePointwise, torchBound, type Fwd, type Init, type ParamStore } from './layers.js';

/**
 * The degradation-classification decoder `PromptIR_NoImg_DC` of MILab-PKU/MaskDCPT and /dcpt
 * (basicsr/archs/degrad_classify_arch.py, itself after ODISE's feature extractor). Its input is the list
 * of hooked restoration-network features, full resolution first; per level l:
 *
 *     x = bottleneck_layers[l](x + softmax(mixing_weights)[l] * features[l])     (x = 0 before level 0)
 *     x = downsample_layers[l](x)        1x1 conv (no bias) to the next level's channels, 2x2 max pool, ReLU
 *
 * (the last level too: its downsample keeps the channels), then `last_stage`, a global average pool and
 * `fc`. A bottleneck layer is `num_res_blocks` detectron2 BottleneckBlocks with equal in/out channels:
 * 1x1 -> 3x3 -> 1x1 convs without bias, each followed by a channels-first LayerNorm (eps 1e-6), ReLU after
 * the first two and after the residual sum; bottleneck width int(2 * channels); convs MSRA-filled
 * (kaiming normal, fan_out), the rest PyTorch's defaults. Parameter names are that module's state_dict,
 * under `dc.`.
 */

export const CLS_LN_EPS = 1e-6;
export const CLS_PREFIX = 'dc.';

/** detectron2's c2_msra_fill: kaiming normal, mode fan_out, ReLU gain (bias-free convs here). */
function msra(k: number, cout: number): Init {
  return { kind: 'normal', std: Math.sqrt(2 / (k * k * cout)) };
}

function defineConvNorm(ps: ParamStore, name: string, cin: number, cout: number, k: number): Fwd {
  const conv =
    k === 1
      ? definePointwise(ps, name, cin, cout, false, msra(1, cout))
      : defineConv(ps, name, cin, cout, k, { bias: false, init: msra(k, cout) });
  const norm = defineLayerNorm(ps, `${name}.norm`, cout, CLS_LN_EPS);
  return (x) => norm(conv(x));
}

function defineBottleneck(ps: ParamStore, name: string, c: number, inner: number): Fwd {
  const c1 = defineConvNorm(ps, `${name}.conv1`, c, inner, 1);
  const c2 = defineConvNorm(ps, `${name}.conv2`, inner, inner, 3);
  const c3 = defineConvNorm(ps, `${name}.conv3`, inner, c, 1);
  return (x) => tf.relu(tf.add(c3(tf.relu(c2(tf.relu(c1(x))))), x)) as tf.Tensor4D;
}

/** ResNet.make_stage: an nn.Sequential of blocks named `${name}.{k}`. */
function defineStage(ps: ParamStore, name: string, c: number, inner: number, count: number): Fwd {
  const blocks = Array.from({ length: count }, (_, k) => defineBottleneck(ps, `${name}.${k}`, c, inner));
  return (x) => blocks.reduce((acc, b) => b(acc), x);
}

export interface ClassifierOptions {
  /** feature_dims: channels of each feature level, full resolution first (each level half the previous side). */
  dims: readonly number[];
  /** num_res_blocks (2 in the released code). */
  blocks: number;
  /** Bottleneck width as a multiple of the level's channels (2 in the released code). */
  expand: number;
  classes: number;
}

/** Returns logits [n, classes] from features [level0, level1, ...]. */
export type Classifier = (features: tf.Tensor4D[]) => tf.Tensor2D;

export function defineClassifier(ps: ParamStore, opt: ClassifierOptions): Classifier {
  const levels = opt.dims.length;
  const inner = (d: number): number => Math.max(1, Math.floor(d * opt.expand));
  // In the state_dict's order: the module's own parameter (mixing_weights), then bottleneck_layers,
  // downsample_layers, last_stage, fc.
  const mixing = ps.add(`${CLS_PREFIX}mixing_weights`, [levels], { kind: 'ones' });
  const stages = opt.dims.map((d, l) => defineStage(ps, `${CLS_PREFIX}bottleneck_layers.${l}`, d, inner(d), opt.blocks));
  const downs = opt.dims.map((d, l): Fwd => {
    const proj = definePointwise(ps, `${CLS_PREFIX}downsample_layers.${l}.0`, d, opt.dims[Math.min(l + 1, levels - 1)], false);
    return (x) => tf.relu(tf.maxPool(proj(x), 2, 2, 'valid')) as tf.Tensor4D;
  });
  const last = opt.dims[levels - 1];
  const lastStage = defineStage(ps, `${CLS_PREFIX}last_stage`, last, inner(last), opt.blocks);
  // nn.Linear's default init: weight and bias U(-1/sqrt(in), 1/sqrt(in))
  const fcW = ps.add(`${CLS_PREFIX}fc.weight`, [last, opt.classes], torchBound(last), true, 'linear');
  const fcB = ps.add(`${CLS_PREFIX}fc.bias`, [opt.classes], torchBound(last));
  return (features) => {
    if (features.length !== levels) throw new Error(`classifier expects ${levels} feature levels, got ${features.length}`);
    const w = tf.softmax(mixing);
    let x: tf.Tensor4D | null = null;
    for (let l = 0; l < levels; l++) {
      const mixed = tf.mul(features[l], tf.slice(w, [l], [1])) as tf.Tensor4D;
      x = downs[l](stages[l](x ? (tf.add(x, mixed) as tf.Tensor4D) : mixed));
    }
    const pooled = tf.mean(lastStage(x as tf.Tensor4D), [1, 2]) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, fcW as tf.Tensor2D), fcB) as tf.Tensor2D;
  };
}
