/**
 * A zlib-format (RFC 1950) DEFLATE (RFC 1951) compressor whose output is defined by this file alone.
 *
 * Why not zlib: the PNGs in a shard must be the same bytes on every machine, and a deflate stream is
 * only fixed by the compressor's exact algorithm. Node's bundled zlib (Chromium's fork, whose
 * match finder depends on CPU features), Debian's Node built against the system zlib, and libvips'
 * zlib-ng each produce different, equally valid streams for the same input, and each changes with
 * its version. Here the stream is a pure function of the input bytes and the level, in any
 * JavaScript engine: every choice (tokens, block boundaries, Huffman code lengths and their
 * tie-breaks) is made by the code below, deterministically.
 *
 * Levels:
 * - 0: stored blocks (no compression);
 * - 1: runs only (matches at distance 1, as zlib's Z_RLE strategy): for filtered photographs it
 *   compresses as well as zlib's level 1 at a fraction of its cost, since their residuals have few
 *   long-range repeats, while flat or saturated areas (clipped shadows, sky) become runs;
 * - 2..9: LZ77 with hash chains over the 32 KiB window, greedy, with a longer chain search per level;
 *   a match is taken if it is a run, near (<= 256 back, >= 4 long) or long (>= 6). For photographs
 *   these levels are no smaller than level 1 and far slower: they are for content with long repeats
 *   (graphics, text).
 * Every level codes a block of about BLOCK_BYTES input bytes (a match may run past it) in dynamic
 * Huffman, or stored where that is smaller, with length-limited canonical codes built by the
 * two-queue method. A block is its input range and its matches; the bytes between matches are the
 * literals, read from the input when the block is written.
 */

/**
 * Input bytes per block (a match may run past it); each block gets its own Huffman codes. The most
 * a stored block holds, so a block that does not compress costs exactly what level 0 would.
 */
const BLOCK_BYTES = 65535;
const WINDOW = 1 << 15;
const MAX_STORED = 65535;
const MIN_MATCH = 3;
const MAX_MATCH = 258;

const LIT_SYMBOLS = 286;
const DIST_SYMBOLS = 30;
const END_OF_BLOCK = 256;
const MAX_BITS = 15;
const MAX_CL_BITS = 7;

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** Order in which the code-length code's lengths are sent (RFC 1951 3.2.7). */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Length 3..258 -> its length symbol's index (0..28, i.e. symbol 257 + index). */
const LEN_CODE = new Uint8Array(MAX_MATCH + 1);
for (let s = 0; s < LEN_BASE.length; s++) {
  const top = s + 1 < LEN_BASE.length ? LEN_BASE[s + 1] : MAX_MATCH + 1;
  for (let l = LEN_BASE[s]; l < top && l <= MAX_MATCH; l++) LEN_CODE[l] = s;
}
LEN_CODE[MAX_MATCH] = 28;
/** Distance 1..256 -> code (index d - 1); above that, (d - 1) >> 7 indexes DIST_CODE_HIGH. */
const DIST_CODE_LOW = new Uint8Array(256);
const DIST_CODE_HIGH = new Uint8Array(256);
for (let c = 0; c < DIST_BASE.length; c++) {
  const top = c + 1 < DIST_BASE.length ? DIST_BASE[c + 1] : WINDOW + 1;
  for (let d = DIST_BASE[c]; d < top; d++) {
    if (d <= 256) DIST_CODE_LOW[d - 1] = c;
    else DIST_CODE_HIGH[(d - 1) >> 7] = c;
  }
}

function distCode(d: number): number {
  return d <= 256 ? DIST_CODE_LOW[d - 1] : DIST_CODE_HIGH[(d - 1) >> 7];
}

export const DEFLATE_MIN_LEVEL = 0;
export const DEFLATE_MAX_LEVEL = 9;

/** Candidates looked at per position by the LZ77 levels (index = level). */
const CHAIN = [0, 0, 4, 8, 16, 32, 64, 128, 512, 2048];

