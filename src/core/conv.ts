import { CHANNELS, createImage, type Image } from './image.js';

/**
 * Convolutions with reflect-101 borders (cv2.BORDER_REFLECT_101, torch 'reflect'), computed as
 * correlation like cv2.filter2D and BasicSR's filter2D.
 *
 * Every path ends in one primitive, a flat FIR over a padded, interleaved buffer:
 *   out[i] = sum_t w[t] * src[i + offset[t]]
 * With row stride S, a tap at kernel cell (kx, ky) has offset ky * S + kx * 3, so one loop serves
 * horizontal passes, vertical passes and sparse 2-D kernels alike; outputs that land in the padding
 * columns are computed and thrown away. The primitive runs as a 128-bit SIMD WebAssembly loop
 * (four pixels' worth of floats per instruction, about ten times the JS gather), with a plain JS
 * loop of identical meaning where WebAssembly SIMD is missing.
 *
 * `convolve2d` then picks the cheapest exact-enough way to apply a kernel:
 * - direct: one FIR tap per non-zero weight (sparse kernels: motion trajectories), less the
 *   smallest weights while together they weigh at most 1e-6 of the sum;
 * - runs: a row stretch of equal weights (a disk's interior) costs two taps on a row prefix-sum
 *   image, whatever its length; the remaining weights (a disk's anti-aliased rim) are direct taps.
 *   Float32 prefix sums lose precision with the row length, so this path is skipped when its
 *   rounding bound exceeds 1e-5 (wide images);
 * - lowrank: kernel = sum of rank-1 separable terms from a Jacobi SVD, kept until the dropped part
 *   weighs (L1) at most 1e-6 of the kernel's sum; each term is a row pass and a column pass.
 */

/** A square, odd-sized 2-D kernel, row-major; `data[(r + dy) * size + (r + dx)]` weights offset (dx, dy). */
export interface Kernel {
  readonly size: number;
  readonly data: Float32Array;
}

export function createKernel(size: number, data?: Float32Array | number[]): Kernel {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new RangeError(`kernel size must be odd and >= 1, got ${size}`);
  const d = data ? Float32Array.from(data) : new Float32Array(size * size);
  if (d.length !== size * size) throw new RangeError(`kernel of size ${size} needs ${size * size} weights, got ${d.length}`);
  return { size, data: d };
}

/** Scale weights to sum to 1 (a blur keeps mean brightness). */
export function normalizeKernel(kernel: Kernel): Kernel {
  let s = 0;
  for (const v of kernel.data) s += v;
  if (s === 0 || !Number.isFinite(s)) throw new RangeError(`kernel weights must have a finite non-zero sum, got ${s}`);
  return { size: kernel.size, data: kernel.data.map((v) => v / s) };
}

/** Reflect-101 index (cv2.BORDER_REFLECT_101, torch 'reflect'): -1 -> 1, n -> n - 2. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/** Pad by `r` on every side with reflect-101 borders; returns the padded data and its width. */
export function padReflect(image: Image, r: number): { data: Float32Array; width: number; height: number } {
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`padding must be an integer >= 0, got ${r}`);
  const pw = image.width + 2 * r;
  const ph = image.height + 2 * r;
  const out = new Float32Array(pw * ph * CHANNELS);
  fillPadded(image, out, 0, pw * CHANNELS, r, r);
  return { data: out, width: pw, height: ph };
}

