/**
 * tfjs-core's Node build registers no gradient functions (the @tensorflow/tfjs umbrella package does it
 * through side effects). @tensorflow/tfjs-layers carries the same register-all-gradients code and registers
 * them into tfjs-core's global gradient registry when it loads, so loading it is what makes
 * tf.grad / optimizer.minimize work here.
 */
import '@tensorflow/tfjs-layers';
import {
  cast,
  div,
  engine,
  getGradient,
  Mean,
  mul,
  onesLike,
  RealDiv,
  registerGradient,
  Relu,
  reshape,
  step,
  type Tensor,
  util,
} from '@tensorflow/tfjs-core';
import { hasKernel, RELU_GRAD } from './fused.js';

// tfjs's own ReLU gradient, with the one-pass kernel used where the active backend registers it (one pass
// over the activation instead of tfjs's two: Step, then Multiply).
registerGradient({
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const dyT = dy as Tensor;
    return {
      x: () => (hasKernel(RELU_GRAD) ? (engine().runKernel(RELU_GRAD, { dy: dyT, x }) as Tensor) : mul(dyT, cast(step(x), 'float32'))),
    };
  },
});

export function assertGradientsRegistered(): void {
  if (!getGradient(RealDiv)) throw new Error('tfjs gradient functions are not registered (@tensorflow/tfjs-layers did not load)');
}

/**
 * tfjs's Mean gradient multiplies dy by a tensor of ones the size of x that it fills element by element in
 * JavaScript and copies to the backend (about 4 ms a step for the reference net's pool). The backend's own
 * OnesLike makes the same ones in place, and dividing the small dy first saves a pass over the large result.
 * (Not broadcastTo: the wasm backend's Tile is far slower still.)
 */
registerGradient({
  kernelName: Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const axes = util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
    const count = axes.reduce((n, a) => n * x.shape[a], 1);
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return { x: () => mul(div(reshape(dy as Tensor, expanded), count), onesLike(x)) };
  },
});