/**
 * Huffman code lengths for `freq` (n symbols), at most `limit` bits. At least two symbols get a
 * code (zlib's rule: a one-symbol code is not complete, and some inflaters refuse it): when fewer
 * are used, the lowest unused symbols are added. Ties break by symbol index, so equal frequencies
 * always give equal lengths.
 */
export function huffmanLengths(freq: ArrayLike<number>, n: number, limit: number): Uint8Array {
  const lengths = new Uint8Array(n);
  // Sort keys weight * 2^9 + symbol: ascending weight, ties by symbol (n <= 512).
  const keys: number[] = [];
  for (let s = 0; s < n; s++) if (freq[s] > 0) keys.push(freq[s] * 512 + s);
  for (let s = 0; keys.length < 2 && s < n; s++) if (!(freq[s] > 0)) keys.push(s);
  const sorted = Float64Array.from(keys).sort();
  const m = sorted.length;
  // Two-queue construction: leaves in ascending order, internal nodes created in ascending order.
  const w = new Float64Array(2 * m - 1);
  const parent = new Int32Array(2 * m - 1);
  for (let i = 0; i < m; i++) w[i] = Math.floor(sorted[i] / 512);
  let leaf = 0;
  let node = m;
  for (let next = m; next < 2 * m - 1; next++) {
    let sum = 0;
    for (let k = 0; k < 2; k++) {
      const pick = leaf < m && (node >= next || w[leaf] <= w[node]) ? leaf++ : node++;
      parent[pick] = next;
      sum += w[pick];
    }
    w[next] = sum;
  }
  const depth = new Uint16Array(2 * m - 1);
  const count = new Int32Array(limit + 2);
  for (let i = 2 * m - 3; i >= 0; i--) depth[i] = depth[parent[i]] + 1;
  for (let i = 0; i < m; i++) count[Math.min(depth[i], limit + 1)]++;
  if (count[limit + 1] > 0) {
    // Too deep: clamp to the limit, then restore Kraft's equality by splitting the deepest
    // shorter code into two one bit longer, for each code too many at the limit.
    count[limit] += count[limit + 1];
    count[limit + 1] = 0;
    let kraft = 0;
    for (let l = 1; l <= limit; l++) kraft += count[l] * 2 ** (limit - l);
    while (kraft > 2 ** limit) {
      count[limit]--;
      for (let l = limit - 1; l > 0; l--) {
        if (count[l] > 0) {
          count[l]--;
          count[l + 1] += 2;
          break;
        }
      }
      kraft--;
    }
  }
  // Longest codes to the rarest symbols (sorted is ascending by weight).
  let i = 0;
  for (let l = limit; l >= 1; l--) for (let c = 0; c < count[l]; c++) lengths[sorted[i++] % 512] = l;
  return lengths;
}

/** Canonical codes (RFC 1951 3.2.2), bit-reversed so they can be written least significant bit first. */
export function canonicalCodes(lengths: Uint8Array): Uint16Array {
  const count = new Uint16Array(MAX_BITS + 1);
  for (const l of lengths) count[l]++;
  count[0] = 0;
  const next = new Uint16Array(MAX_BITS + 2);
  for (let bits = 1, code = 0; bits <= MAX_BITS; bits++) {
    code = (code + count[bits - 1]) << 1;
    next[bits] = code;
  }
  const codes = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s];
    if (l === 0) continue;
    let c = next[l]++;
    let r = 0;
    for (let b = 0; b < l; b++) {
      r = (r << 1) | (c & 1);
      c >>= 1;
    }
    codes[s] = r;
  }
  return codes;
}

/** Least-significant-bit-first writer into a buffer sized by the caller. */
class BitWriter {
  pos = 0;
  private bits = 0;
  private count = 0;
  constructor(public out: Uint8Array) {}

  /** Append the low `n` bits of `value` (n <= 24). */
  put(value: number, n: number): void {
    this.bits |= value << this.count;
    this.count += n;
    while (this.count >= 8) {
      this.out[this.pos++] = this.bits & 0xff;
      this.bits >>>= 8;
      this.count -= 8;
    }
  }

  /** Pad with zero bits to the next byte boundary. */
  align(): void {
    if (this.count > 0) {
      this.out[this.pos++] = this.bits & 0xff;
      this.bits = 0;
      this.count = 0;
    }
  }