/** Write `image` reflect-padded by (px, py) into `dst` at float index `at`, rows `stride` floats apart. */
function fillPadded(image: Image, dst: Float32Array, at: number, stride: number, px: number, py: number): void {
  const { width, height, data } = image;
  const rowLen = width * CHANNELS;
  const pw = width + 2 * px;
  const ph = height + 2 * py;
  for (let y = 0; y < ph; y++) {
    const src = reflectIndex(y - py, height) * rowLen;
    const row = at + y * stride;
    dst.set(data.subarray(src, src + rowLen), row + px * CHANNELS);
    for (let x = 0; x < pw; x++) {
      if (x === px) x = px + width;
      if (x >= pw) break;
      const s = src + reflectIndex(x - px, width) * CHANNELS;
      const d = row + x * CHANNELS;
      dst[d] = data[s];
      dst[d + 1] = data[s + 1];
      dst[d + 2] = data[s + 2];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The FIR primitive: WebAssembly SIMD with a JS twin.

export type ConvolutionEngine = 'wasm-simd' | 'js';

/**
 * out[i] = (accumulate ? out[i] : 0) + sum_t w[t] * src[i + off[t]] for i in [0, n), n a multiple of 16,
 * n >= 16, at least one tap. Pointers and offsets are in bytes. Sixteen floats (four v128 accumulators)
 * per step so each tap's weight splat and offset load serve four vector multiply-adds.
 */
function firModuleBytes(): Uint8Array {
  const I32 = 0x7f;
  const V128 = 0x7b;
  const uleb = (n: number): number[] => {
    const o: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      o.push(b);
    } while (n);
    return o;
  };
  const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
  const get = (i: number): number[] => [0x20, i];
  const set = (i: number): number[] => [0x21, i];
  const tee = (i: number): number[] => [0x22, i];
  const sleb = (n: number): number[] => {
    const o: number[] = [];
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...o, b];
      o.push(b | 0x80);
    }
  };
  const i32const = (v: number): number[] => [0x41, ...sleb(v)];
  const i32add = [0x6a];
  const i32shl = [0x74];
  const i32ltu = [0x49];
  const i32load = [0x28, 2, 0];
  const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
  const vload = (offset: number): number[] => simd(0x00, 0, ...uleb(offset));
  const vstore = (offset: number): number[] => simd(0x0b, 0, ...uleb(offset));
  const splat32 = simd(0x09, 2, 0);
  const f32x4add = simd(0xe4);
  const f32x4mul = simd(0xe6);
  const vzero = simd(0x0c, ...new Array<number>(16).fill(0));
  const LOOP = [0x03, 0x40];
  const IF_V128 = [0x04, V128];
  const ELSE = [0x05];
  const END = [0x0b];
  const BR_IF0 = [0x0d, 0];
  // params: 0 src, 1 dst, 2 n, 3 w, 4 off, 5 ntaps, 6 accumulate; locals: 7 i, 8 end, 9 tp, 10 tend, 11 a, 12 wv, 13..16 acc
  const [SRC, DST, N, W, OFF, NT, ACCUM, I, ENDI, TP, TEND, A, WV, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const quad = (f: (k: number) => number[]): number[] => [0, 1, 2, 3].flatMap(f);
  const body = [
    ...uleb(2), ...uleb(5), I32, ...uleb(6), V128,
    ...get(N), ...i32const(2), ...i32shl, ...set(ENDI),
    ...get(NT), ...i32const(2), ...i32shl, ...set(TEND),
    ...i32const(0), ...set(I),
    ...LOOP,
    ...quad((k) => [...get(ACCUM), ...IF_V128, ...get(DST), ...get(I), ...i32add, ...vload(16 * k), ...ELSE, ...vzero, ...END, ...set(ACC + k)]),
    ...i32const(0), ...set(TP),
    ...LOOP,
    ...get(SRC), ...get(I), ...i32add, ...get(OFF), ...get(TP), ...i32add, ...i32load, ...i32add, ...set(A),
    ...get(W), ...get(TP), ...i32add, ...splat32, ...set(WV),
    ...quad((k) => [...get(ACC + k), ...get(WV), ...get(A), ...vload(16 * k), ...f32x4mul, ...f32x4add, ...set(ACC + k)]),
    ...get(TP), ...i32const(4), ...i32add, ...tee(TP), ...get(TEND), ...i32ltu, ...BR_IF0,
    ...END,
    ...quad((k) => [...get(DST), ...get(I), ...i32add, ...get(ACC + k), ...vstore(16 * k)]),
    ...get(I), ...i32const(64), ...i32add, ...tee(I), ...get(ENDI), ...i32ltu, ...BR_IF0,
    ...END,
    ...END,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 7, ...new Array<number>(7).fill(I32), 0]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('fir'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

type FirFn = (src: number, dst: number, n: number, w: number, off: number, ntaps: number, accumulate: number) => void;

/** The slice of the WebAssembly JS API used here (the project's `lib` has no DOM/WebAssembly typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}

const PAGE = 65536;
/** Tail of the arena that FIR reads may run into (outputs there are discarded). */
const SLACK_FLOATS = 16384;

/**
 * A bump arena of floats. Buffers are float indices into `f32`; each call of a top-level
 * convolution resets it, so nothing is freed one by one.
 */
class Arena {
  f32: Float32Array;
  i32: Int32Array;
  private top = 0;

  constructor(
    private readonly memory: WasmMemory | null,
    private readonly fir: FirFn | null,
  ) {
    const buf = memory ? memory.buffer : new ArrayBuffer(PAGE);
    this.f32 = new Float32Array(buf);
    this.i32 = new Int32Array(buf);
  }

  reset(): void {
    this.top = 0;
  }

  /** A 16-float-aligned buffer of `n` floats plus 64 floats of slack for rounded-up FIR writes. */
  alloc(n: number): number {
    const at = this.top;
    this.top = at + ((n + 64 + 15) & ~15);
    this.ensure(this.top + SLACK_FLOATS);
    return at;
  }

  private ensure(floats: number): void {
    const bytes = floats * 4;
    if (bytes <= this.f32.buffer.byteLength) return;
    if (this.memory) {
      this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / PAGE));
      this.f32 = new Float32Array(this.memory.buffer);
      this.i32 = new Int32Array(this.memory.buffer);
    } else {
      const next = new ArrayBuffer(Math.max(bytes, this.f32.buffer.byteLength * 2));
      new Float32Array(next).set(this.f32);
      this.f32 = new Float32Array(next);
      this.i32 = new Int32Array(next);
    }
  }

  /** dst[0..n) = (accumulate ? dst : 0) + sum_t weights[t] * src[. + offsets[t]] (offsets in floats). */
  run(src: number, dst: number, n: number, weights: ArrayLike<number>, offsets: ArrayLike<number>, accumulate: boolean): void {
    const taps = weights.length;
    if (taps === 0) {
      if (!accumulate) this.f32.fill(0, dst, dst + n);
      return;
    }
    const n16 = Math.max(16, (n + 15) & ~15);
    if (this.fir) {
      const w = this.alloc(taps);
      const o = this.alloc(taps);
      for (let t = 0; t < taps; t++) {
        this.f32[w + t] = weights[t];
        this.i32[o + t] = offsets[t] * 4;
      }
      this.fir(src * 4, dst * 4, n16, w * 4, o * 4, taps, accumulate ? 1 : 0);
      return;
    }
    // JS: stream the output once per group of four taps (axpy form), which V8 runs far faster
    // than a gather over taps per output value.
    const f = this.f32;
    if (!accumulate) f.fill(0, dst, dst + n16);
    let t = 0;
    for (; t + 3 < taps; t += 4) {
      const w0 = weights[t];
      const w1 = weights[t + 1];
      const w2 = weights[t + 2];
      const w3 = weights[t + 3];
      const a0 = src + offsets[t];
      const a1 = src + offsets[t + 1];
      const a2 = src + offsets[t + 2];
      const a3 = src + offsets[t + 3];
      for (let i = 0; i < n16; i++) f[dst + i] += w0 * f[a0 + i] + w1 * f[a1 + i] + w2 * f[a2 + i] + w3 * f[a3 + i];
    }
    for (; t < taps; t++) {
      const w0 = weights[t];
      const a0 = src + offsets[t];
      for (let i = 0; i < n16; i++) f[dst + i] += w0 * f[a0 + i];
    }
  }
}

let wasmArena: Arena | null | undefined;
let jsArena: Arena | null = null;
let forced: ConvolutionEngine | null = null;

function createWasmArena(): Arena | null {
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (!wasm) return null;
    const bytes = firModuleBytes();
    if (!wasm.validate(bytes)) return null;
    const memory = new wasm.Memory({ initial: 64 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { env: { mem: memory } });
    return new Arena(memory, instance.exports.fir as FirFn);
  } catch {
    return null;
  }
}

function arena(): Arena {
  if (wasmArena === undefined) wasmArena = createWasmArena();
  const a = forced === 'js' || !wasmArena ? (jsArena ??= new Arena(null, null)) : wasmArena;
  a.reset();
  return a;
}

/** The engine convolutions run on: WebAssembly SIMD when the runtime has it, else plain JS. */
export function convolutionEngine(): ConvolutionEngine {
  if (wasmArena === undefined) wasmArena = createWasmArena();
  return forced === 'js' || !wasmArena ? 'js' : 'wasm-simd';
}

/** Force an engine (tests compare both); `null` restores the default. Results agree to float rounding. */
export function setConvolutionEngine(engine: ConvolutionEngine | null): void {
  if (engine !== null && engine !== 'js' && engine !== 'wasm-simd') {
    throw new RangeError(`engine must be 'wasm-simd', 'js' or null, got ${String(engine)}`);
  }
  forced = engine;
}

// ---------------------------------------------------------------------------------------------
// Layout shared by every path: the image reflect-padded by (px, py), rows `stride` floats apart,
// with one spare pixel column so a row prefix-sum image fits the same stride.

interface Layout {
  a: Arena;
  px: number;
  py: number;
  stride: number;
  /** padded rows */
  ph: number;
  /** the padded input */
  input: number;
}

function layout(image: Image, px: number, py: number): Layout {
  const a = arena();
  const stride = (image.width + 2 * px + 1) * CHANNELS;
  const ph = image.height + 2 * py;
  const input = a.alloc(ph * stride);
  fillPadded(image, a.f32, input, stride, px, py);
  return { a, px, py, stride, ph, input };
}

function extract(image: Image, l: Layout, from: number): Image {
  const { width, height } = image;
  const out = createImage(width, height);
  const rowLen = width * CHANNELS;
  const f = l.a.f32;
  for (let y = 0; y < height; y++) {
    const s = from + y * l.stride;
    out.data.set(f.subarray(s, s + rowLen), y * rowLen);
  }
  return out;
}

function checkTaps(taps: Float32Array | readonly number[], name: string): void {
  if (taps.length % 2 !== 1) throw new RangeError(`${name} taps must have odd length, got ${taps.length}`);
  for (let i = 0; i < taps.length; i++) {
    if (!Number.isFinite(taps[i])) throw new RangeError(`${name} taps must be finite, got ${taps[i]} at ${i}`);
  }
}

function checkImage(image: Image): void {
  if (image.data.length !== image.width * image.height * CHANNELS) {
    throw new RangeError(`image data has ${image.data.length} values, expected ${image.width * image.height * CHANNELS}`);
  }
}

/** Horizontal pass over rows [0, rows) of `src` into `dst` (same layout); taps centred. */
function rowPass(l: Layout, src: number, dst: number, rows: number, taps: ArrayLike<number>, accumulate: boolean): void {
  const offsets = Array.from({ length: taps.length }, (_, t) => t * CHANNELS);
  l.a.run(src, dst, rows * l.stride, taps, offsets, accumulate);
}

/** Vertical pass producing `rows` rows. */
function columnPass(l: Layout, src: number, dst: number, rows: number, taps: ArrayLike<number>, accumulate: boolean): void {
  const offsets = Array.from({ length: taps.length }, (_, t) => t * l.stride);
  l.a.run(src, dst, rows * l.stride, taps, offsets, accumulate);
}

/** 1-D horizontal pass with reflect-101 borders; `taps` has odd length, centred. */
export function convolveRows(image: Image, taps: Float32Array | readonly number[]): Image {
  checkImage(image);
  checkTaps(taps, 'horizontal');
  const l = layout(image, (taps.length - 1) >> 1, 0);
  const out = l.a.alloc(image.height * l.stride);
  rowPass(l, l.input, out, image.height, taps, false);
  return extract(image, l, out);
}

/** 1-D vertical pass with reflect-101 borders. */
export function convolveColumns(image: Image, taps: Float32Array | readonly number[]): Image {
  checkImage(image);
  checkTaps(taps, 'vertical');
  const l = layout(image, 0, (taps.length - 1) >> 1);
  const out = l.a.alloc(image.height * l.stride);
  columnPass(l, l.input, out, image.height, taps, false);
  return extract(image, l, out);
}

export function convolveSeparable(image: Image, horizontal: Float32Array | readonly number[], vertical: Float32Array | readonly number[]): Image {
  checkImage(image);
  checkTaps(horizontal, 'horizontal');
  checkTaps(vertical, 'vertical');
  return separableSum(image, [{ horizontal, vertical }], (horizontal.length - 1) >> 1, (vertical.length - 1) >> 1);
}

/** One rank-1 term of a kernel: kernel[ky][kx] += vertical[ky] * horizontal[kx]. */
export interface SeparableTerm {
  horizontal: ArrayLike<number>;
  vertical: ArrayLike<number>;
}

/** Sum of separable convolutions, all terms sharing one padded input and one output. */
function separableSum(image: Image, terms: readonly SeparableTerm[], px: number, py: number): Image {
  const l = layout(image, px, py);
  const tmp = l.a.alloc(l.ph * l.stride);
  const out = l.a.alloc(image.height * l.stride);
  terms.forEach((term, k) => {
    // Row pass with the term's own length, centred in the shared padding.
    const hx = (term.horizontal.length - 1) >> 1;
    const vy = (term.vertical.length - 1) >> 1;
    rowPass(l, l.input + (px - hx) * CHANNELS, tmp, l.ph, term.horizontal, false);
    columnPass(l, tmp + (py - vy) * l.stride, out, image.height, term.vertical, k > 0);
  });
  return extract(image, l, out);
}

// ---------------------------------------------------------------------------------------------
// Kernel analysis: sparse taps, equal-weight row runs, low-rank terms.

/** A run of equal weights in one kernel row: cells kx0..kx1 (inclusive) of row ky. */
interface Run {
  ky: number;
  kx0: number;
  kx1: number;
  w: number;
}

interface Tap {
  kx: number;
  ky: number;
  w: number;
}

/** Shortest run worth two prefix-sum taps instead of one tap per cell. */
const MIN_RUN = 3;

function splitRuns(kernel: Kernel): { runs: Run[]; rest: Tap[] } {
  const { size, data } = kernel;
  const runs: Run[] = [];
  const rest: Tap[] = [];
  for (let ky = 0; ky < size; ky++) {
    let kx = 0;
    while (kx < size) {
      const w = data[ky * size + kx];
      let end = kx;
      while (end + 1 < size && data[ky * size + end + 1] === w) end++;
      if (w !== 0) {
        if (end - kx + 1 >= MIN_RUN) runs.push({ ky, kx0: kx, kx1: end, w });
        else for (let x = kx; x <= end; x++) rest.push({ kx: x, ky, w });
      }
      kx = end + 1;
    }
  }
  return { runs, rest };
}

/** Same budget as the low-rank path: what is dropped weighs (L1) at most this much of |sum|. */
const DROP_TOLERANCE = 1e-6;

/**
 * The kernel's taps, less the smallest ones whose absolute weights together stay within
 * DROP_TOLERANCE of |sum| (a rotated Gaussian's corners hold hundreds of weights near 1e-12).
 */
function nonZeroTaps(kernel: Kernel): Tap[] {
  const { size, data } = kernel;
  const taps: Tap[] = [];
  let sum = 0;
  for (let ky = 0; ky < size; ky++) {
    for (let kx = 0; kx < size; kx++) {
      const w = data[ky * size + kx];
      sum += w;
      if (w !== 0) taps.push({ kx, ky, w });
    }
  }
  let budget = DROP_TOLERANCE * Math.abs(sum);
  if (budget === 0) return taps;
  const bySize = taps.map((t, i) => i).sort((a, b) => Math.abs(taps[a].w) - Math.abs(taps[b].w) || a - b);
  const drop = new Uint8Array(taps.length);
  for (const i of bySize) {
    budget -= Math.abs(taps[i].w);
    if (budget < 0) break;
    drop[i] = 1;
  }
  return taps.filter((_, i) => drop[i] === 0);
}

/**
 * Singular value decomposition of a kernel into rank-1 separable terms by one-sided Jacobi
 * rotations (Hestenes), in double precision: deterministic, no library. Terms come largest first;
 * terms are kept until the L1 norm of what is left is at most `tolerance` times |sum of weights|
 * (that bounds the output error for inputs in [0, 1]). Returns null when that needs more than
 * `maxRank` terms.
 */
export function separableDecomposition(kernel: Kernel, tolerance = 1e-6, maxRank = kernel.size): SeparableTerm[] | null {
  if (!(tolerance >= 0)) throw new RangeError(`tolerance must be >= 0, got ${tolerance}`);
  if (!Number.isInteger(maxRank) || maxRank < 0) throw new RangeError(`maxRank must be an integer >= 0, got ${maxRank}`);
  const n = kernel.size;
  let total = 0;
  for (const w of kernel.data) total += w;
  const bound = tolerance * Math.abs(total);
  const residual = Float64Array.from(kernel.data);
  if (l1(residual) <= bound) return [];
  if (maxRank === 0) return null;
  const terms = maxRank === 1 ? leadingTerm(kernel) : jacobiTerms(kernel);
  const out: SeparableTerm[] = [];
  for (const term of terms) {
    if (out.length >= maxRank) return null;
    const { vertical, horizontal } = term;
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) residual[r * n + c] -= vertical[r] * horizontal[c];
    out.push(term);
    // The residual is recomputed from the kernel's own weights, so the bound holds whatever the
    // rotations' convergence: a loose stopping rule only costs an extra term.
    if (l1(residual) <= bound) return out;
  }
  return null;
}

