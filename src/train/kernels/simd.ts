import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Small WebAssembly (SIMD and bulk-memory) routines, assembled here from their opcodes, that run inside the wasm
 * backend's own memory (tfjs's wasm binary cannot be extended). First
 *
 *   rowdot(x, dy, acc, n, xStep, cBytes):
 *     for k in 0..cBytes step 16:                       (4 channels at a time)
 *       v = 0
 *       for p in 0..n: v += f32x4(x + p*xStep + k) * f32x4(dy + p*cBytes + k)
 *       f32x4(acc + k) += v
 *
 * i.e. per-channel dot products of a row of n pixels of x with a row of dy, added into acc — the inner
 * loop of a depthwise filter gradient. XNNPACK has no kernel for this (as a convolution, dy would be a
 * huge per-channel filter, which falls off its depthwise fast path). Pointers and sizes are in bytes;
 * n >= 1; cBytes is a positive multiple of 16.
 */
const ROWDOT_BODY = [
  // locals after the 6 params: k, p, xp, dp (i32, indices 6..9) and v (v128, index 10)
  0x02, 0x04, 0x7f, 0x01, 0x7b,
  0x41, 0x00, 0x21, 0x06, // k = 0
  0x03, 0x40, // loop K
  0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x21, 0x0a, // v = 0
  0x20, 0x00, 0x20, 0x06, 0x6a, 0x21, 0x08, // xp = x + k
  0x20, 0x01, 0x20, 0x06, 0x6a, 0x21, 0x09, // dp = dy + k
  0x20, 0x03, 0x21, 0x07, // p = n
  0x03, 0x40, // loop P
  0x20, 0x0a, // v
  0x20, 0x08, 0xfd, 0x00, 0x02, 0x00, // v128.load xp
  0x20, 0x09, 0xfd, 0x00, 0x02, 0x00, // v128.load dp
  0xfd, 0xe6, 0x01, // f32x4.mul
  0xfd, 0xe4, 0x01, // f32x4.add
  0x21, 0x0a, // v = ...
  0x20, 0x08, 0x20, 0x04, 0x6a, 0x21, 0x08, // xp += xStep
  0x20, 0x09, 0x20, 0x05, 0x6a, 0x21, 0x09, // dp += cBytes
  0x20, 0x07, 0x41, 0x01, 0x6b, 0x22, 0x07, // p -= 1
  0x0d, 0x00, // br_if P (p != 0)
  0x0b, // end P
  0x20, 0x02, 0x20, 0x06, 0x6a, // address acc + k
  0x20, 0x02, 0x20, 0x06, 0x6a, 0xfd, 0x00, 0x02, 0x00, // v128.load acc + k
  0x20, 0x0a, 0xfd, 0xe4, 0x01, // + v
  0xfd, 0x0b, 0x02, 0x00, // v128.store
  0x20, 0x06, 0x41, 0x10, 0x6a, 0x22, 0x06, // k += 16
  0x20, 0x05, 0x49, 0x0d, 0x00, // br_if K (k < cBytes)
  0x0b, // end K
  0x0b, // end function
];

/**
 *   colsum(x, acc, n, cBytes): for k in 0..cBytes step 16: f32x4(acc + k) += sum over p < n of f32x4(x + p*cBytes + k)
 *
 * Column sums of an [n, C] block, for sums over leading axes (every bias gradient).
 */