  get bitOffset(): number {
    return this.count;
  }

  /** Hot-loop access: the pending bits, taken over and given back by writeTokens. */
  state(): [number, number] {
    return [this.bits, this.count];
  }

  restore(pos: number, bits: number, count: number): void {
    this.pos = pos;
    this.bits = bits;
    this.count = count;
  }
}

/** Scratch buffers reused across calls (one compression at a time per thread: the API is synchronous). */
interface Scratch {
  /** The block's matches: position, length, distance. */
  matches: Int32Array;
  litFreq: Uint32Array;
  distFreq: Uint32Array;
  head: Int32Array;
  prev: Int32Array;
}
let scratch: Scratch | null = null;

function getScratch(): Scratch {
  scratch ??= {
    matches: new Int32Array(3 * (Math.floor(BLOCK_BYTES / MIN_MATCH) + 1)),
    litFreq: new Uint32Array(LIT_SYMBOLS),
    distFreq: new Uint32Array(DIST_SYMBOLS),
    head: new Int32Array(WINDOW),
    prev: new Int32Array(WINDOW),
  };
  return scratch;
}

/**
 * The code-length sequence of a block's two codes, run-length coded with symbols 16/17/18
 * (RFC 1951 3.2.7). Each entry is symbol | extra << 8.
 */
function codeLengthSymbols(lengths: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < lengths.length; ) {
    const v = lengths[i];
    let run = 1;
    while (i + run < lengths.length && lengths[i + run] === v) run++;
    if (v === 0) {
      if (run >= 11) {
        const r = Math.min(run, 138);
        out.push(18 | ((r - 11) << 8));
        i += r;
      } else if (run >= 3) {
        out.push(17 | ((run - 3) << 8));
        i += run;
      } else {
        out.push(0);
        i++;
      }
      continue;
    }
    out.push(v);
    i++;
    run--;
    while (run >= 3) {
      const r = Math.min(run, 6);
      out.push(16 | ((r - 3) << 8));
      i += r;
      run -= r;
    }
  }
  return out;
}

const CL_EXTRA_BITS = [2, 3, 7]; // for symbols 16, 17, 18

interface BlockCodes {
  litLens: Uint8Array;
  litCodes: Uint16Array;
  distLens: Uint8Array;
  distCodes: Uint16Array;
  hlit: number;
  hdist: number;
  clLens: Uint8Array;
  clCodes: Uint16Array;
  hclen: number;
  clSymbols: number[];
  /** Size of the block in bits, header included. */
  bits: number;
}

function blockCodes(litFreq: Uint32Array, distFreq: Uint32Array): BlockCodes {
  const litLens = huffmanLengths(litFreq, LIT_SYMBOLS, MAX_BITS);
  const distLens = huffmanLengths(distFreq, DIST_SYMBOLS, MAX_BITS);
  let hlit = LIT_SYMBOLS;
  while (hlit > 257 && litLens[hlit - 1] === 0) hlit--;
  let hdist = DIST_SYMBOLS;
  while (hdist > 1 && distLens[hdist - 1] === 0) hdist--;
  const all = new Uint8Array(hlit + hdist);
  all.set(litLens.subarray(0, hlit));
  all.set(distLens.subarray(0, hdist), hlit);
  const clSymbols = codeLengthSymbols(all);
  const clFreq = new Uint32Array(19);
  for (const s of clSymbols) clFreq[s & 0xff]++;
  const clLens = huffmanLengths(clFreq, 19, MAX_CL_BITS);
  let hclen = 19;
  while (hclen > 4 && clLens[CL_ORDER[hclen - 1]] === 0) hclen--;
  let bits = 3 + 5 + 5 + 4 + 3 * hclen;
  for (const s of clSymbols) {
    const sym = s & 0xff;
    bits += clLens[sym] + (sym >= 16 ? CL_EXTRA_BITS[sym - 16] : 0);
  }
  for (let s = 0; s < LIT_SYMBOLS; s++) {
    if (litFreq[s] === 0) continue;
    bits += litFreq[s] * (litLens[s] + (s > END_OF_BLOCK ? LEN_EXTRA[s - 257] : 0));
  }
  for (let d = 0; d < DIST_SYMBOLS; d++) bits += distFreq[d] * (distLens[d] + DIST_EXTRA[d]);
  return {
    litLens, litCodes: canonicalCodes(litLens), distLens, distCodes: canonicalCodes(distLens),
    hlit, hdist, clLens, clCodes: canonicalCodes(clLens), hclen, clSymbols, bits,
  };
}