/** Largest singular pair by power iteration on A^T A: exact in one step for a rank-1 kernel. */
function leadingTerm(kernel: Kernel): SeparableTerm[] {
  const n = kernel.size;
  const a = kernel.data;
  let x = new Float64Array(n);
  // start from the heaviest row, which is never orthogonal to the leading right vector of a non-zero kernel
  let best = -1;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let c = 0; c < n; c++) s += a[r * n + c] * a[r * n + c];
    if (s > best) {
      best = s;
      for (let c = 0; c < n; c++) x[c] = a[r * n + c];
    }
  }
  const u = new Float64Array(n);
  for (let it = 0; it < 30; it++) {
    normalize(x);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += a[r * n + c] * x[c];
      u[r] = s;
    }
    const next = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += a[r * n + c] * u[r];
      next[c] = s;
    }
    normalize(next);
    let change = 0;
    for (let c = 0; c < n; c++) change = Math.max(change, Math.abs(next[c] - x[c]));
    x = next;
    if (change < 1e-13) break;
  }
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let c = 0; c < n; c++) s += a[r * n + c] * x[c];
    u[r] = s;
  }
  return [{ vertical: u, horizontal: x }];
}

function normalize(x: Float64Array): void {
  let s = 0;
  for (const v of x) s += v * v;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < x.length; i++) x[i] *= inv;
}

