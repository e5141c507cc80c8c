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
  ones,
  onesLike,
  RealDiv,
  registerGradient,
  Relu,
  reshape,
  step,
  Sum,
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
 * tfjs's Mean and Sum gradients multiply dy by a tensor of ones the size of x that they fill element by element
 * in JavaScript and copy to the backend (about 4 ms a step for the reference net's pool). The backend's own
 * OnesLike makes the same ones in place, and scaling the small dy first saves a pass over the large result.
 * (Not broadcastTo: the wasm backend's Tile is far slower still.)
 */
function broadcastGradient(dy: Tensor, x: Tensor, axis: number | number[], mean: boolean): Tensor {
  const axes = util.parseAxisParam(axis, x.shape);
  const expanded = reshape(dy, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  const scaled = mean ? div(expanded, axes.reduce((n, a) => n * x.shape[a], 1)) : expanded;
  return mul(scaled, x.dtype === 'float32' ? onesLike(x) : ones(x.shape, 'float32'));
}

for (const [kernelName, mean] of [
  [Mean, true],
  [Sum, false],
] as const) {
  registerGradient({
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return { x: () => broadcastGradient(dy as Tensor, x, (attrs as { axis: number | number[] }).axis, mean) };
    },
  });
}