/** Bits of `bytes` input bytes as stored blocks, starting `offset` bits into a byte. */
function storedBits(bytes: number, offset: number): number {
  const blocks = Math.max(1, Math.ceil(bytes / MAX_STORED));
  // The first header ends mid-byte at offset + 3, padded; every later header pads a full byte.
  return ((8 - ((offset + 3) % 8)) % 8) + 3 + (blocks - 1) * 8 + blocks * 32 + bytes * 8;
}

function writeStored(w: BitWriter, data: Uint8Array, start: number, end: number, final: boolean): void {
  let at = start;
  do {
    const len = Math.min(MAX_STORED, end - at);
    const last = final && at + len === end;
    w.put(last ? 1 : 0, 3);
    w.align();
    const o = w.out;
    let p = w.pos;
    o[p++] = len & 0xff;
    o[p++] = len >>> 8;
    o[p++] = ~len & 0xff;
    o[p++] = (~len >>> 8) & 0xff;
    o.set(data.subarray(at, at + len), p);
    w.restore(p + len, 0, 0);
    at += len;
  } while (at < end);
}

function writeHeader(w: BitWriter, c: BlockCodes, final: boolean): void {
  w.put(final ? 1 : 0, 1);
  w.put(2, 2);
  w.put(c.hlit - 257, 5);
  w.put(c.hdist - 1, 5);
  w.put(c.hclen - 4, 4);
  for (let i = 0; i < c.hclen; i++) w.put(c.clLens[CL_ORDER[i]], 3);
  for (const s of c.clSymbols) {
    const sym = s & 0xff;
    w.put(c.clCodes[sym], c.clLens[sym]);
    if (sym >= 16) w.put(s >>> 8, CL_EXTRA_BITS[sym - 16]);
  }
}

/** Length 3..258 -> its code and extra bits as one value and one bit count, for a block's code. */
const lenValue = new Uint32Array(MAX_MATCH + 1);
const lenBits = new Uint8Array(MAX_MATCH + 1);
/** Literal -> code | length << 16, for a block's code. */
const litEntry = new Uint32Array(256);

/**
 * The hot loop: the block's literals and matches as Huffman codes, with the writer's state in
 * locals. Invariant in the literal loop: fewer than 16 pending bits before each literal, so one
 * literal (at most 15 bits) is one OR and one test.
 */
function writeSymbols(w: BitWriter, c: BlockCodes, data: Uint8Array, start: number, end: number, matches: Int32Array, nm: number): void {
  const { litCodes, litLens, distCodes, distLens } = c;
  for (let v = 0; v < 256; v++) litEntry[v] = litCodes[v] | (litLens[v] << 16);
  for (let len = MIN_MATCH; len <= MAX_MATCH; len++) {
    const ls = LEN_CODE[len];
    const sym = 257 + ls;
    lenValue[len] = litCodes[sym] | ((len - LEN_BASE[ls]) << litLens[sym]);
    lenBits[len] = litLens[sym] + LEN_EXTRA[ls];
  }
  const out = w.out;
  let [bits, count] = w.state();
  let pos = w.pos;
  let i = start;
  for (let m = 0; m <= nm; m++) {
    const literalsEnd = m < nm ? matches[3 * m] : end;
    while (count >= 16) {
      out[pos++] = bits & 0xff;
      bits >>>= 8;
      count -= 8;
    }
    for (; i < literalsEnd; i++) {
      const e = litEntry[data[i]];
      bits |= (e & 0xffff) << count;
      count += e >>> 16;
      if (count >= 16) {
        out[pos++] = bits & 0xff;
        out[pos++] = (bits >>> 8) & 0xff;
        bits >>>= 16;
        count -= 16;
      }
    }
    if (m === nm) break;
    // A match: flush to under 8 bits before each part (length: <= 20 bits, distance: <= 28).
    const len = matches[3 * m + 1];
    const dist = matches[3 * m + 2];
    while (count >= 8) {
      out[pos++] = bits & 0xff;
      bits >>>= 8;
      count -= 8;
    }
    bits |= lenValue[len] << count;
    count += lenBits[len];
    while (count >= 8) {
      out[pos++] = bits & 0xff;
      bits >>>= 8;
      count -= 8;
    }
    const dc = distCode(dist);
    bits |= distCodes[dc] << count;
    count += distLens[dc];
    const de = DIST_EXTRA[dc];
    if (de > 0) {
      while (count >= 8) {
        out[pos++] = bits & 0xff;
        bits >>>= 8;
        count -= 8;
      }
      bits |= (dist - DIST_BASE[dc]) << count;
      count += de;
    }
    i += len;
  }
  w.restore(pos, bits, count);
}