/**
 * All terms, largest first, by one-sided Jacobi (Hestenes): rotate column pairs of A (and of V,
 * from the identity) until the columns are mutually orthogonal; then A = sum_j A[:, j] V[:, j]^T
 * exactly, with |A[:, j]| the singular values. Columns are stored contiguously, and their squared
 * norms are updated by the rotation formulas instead of recomputed.
 */
function jacobiTerms(kernel: Kernel): SeparableTerm[] {
  const n = kernel.size;
  const a = new Float64Array(n * n); // a[j * n + i] = A[i][j]
  const v = new Float64Array(n * n); // v[j * n + i] = V[i][j]
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[j * n + i] = kernel.data[i * n + j];
  for (let j = 0; j < n; j++) v[j * n + j] = 1;
  const norm = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[j * n + i] * a[j * n + i];
    norm[j] = s;
  }
  let scale = 0;
  for (const x of norm) scale += x;
  const negligible = 1e-30 * scale;
  for (let sweep = 0; sweep < 40; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      const pb = p * n;
      for (let q = p + 1; q < n; q++) {
        const alpha = norm[p];
        const beta = norm[q];
        if (alpha <= negligible || beta <= negligible) continue;
        const qb = q * n;
        let gamma = 0;
        for (let i = 0; i < n; i++) gamma += a[pb + i] * a[qb + i];
        if (Math.abs(gamma) <= 1e-12 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < n; i++) {
          const ap = a[pb + i];
          const aq = a[qb + i];
          a[pb + i] = c * ap - s * aq;
          a[qb + i] = s * ap + c * aq;
          const vp = v[pb + i];
          const vq = v[qb + i];
          v[pb + i] = c * vp - s * vq;
          v[qb + i] = s * vp + c * vq;
        }
        norm[p] = alpha - t * gamma;
        norm[q] = beta + t * gamma;
      }
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => norm[y] - norm[x] || x - y);
  return order.map((j) => ({ vertical: a.slice(j * n, (j + 1) * n), horizontal: v.slice(j * n, (j + 1) * n) }));
}

