import * as tf from '@tensorflow/tfjs-core';

/** Degradation classes the reference net predicts (the 19 uirgen types). */
export const REFERENCE_CLASSES = 19;

export interface ReferenceNetOptions {
  /** Seed of the weight initialisation (tfjs's seeded generator; no Math.random). */
  seed?: number;
  inChannels?: number;
  classes?: number;
}

/**
 * The speed-reference network of the trainer issue, the one PyTorch was timed on:
 * conv 3x3 in->32 same + ReLU; depthwise 3x3 same; conv 2x2 stride 2 32->32 + ReLU; conv 3x3 32->64 same
 * + ReLU; global average pool; dense -> classes. Every layer has a bias, as PyTorch's layers do by default.
 */
export interface ReferenceNet {
  readonly variables: tf.Variable[];
  /** Logits [batch, classes] for images [batch, H, W, inChannels] (H, W even). */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** Mean softmax cross-entropy against one-hot labels [batch, classes]. */
  loss(x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar;
  dispose(): void;
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

export function createReferenceNet(options: ReferenceNetOptions = {}): ReferenceNet {
  const { seed = 0, inChannels = 3, classes = REFERENCE_CLASSES } = options;
  checkInt('seed', seed, 0);
  checkInt('inChannels', inChannels, 1);
  checkInt('classes', classes, 2);
  // tfjs treats seed 0 as "no seed" (Math.random), so every stream seed is >= 1.
  let stream = 1;
  // He-normal: keeps activations at unit scale through the ReLUs, so 20 Adam steps visibly lower the loss.
  const weight = (shape: number[], fanIn: number) =>
    tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed * 1000 + stream++)));
  const bias = (n: number) => tf.tidy(() => tf.variable(tf.zeros([n])));

  const w1 = weight([3, 3, inChannels, 32], 9 * inChannels);
  const b1 = bias(32);
  const wd = weight([3, 3, 32, 1], 9);
  const bd = bias(32);
  const w2 = weight([2, 2, 32, 32], 4 * 32);
  const b2 = bias(32);
  const w3 = weight([3, 3, 32, 64], 9 * 32);
  const b3 = bias(64);
  const wf = weight([64, classes], 64);
  const bf = bias(classes);
  const variables = [w1, b1, wd, bd, w2, b2, w3, b3, wf, bf];

  const logits = (x: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      if (x.shape[3] !== inChannels) throw new RangeError(`input must have ${inChannels} channels, got shape [${x.shape}]`);
      // Bias fused, ReLU apart: under a gradient tape tfjs unfuses a fused activation into conv, add and relu,
      // but keeps a convolution with a bias alone fused (one pass less over each activation). Not the first
      // layer: a fused convolution's gradient always computes its input's gradient, which the images do not need.
      let h = tf.relu(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), b1) as tf.Tensor4D);
      h = tf.fused.depthwiseConv2d({ x: h, filter: wd as tf.Tensor4D, strides: 1, pad: 'same', bias: bd });
      h = tf.relu(tf.fused.conv2d({ x: h, filter: w2 as tf.Tensor4D, strides: 2, pad: 'valid', bias: b2 }));
      h = tf.relu(tf.fused.conv2d({ x: h, filter: w3 as tf.Tensor4D, strides: 1, pad: 'same', bias: b3 }));
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      return tf.fused.matMul({ a: pooled, b: wf as tf.Tensor2D, bias: bf }) as tf.Tensor2D;
    });

  return {
    variables,
    logits,
    loss: (x, labels) => tf.tidy(() => tf.losses.softmaxCrossEntropy(labels, logits(x)) as tf.Scalar),
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