/** Encode one block: dynamic Huffman, or stored where that is smaller. */
function writeBlock(w: BitWriter, s: Scratch, data: Uint8Array, start: number, end: number, nm: number, final: boolean): void {
  s.litFreq[END_OF_BLOCK] = 1;
  const codes = blockCodes(s.litFreq, s.distFreq);
  if (storedBits(end - start, w.bitOffset) < codes.bits) {
    writeStored(w, data, start, end, final);
  } else {
    writeHeader(w, codes, final);
    writeSymbols(w, codes, data, start, end, s.matches, nm);
    w.put(codes.litCodes[END_OF_BLOCK], codes.litLens[END_OF_BLOCK]);
  }
  s.litFreq.fill(0);
  s.distFreq.fill(0);
}

/**
 * Find the matches of the block that starts at `from` (counting symbol frequencies, literals
 * included) until it holds BLOCK_BYTES input bytes or the input ends; returns [matches, block end].
 */
type MatchFinder = (data: Uint8Array, from: number, s: Scratch, level: number) => [number, number];

/**
 * Level 1: runs repeating the previous byte (distance 1). The previous byte is always data[i - 1]
 * (the last literal, or the last byte of a run), so a run starts at i exactly when data[i - 1 .. i + 2]
 * are four equal bytes: one test, taken only at runs.
 */
const findRuns: MatchFinder = (data, from, s) => {
  const { matches, litFreq, distFreq } = s;
  const n = data.length;
  const stop = Math.min(n, from + BLOCK_BYTES);
  const testEnd = n - 2;
  let i = from;
  let nm = 0;
  if (i === 0 && i < stop) litFreq[data[i++]]++;
  while (i < stop) {
    const v = data[i];
    if (i < testEnd && ((data[i - 1] ^ v) | (data[i + 1] ^ v) | (data[i + 2] ^ v)) === 0) {
      const max = Math.min(MAX_MATCH, n - i);
      let len = MIN_MATCH;
      while (len < max && data[i + len] === v) len++;
      matches[3 * nm] = i;
      matches[3 * nm + 1] = len;
      matches[3 * nm + 2] = 1;
      nm++;
      litFreq[257 + LEN_CODE[len]]++;
      distFreq[0]++;
      i += len;
      continue;
    }
    litFreq[v]++;
    i++;
  }
  return [nm, i];
};

function hash3(data: Uint8Array, i: number): number {
  return Math.imul(data[i] | (data[i + 1] << 8) | (data[i + 2] << 16), 0x9e3779b1) >>> 17;
}

