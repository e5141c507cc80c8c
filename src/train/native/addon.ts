import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the compiled addon (native/*.cc) exports. Arrays are views of the wasm backend's heap. */
export interface NativeAddon {
  /**
   * One convolution. kind 0 forward (a = x, b = filter, bias optional, out = y), 1 data gradient
   * (a = dy, b = filter, out = dx), 2 filter gradient (a = x, b = dy, out = dw). Arrays are NHWC
   * activations and tfjs-layout filters; `shapes` is laid out as SHAPE_FIELDS.
   */
  conv(kind: ConvKind, shapes: Int32Array, alpha: number, a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array): void;
  /** The oneDNN implementation a call with these shapes runs (for example "brgconv:avx512_core"). */
  implementation(kind: ConvKind, shapes: Int32Array, alpha: number): string;
  /**
   * The output as [outer, mid, inner], the smaller operand (b for BROADCAST_B, a for BROADCAST_A) as
   * [outer, inner] repeated over mid: out[o, m, i] = op(a[o, m, i], b[o, i]) or op(a[o, i], b[o, m, i]).
   */
  binary(op: BinaryOp, broadcast: Broadcast, outer: number, mid: number, inner: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** relu or step(alpha), as tfjs defines them. */
  unary(op: UnaryOp, alpha: number, x: Float32Array, out: Float32Array): void;
  /** x as [outer, reduced, inner] summed (or averaged) over the middle axis, in an order fixed by the shape. */
  reduce(mean: 0 | 1, outer: number, reduced: number, inner: number, x: Float32Array, out: Float32Array): void;
  /**
   * One AdamW step (see ADAMW_UPDATE in kernels/fused.ts); constants are [beta1, 1 - beta1, beta2, 1 - beta2,
   * correction1, correction2, eps, lr, decayFactor, decay ? 1 : 0], rounded to float32 in the addon.
   */
  adamw(constants: Float64Array, p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array): void;
  /** LayerNorm over the last axis (C = g.length) of x; writes y, and mean and rstd per pixel for the gradient. */
  layerNorm(eps: number, x: Float32Array, g: Float32Array, b: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array): void;
  /** Its gradient: dx, and dg, db summed over pixels in an order fixed by the shape. */
  layerNormGrad(dy: Float32Array, x: Float32Array, mean: Float32Array, rstd: Float32Array, g: Float32Array, dx: Float32Array, dg: Float32Array, db: Float32Array): void;
  /** NAFNet's SimpleGate over channels-last x of 2 * half channels, and its gradient. */
  simpleGate(half: number, x: Float32Array, y: Float32Array): void;
  simpleGateGrad(half: number, dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** The gradient of an NHWC max pool (dx overwritten); `shapes` is laid out as POOL_FIELDS. */
  maxPoolGrad(shapes: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** oneDNN's version and instruction set, OpenMP's thread count, and the idle-wait policy libgomp started with. */
  info(): { onednn: string; isa: string; threads: number; waitPolicy: string };
}

/** The order of the Int32Array of max-pool shapes the addon reads (enum PoolParam in the C++). */
export const POOL_FIELDS = [
  'batch', 'inHeight', 'inWidth', 'channels', 'outHeight', 'outWidth', 'filterHeight', 'filterWidth',
  'strideHeight', 'strideWidth', 'padTop', 'padLeft',
] as const;

/** The addon's binary ops by kernel name; ReluGrad is dy * step(x) (RELU_GRAD in kernels/gradients.ts). */
export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, UirgenReluGrad: 4 } as const;
export type BinaryOp = (typeof BINARY_OPS)[keyof typeof BINARY_OPS];
export const BROADCAST_B = 1;
export const BROADCAST_A = 2;
export type Broadcast = typeof BROADCAST_B | typeof BROADCAST_A;
export const UNARY_OPS = { Relu: 0, Step: 1 } as const;
export type UnaryOp = (typeof UNARY_OPS)[keyof typeof UNARY_OPS];

export const CONV_FORWARD = 0;
export const CONV_BACKWARD_DATA = 1;
export const CONV_BACKWARD_FILTER = 2;
export type ConvKind = typeof CONV_FORWARD | typeof CONV_BACKWARD_DATA | typeof CONV_BACKWARD_FILTER;

/** The order of the Int32Array of convolution shapes the addon reads (enum Param in the C++). */
export const SHAPE_FIELDS = [
  'batch', 'inHeight', 'inWidth', 'inChannels', 'outHeight', 'outWidth', 'outChannels', 'filterHeight', 'filterWidth',
  'strideHeight', 'strideWidth', 'dilationHeight', 'dilationWidth', 'padTop', 'padBottom', 'padLeft', 'padRight',
  'groups', 'activation', 'hasBias',
] as const;

/** Where `npm run build` puts the addon: build/native under the package root (two levels above src/train/native or dist/train/native). */
export const ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'native', 'uirgen_native.node');

let loaded: NativeAddon | undefined;

/**
 * How long an idle OpenMP thread spins before it sleeps, in iterations of libgomp's spin loop (one PAUSE
 * each, 20-40 ns on current x86), on a machine that is oversubscribed when the addon loads.
 *
 * libgomp's own default, 300000 (6-12 ms), keeps the team spinning through every single-threaded stretch of
 * a training step. When the cores are ours that is the fastest (a sleeping thread costs a wake-up at the
 * next parallel region: reference-net mean 18.9 ms/step spinning, 23.5 ms with this count, 35 ms passive).
 * When other work wants the cores, a spinning thread holds one while the thread it waits for is descheduled,
 * and every barrier stalls: at a load average of 11-15 on 2 CPUs the same step took 328 ms spinning and
 * 105 ms with this count (PyTorch, spinning: 790 ms). scripts/bench-train-profile.mjs shows it as CPU
 * burnt by both threads and main-thread off-CPU time.
 */
export const GOMP_SPINCOUNT_SHARED = '10000';

/** The spin count to start libgomp with, or undefined for its default: short when the machine is oversubscribed. */
export function sharedMachineSpin(load1: number, cpus: number): string | undefined {
  return load1 >= cpus + Math.max(1, cpus / 2) ? GOMP_SPINCOUNT_SHARED : undefined;
}

let reason = '';
/** Why the addon's OpenMP threads wait the way they do (for the backend's detail line); empty before loading. */
export const waitPolicyReason = (): string => reason;

/**
 * Run `load` (which loads libgomp with the addon) with GOMP_SPINCOUNT set by sharedMachineSpin when the
 * user set no OpenMP wait policy. libgomp reads it once, when it is loaded; the variable is removed again
 * so that child processes see the environment they were given.
 */
function withWaitPolicy<T>(load: () => T): T {
  const env = process.env;
  if (env.OMP_WAIT_POLICY !== undefined || env.GOMP_SPINCOUNT !== undefined) {
    reason = 'set in the environment';
    return load();
  }
  const [load1] = loadavg();
  const cpus = availableParallelism();
  const spin = sharedMachineSpin(load1, cpus);
  reason = `load average ${load1.toFixed(1)} on ${cpus} CPUs${spin ? ': oversubscribed, short spin' : ''}`;
  if (!spin) return load();
  env.GOMP_SPINCOUNT = spin;
  try {
    return load();
  } finally {
    delete env.GOMP_SPINCOUNT;
  }
}

/**
 * Load the addon once. Throws with a message saying how to build it when it is missing or cannot load
 * (for example when libdnnl.so.2 is not installed).
 */
export function loadNativeAddon(path = ADDON_PATH): NativeAddon {
  if (loaded && path === ADDON_PATH) return loaded;
  if (!existsSync(path)) {
    throw new Error(
      `the native kernels are not built (${path} is missing): install oneDNN and a C++ compiler ` +
        '(Debian/Ubuntu: `apt-get install libdnnl-dev g++`), then run `npm run build`',
    );
  }
  let addon: NativeAddon;
  try {
    addon = withWaitPolicy(() => createRequire(import.meta.url)(path) as NativeAddon);
  } catch (err) {
    throw new Error(
      `the native kernels failed to load (${(err as Error).message.split('\n')[0]}): is libdnnl2 installed? ` +
        '(Debian/Ubuntu: `apt-get install libdnnl-dev`, then `npm run build`)',
    );
  }
  if (path === ADDON_PATH) loaded = addon;
  return addon;
}
