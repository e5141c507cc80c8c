import { createKernel, type Kernel } from '../../core/conv.js';

/**
 * Linear-motion line kernels (the straight-streak blur of rain and snow synthesis, as built by
 * cv2.warpAffine of a 1-pixel diagonal in the Rain100L/Rain13k scripts), rasterized analytically.
 *
 * Each tap's weight is the coverage of a `length` x `width` rectangle centred on the origin:
 * coverage along the axis is clamp(length/2 + 1/2 - |t|, 0, 1) and across it
 * clamp(width/2 + 1/2 - |s|, 0, 1), where (t, s) are the tap's coordinates in the rotated frame.
 * That box filter of the rectangle is anti-aliased, so fractional lengths and any angle give smooth,
 * even streaks (no stair-stepping or gaps that a nearest-pixel rotation leaves).
 */

export interface LineKernelOptions {
  /** Streak width across the motion direction, pixels, in [1, 16]; default 1. */
  width?: number;
  /** `sum` (default): weights sum to 1, a blur. `peak`: the largest weight is 1, a stamp for splatting. */
  normalize?: 'sum' | 'peak';
}

/**
 * A kernel of a straight line of `length` pixels at `angle` degrees (0 = horizontal, 90 = vertical,
 * counter-clockwise as seen on screen, y pointing down). Length 1 is (about) the identity.
 */
export function lineKernel(length: number, angle: number, options: LineKernelOptions = {}): Kernel {
  if (!Number.isFinite(length) || length < 1 || length > 1024) {
    throw new RangeError(`lineKernel length must be a number in [1, 1024] pixels, got ${length}`);
  }
  if (!Number.isFinite(angle)) throw new RangeError(`lineKernel angle must be a finite number of degrees, got ${angle}`);
  const width = options.width ?? 1;
  if (!Number.isFinite(width) || width < 1 || width > 16) {
    throw new RangeError(`lineKernel width must be a number in [1, 16] pixels, got ${width}`);
  }
  const normalize = options.normalize ?? 'sum';
  if (normalize !== 'sum' && normalize !== 'peak') {
    throw new RangeError(`lineKernel normalize must be 'sum' or 'peak', got ${String(normalize)}`);
  }
  const rad = (angle * Math.PI) / 180;
  const ux = Math.cos(rad);
  const uy = -Math.sin(rad); // screen y points down
  const halfL = length / 2 + 0.5;
  const halfW = width / 2 + 0.5;
  // Tightest odd box holding the rectangle's corners.
  const ex = Math.abs(ux) * halfL + Math.abs(uy) * halfW;
  const ey = Math.abs(uy) * halfL + Math.abs(ux) * halfW;
  const r = Math.max(0, Math.ceil(Math.max(ex, ey) - 1e-9));
  const size = 2 * r + 1;
  const k = createKernel(size);
  const d = k.data;
  let sum = 0;
  let peak = 0;
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const t = dx * ux + dy * uy;
      const s = -dx * uy + dy * ux;
      const a = halfL - Math.abs(t);
      const b = halfW - Math.abs(s);
      if (a <= 0 || b <= 0) continue;
      const w = (a > 1 ? 1 : a) * (b > 1 ? 1 : b);
      d[(dy + r) * size + dx + r] = w;
      sum += w;
      if (w > peak) peak = w;
    }
  }
  const scale = normalize === 'sum' ? 1 / sum : 1 / peak;
  for (let i = 0; i < d.length; i++) d[i] *= scale;
  return k;
}

/** The non-zero taps of a kernel as offsets from its centre: what a sparse splat or gather visits. */
export interface SparseTaps {
  readonly dx: Int32Array;
  readonly dy: Int32Array;
  readonly w: Float32Array;
  /** Largest |dx| or |dy|. */
  readonly radius: number;
}

export function sparseTaps(kernel: Kernel): SparseTaps {
  const { size, data } = kernel;
  const r = (size - 1) >> 1;
  let n = 0;
  for (const v of data) if (v !== 0) n++;
  const dx = new Int32Array(n);
  const dy = new Int32Array(n);
  const w = new Float32Array(n);
  let j = 0;
  let radius = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = data[y * size + x];
      if (v === 0) continue;
      dx[j] = x - r;
      dy[j] = y - r;
      w[j] = v;
      radius = Math.max(radius, Math.abs(x - r), Math.abs(y - r));
      j++;
    }
  }
  return { dx, dy, w, radius };
}