function l1(values: Float64Array): number {
  let s = 0;
  for (const x of values) s += Math.abs(x);
  return s;
}

export type ConvolutionStrategy = 'direct' | 'runs' | 'lowrank';

export interface ConvolutionPlan {
  strategy: ConvolutionStrategy;
  /** Estimated FIR taps per output value (the cost the choice minimised). */
  cost: number;
}

/** Per-call overheads in tap-equivalents: building the prefix image, a pass pair's setup. */
const PREFIX_COST = 10;
const TERM_COST = 4;
/**
 * A term's taps cost more than direct taps: its column pass reads K row streams at once and the
 * intermediate image makes a round trip through memory (measured ~1.3x on 256x256, K = 7..21).
 */
const TERM_TAP_COST = 1.3;
/** SVD costs O(size^3) per sweep: only worth trying on kernels that could gain from it. */
const MAX_SVD_SIZE = 41;

interface Analysis {
  plan: ConvolutionPlan;
  taps?: Tap[];
  runs?: { runs: Run[]; rest: Tap[] };
  terms?: SeparableTerm[];
}

/**
 * Worst-case error of the runs path for values in [-1, 1]: each run reads two float32 prefix sums
 * of magnitude up to the padded width, each rounded by at most half an ulp (2^-24 relative).
 */
