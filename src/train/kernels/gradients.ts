/**
 * tfjs-core's Node build registers no gradient functions (the @tensorflow/tfjs umbrella package does it
 * through side effects). @tensorflow/tfjs-layers carries the same register-all-gradients code and registers
 * them into tfjs-core's global gradient registry when it loads, so loading it is what makes
 * tf.grad / optimizer.minimize work here.
 */
import '@tensorflow/tfjs-layers';
import { getGradient, RealDiv } from '@tensorflow/tfjs-core';

export function assertGradientsRegistered(): void {
  if (!getGradient(RealDiv)) throw new Error('tfjs gradient functions are not registered (@tensorflow/tfjs-layers did not load)');
}