const COLSUM_BODY = [
  // locals after the 4 params: k, p, xp (i32, indices 4..6) and v (v128, index 7)
  0x02, 0x03, 0x7f, 0x01, 0x7b,
  0x41, 0x00, 0x21, 0x04, // k = 0
  0x03, 0x40, // loop K
  0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x21, 0x07, // v = 0
  0x20, 0x00, 0x20, 0x04, 0x6a, 0x21, 0x06, // xp = x + k
  0x20, 0x02, 0x21, 0x05, // p = n
  0x03, 0x40, // loop P
  0x20, 0x07, 0x20, 0x06, 0xfd, 0x00, 0x02, 0x00, 0xfd, 0xe4, 0x01, 0x21, 0x07, // v += v128.load xp
  0x20, 0x06, 0x20, 0x03, 0x6a, 0x21, 0x06, // xp += cBytes
  0x20, 0x05, 0x41, 0x01, 0x6b, 0x22, 0x05, // p -= 1
  0x0d, 0x00, // br_if P (p != 0)
  0x0b, // end P
  0x20, 0x01, 0x20, 0x04, 0x6a, // address acc + k
  0x20, 0x01, 0x20, 0x04, 0x6a, 0xfd, 0x00, 0x02, 0x00, // v128.load acc + k
  0x20, 0x07, 0xfd, 0xe4, 0x01, // + v
  0xfd, 0x0b, 0x02, 0x00, // v128.store
  0x20, 0x04, 0x41, 0x10, 0x6a, 0x22, 0x04, // k += 16
  0x20, 0x03, 0x49, 0x0d, 0x00, // br_if K (k < cBytes)
  0x0b, // end K
  0x0b, // end function
];

/**
 *   blockcopy(dst, src, rows, bytes, dstStride, srcStride): rows times, memory.copy `bytes` bytes, then
 *   advance dst and src by their strides (rows >= 1). The strided copies of slice, split and concat.
 */
const BLOCKCOPY_BODY = [
  0x00, // no locals
  0x03, 0x40, // loop
  0x20, 0x00, 0x20, 0x01, 0x20, 0x03, 0xfc, 0x0a, 0x00, 0x00, // memory.copy(dst, src, bytes)
  0x20, 0x00, 0x20, 0x04, 0x6a, 0x21, 0x00, // dst += dstStride
  0x20, 0x01, 0x20, 0x05, 0x6a, 0x21, 0x01, // src += srcStride
  0x20, 0x02, 0x41, 0x01, 0x6b, 0x22, 0x02, // rows -= 1
  0x0d, 0x00, // br_if (rows != 0)
  0x0b, // end loop
  0x0b, // end function
];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

function moduleBytes(): Uint8Array {
  const i32 = 0x7f;
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 6, i32, i32, i32, i32, i32, i32, 0, 0x60, 4, i32, i32, i32, i32, 0]), // (i32 x6) -> (), (i32 x4) -> ()
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]), // import memory, min 1 page, no max
    ...section(3, [3, 0, 1, 0]), // rowdot: type 0, colsum: type 1, blockcopy: type 0
    ...section(7, [3, ...name('rowdot'), 0x00, 0, ...name('colsum'), 0x00, 1, ...name('blockcopy'), 0x00, 2]),
    ...section(10, [
      3,
      ...uleb(ROWDOT_BODY.length),
      ...ROWDOT_BODY,
      ...uleb(COLSUM_BODY.length),
      ...COLSUM_BODY,
      ...uleb(BLOCKCOPY_BODY.length),
      ...BLOCKCOPY_BODY,
    ]),
  ]);
}

export type RowDot = (x: number, dy: number, acc: number, n: number, xStep: number, cBytes: number) => void;
export type ColSum = (x: number, acc: number, n: number, cBytes: number) => void;
export type BlockCopy = (dst: number, src: number, rows: number, bytes: number, dstStride: number, srcStride: number) => void;
export interface SimdRoutines {
  rowDot: RowDot;
  colSum: ColSum;
  blockCopy: BlockCopy;
}

// The project's lib settings carry no WebAssembly typings; this is the part used here.
interface WasmApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const cache = new WeakMap<object, SimdRoutines>();
let compiled: object | null | undefined;

/** The routines bound to the backend's heap, or null where this runtime lacks wasm SIMD or the heap is hidden. */
export function simdFor(backend: BackendWasm): SimdRoutines | null {
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WA.Memory)) return null;
  const hit = cache.get(memory);
  if (hit) return hit;
  if (compiled === undefined) {
    try {
      compiled = new WA.Module(moduleBytes());
    } catch {
      compiled = null;
    }
  }
  if (!compiled) return null;
  const { exports } = new WA.Instance(compiled, { env: { memory } });
  const routines = { rowDot: exports.rowdot as RowDot, colSum: exports.colsum as ColSum, blockCopy: exports.blockcopy as BlockCopy };
  cache.set(memory, routines);
  return routines;
}