function runsErrorBound(runs: readonly Run[], paddedWidth: number): number {
  let s = 0;
  for (const r of runs) s += Math.abs(r.w);
  return 2 * 2 ** -24 * (paddedWidth + 1) * s;
}

/** The runs path is used only while its rounding bound stays below this (wide images fall back). */
const RUNS_MAX_ERROR = 1e-5;

function analyse(kernel: Kernel, width: number, height: number, only?: ConvolutionStrategy): Analysis {
  const size = kernel.size;
  const taps = nonZeroTaps(kernel);
  const best: Analysis = { plan: { strategy: 'direct', cost: taps.length }, taps };
  if (only === 'direct') return best;
  let choice = only ? undefined : best;
  const consider = (a: Analysis): void => {
    if (!choice || a.plan.cost < choice.plan.cost) choice = a;
  };
  const split = splitRuns(kernel);
  if (only === 'runs' || (split.runs.length > 0 && runsErrorBound(split.runs, width + size - 1) <= RUNS_MAX_ERROR)) {
    consider({ plan: { strategy: 'runs', cost: 2 * split.runs.length + split.rest.length + PREFIX_COST }, runs: split });
  }
  const perTerm = TERM_TAP_COST * size * (1 + (height + size - 1) / height) + TERM_COST;
  if (only === 'lowrank' || (size <= MAX_SVD_SIZE && taps.length > perTerm)) {
    const maxRank = only === 'lowrank' ? size : Math.floor((choice ? choice.plan.cost : Infinity) / perTerm);
    const terms = maxRank >= 1 ? separableDecomposition(kernel, 1e-6, maxRank) : null;
    if (terms) consider({ plan: { strategy: 'lowrank', cost: Math.max(1, terms.length) * perTerm }, terms });
    else if (only === 'lowrank') throw new RangeError('kernel has no separable decomposition within tolerance');
  }
  return choice ?? best;
}