/** Levels 2..9: greedy LZ77 over hash chains; every position is inserted. */
const findLz77: MatchFinder = (data, from, s, level) => {
  const { matches, litFreq, distFreq, head, prev } = s;
  const n = data.length;
  const stop = Math.min(n, from + BLOCK_BYTES);
  const chainMax = CHAIN[level];
  let i = from;
  let nm = 0;
  const insert = (p: number): void => {
    const h = hash3(data, p);
    prev[p & (WINDOW - 1)] = head[h];
    head[h] = p;
  };
  while (i < stop) {
    let bestLen = 0;
    let bestDist = 0;
    if (i + MIN_MATCH <= n) {
      const max = Math.min(MAX_MATCH, n - i);
      let cand = head[hash3(data, i)];
      for (let chain = chainMax; cand >= 0 && i - cand <= WINDOW && chain > 0; chain--) {
        if (data[cand + bestLen] === data[i + bestLen]) {
          let len = 0;
          while (len < max && data[cand + len] === data[i + len]) len++;
          if (len > bestLen) {
            bestLen = len;
            bestDist = i - cand;
            if (len === max) break;
          }
        }
        cand = prev[cand & (WINDOW - 1)];
      }
    }
    // A short match far back costs more bits than its literals (photographs are full of them):
    // taken only if it is a run, near, or long.
    if (bestLen >= MIN_MATCH && (bestDist === 1 || bestLen >= 6 || (bestLen >= 4 && bestDist <= 256))) {
      matches[3 * nm] = i;
      matches[3 * nm + 1] = bestLen;
      matches[3 * nm + 2] = bestDist;
      nm++;
      litFreq[257 + LEN_CODE[bestLen]]++;
      distFreq[distCode(bestDist)]++;
      const end = Math.min(i + bestLen, n - MIN_MATCH + 1);
      for (let p = i; p < end; p++) insert(p);
      i += bestLen;
    } else {
      if (i + MIN_MATCH <= n) insert(i);
      litFreq[data[i]]++;
      i++;
    }
  }
  return [nm, i];
};

/** Adler-32 (RFC 1950) of `data`. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  const n = data.length;
  // 5552 bytes is the most that can be summed before b may exceed 2^32 (zlib's NMAX).
  for (let i = 0; i < n; ) {
    const end = Math.min(i + 5552, n);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Output size that no level exceeds: stored blocks of the whole input plus every block's framing. */
function bound(n: number): number {
  const blocks = Math.ceil(n / MAX_STORED) + Math.ceil(n / BLOCK_BYTES) + 1;
  return n + 6 * blocks + 2 + 4 + 8;
}

/** Raw DEFLATE stream of `data` at `level` (0..9) written through `w`. */
function deflateInto(w: BitWriter, data: Uint8Array, level: number): void {
  const n = data.length;
  if (level === 0 || n === 0) {
    writeStored(w, data, 0, n, true);
    return;
  }
  const s = getScratch();
  s.litFreq.fill(0);
  s.distFreq.fill(0);
  const find = level === 1 ? findRuns : findLz77;
  if (level > 1) s.head.fill(-1);
  for (let at = 0; at < n; ) {
    const [nm, next] = find(data, at, s, level);
    writeBlock(w, s, data, at, next, nm, next >= n);
    at = next;
  }
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < DEFLATE_MIN_LEVEL || level > DEFLATE_MAX_LEVEL) {
    throw new RangeError(`deflate level must be an integer in ${DEFLATE_MIN_LEVEL}..${DEFLATE_MAX_LEVEL}, got ${level}`);
  }
}

/** zlib stream (RFC 1950: header, DEFLATE data, Adler-32) of `data`; the same bytes everywhere. */
export function zlibCompress(data: Uint8Array, level = 1): Buffer {
  checkLevel(level);
  const out = new Uint8Array(bound(data.length));
  // CMF 0x78: deflate, 32 KiB window; FLG: FLEVEL as zlib sets it, FCHECK making the pair a multiple of 31.
  const flevel = level <= 1 ? 0 : level <= 5 ? 1 : level === 6 ? 2 : 3;
  const cmf = 0x78;
  let flg = flevel << 6;
  flg += 31 - ((cmf * 256 + flg) % 31);
  out[0] = cmf;
  out[1] = flg;
  const w = new BitWriter(out);
  w.pos = 2;
  deflateInto(w, data, level);
  w.align();
  const a = adler32(data);
  out[w.pos++] = a >>> 24;
  out[w.pos++] = (a >>> 16) & 0xff;
  out[w.pos++] = (a >>> 8) & 0xff;
  out[w.pos++] = a & 0xff;
  return Buffer.from(out.buffer, out.byteOffset, w.pos);
}