/** How `convolve2d` would apply `kernel` to a `width` x `height` image (for tests and benchmarks). */
export function planConvolution(kernel: Kernel, width = 256, height = 256): ConvolutionPlan {
  return analyse(kernel, width, height).plan;
}

/**
 * Full 2-D convolution (correlation, as cv2.filter2D and BasicSR's filter2D), reflect-101 borders.
 * The strategy is chosen by estimated cost (see the file comment); `strategy` forces one.
 */
export function convolve2d(image: Image, kernel: Kernel, strategy?: ConvolutionStrategy): Image {
  checkImage(image);
  if (kernel.data.length !== kernel.size * kernel.size || kernel.size % 2 !== 1) {
    throw new RangeError(`kernel must be square with odd size, got size ${kernel.size} with ${kernel.data.length} weights`);
  }
  for (const w of kernel.data) if (!Number.isFinite(w)) throw new RangeError(`kernel weights must be finite, got ${w}`);
  if (strategy !== undefined && strategy !== 'direct' && strategy !== 'runs' && strategy !== 'lowrank') {
    throw new RangeError(`strategy must be 'direct', 'runs' or 'lowrank', got ${String(strategy)}`);
  }
  const r = (kernel.size - 1) >> 1;
  const an = analyse(kernel, image.width, image.height, strategy);
  if (an.plan.strategy === 'lowrank' && an.terms) {
    if (an.terms.length === 0) return createImage(image.width, image.height);
    return separableSum(image, an.terms, r, r);
  }
  const l = layout(image, r, r);
  const out = l.a.alloc(image.height * l.stride);
  const n = image.height * l.stride;
  const offsetOf = (kx: number, ky: number): number => ky * l.stride + kx * CHANNELS;
  if (an.plan.strategy === 'runs' && an.runs) {
    const { runs, rest } = an.runs;
    const prefix = l.a.alloc(l.ph * l.stride);
    fillRowPrefix(l, prefix, image.width + 2 * r);
    const w: number[] = [];
    const off: number[] = [];
    for (const run of runs) {
      w.push(run.w, -run.w);
      off.push(offsetOf(run.kx1 + 1, run.ky), offsetOf(run.kx0, run.ky));
    }
    l.a.run(prefix, out, n, w, off, false);
    if (rest.length > 0) l.a.run(l.input, out, n, rest.map((t) => t.w), rest.map((t) => offsetOf(t.kx, t.ky)), true);
    return extract(image, l, out);
  }
  const taps = an.taps ?? nonZeroTaps(kernel);
  l.a.run(l.input, out, n, taps.map((t) => t.w), taps.map((t) => offsetOf(t.kx, t.ky)), false);
  return extract(image, l, out);
}

/**
 * prefix[y][x * 3 + c] = sum of input[y][x' * 3 + c] over x' < x, for x in [0, pw]. Summed in double;
 * the float32 store costs ~pw * 6e-8 absolute per value, which a run's weight (1 / area) scales down.
 */
function fillRowPrefix(l: Layout, prefix: number, pw: number): void {
  const f = l.a.f32;
  for (let y = 0; y < l.ph; y++) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    const src = l.input + y * l.stride;
    const dst = prefix + y * l.stride;
    for (let x = 0, i = 0; x <= pw; x++, i += CHANNELS) {
      f[dst + i] = s0;
      f[dst + i + 1] = s1;
      f[dst + i + 2] = s2;
      if (x < pw) {
        s0 += f[src + i];
        s1 += f[src + i + 1];
        s2 += f[src + i + 2];
      }
    }
  }
}

/**
 * cv2.getGaussianKernel(size, sigma) in float64: the 1-D factor of the windows of the quality metrics
 * (SSIM's 11 taps at sigma 1.5, PIQE's 7 at 7/6), where float32 taps would move the scores.
 */
export function gaussianWindow(size: number, sigma: number): Float64Array {
  const taps = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - (size - 1) / 2;
    taps[i] = Math.exp((-0.5 * x * x) / (sigma * sigma));
    sum += taps[i];
  }
  for (let i = 0; i < size; i++) taps[i] /= sum;
  return taps;
}

/** Normalized 1-D Gaussian taps of odd length `size`. */
export function gaussianTaps(sigma: number, size = 2 * Math.ceil(3 * sigma) + 1): Float32Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`sigma must be a finite number > 0, got ${sigma}`);
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new RangeError(`size must be odd and >= 1, got ${size}`);
  const r = (size - 1) >> 1;
  const taps = new Float32Array(size);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    taps[i + r] = v;
    s += v;
  }
  for (let i = 0; i < size; i++) taps[i] /= s;
  return taps;
}

export function gaussianBlur(image: Image, sigma: number): Image {
  if (sigma <= 0) return { width: image.width, height: image.height, data: image.data.slice() };
  const taps = gaussianTaps(sigma);
  return convolveSeparable(image, taps, taps);
}
