import { CHANNELS, createImage, type Image } from '../../core/image.js';
import { dataAddon, NATIVE_MIN_LENGTH } from '../../core/addon.js';
import { reflectIndex } from '../../core/conv.js';

/**
 * Bayer colour-filter-array sampling and demosaicing.
 *
 * A CFA plane is one Float32Array of width*height values, row-major; the colour each pixel saw is
 * given by the 2x2 `pattern`, read left to right, top to bottom (RGGB: R at (0,0), G at (1,0) and
 * (0,1), B at (1,1)), repeated from the image's top-left corner.
 *
 * Demosaicing methods:
 * - `nearest`: pixel replication within each 2x2 CFA cell (the cheapest camera pipelines);
 * - `bilinear`: each missing colour is the mean of its nearest same-colour neighbours;
 * - `malvar`: Malvar, He & Cutler 2004, "High-quality linear interpolation for demosaicing of
 *   Bayer-patterned color images" (ICASSP): bilinear plus a gradient correction from the
 *   channel the pixel did see, with their 5x5 filters.
 * Borders are reflect-101, which keeps the CFA phase (index -1 mirrors to 1, same parity).
 */
export type BayerPattern = 'RGGB' | 'BGGR' | 'GRBG' | 'GBRG';
export type DemosaicMethod = 'nearest' | 'bilinear' | 'malvar';

export const BAYER_PATTERNS: readonly BayerPattern[] = ['RGGB', 'BGGR', 'GRBG', 'GBRG'];
export const DEMOSAIC_METHODS: readonly DemosaicMethod[] = ['nearest', 'bilinear', 'malvar'];

function checkPattern(pattern: string): asserts pattern is BayerPattern {
  if (!(BAYER_PATTERNS as readonly string[]).includes(pattern)) {
    throw new RangeError(`pattern must be one of ${BAYER_PATTERNS.join(', ')}, got ${JSON.stringify(pattern)}`);
  }
}

/** Channel index (0 R, 1 G, 2 B) of each of the 4 cells, indexed by (y & 1) * 2 + (x & 1). */
export function cfaChannels(pattern: BayerPattern): Int8Array {
  checkPattern(pattern);
  const out = new Int8Array(4);
  for (let i = 0; i < 4; i++) out[i] = 'RGB'.indexOf(pattern[i]);
  return out;
}

/** Sample `image` through a Bayer CFA: each pixel keeps the one channel its filter passes. */
export function mosaic(image: Image, pattern: BayerPattern): Float32Array {
  const cells = cfaChannels(pattern);
  const { width, height, data } = image;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const c0 = cells[(y & 1) * 2];
    const c1 = cells[(y & 1) * 2 + 1];
    let i = y * width;
    let s = i * CHANNELS;
    for (let x = 0; x < width; x++, i++, s += CHANNELS) out[i] = data[s + (x & 1 ? c1 : c0)];
  }
  return out;
}

/** Plane padded by 2 on each side (reflect-101), so 5x5 stencils need no bounds checks. */
export function padPlane(plane: Float32Array, width: number, height: number): { p: Float32Array; pw: number } {
  const pw = width + 4;
  const ph = height + 4;
  const p = new Float32Array(pw * ph);
  const cols = new Int32Array(pw);
  for (let x = 0; x < pw; x++) cols[x] = reflectIndex(x - 2, width);
  for (let y = 0; y < ph; y++) {
    const src = reflectIndex(y - 2, height) * width;
    const dst = y * pw;
    for (let x = 0; x < pw; x++) p[dst + x] = plane[src + cols[x]];
  }
  return { p, pw };
}

/**
 * Reconstruct RGB from a CFA plane. Flat colour survives every method exactly: the weights are
 * small integers summed in double precision and divided by a power of two.
 */
export function demosaic(
  plane: Float32Array,
  width: number,
  height: number,
  pattern: BayerPattern,
  method: DemosaicMethod = 'malvar',
): Image {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
    throw new RangeError(`width and height must be integers >= 2 (one CFA cell), got ${width}x${height}`);
  }
  if (!(plane instanceof Float32Array) || plane.length !== width * height) {
    throw new RangeError(`plane must be a Float32Array of width*height = ${width * height} values`);
  }
  const cells = cfaChannels(pattern);
  if (method === 'nearest') return demosaicNearest(plane, width, height, cells);
  if (method === 'bilinear') return demosaicLinear(plane, width, height, cells, false);
  if (method === 'malvar') return demosaicLinear(plane, width, height, cells, true);
  throw new RangeError(`method must be one of ${DEMOSAIC_METHODS.join(', ')}, got ${JSON.stringify(method)}`);
}

/** Each channel copied from its sample in the pixel's 2x2 cell (the G in the pixel's own row). */
function demosaicNearest(plane: Float32Array, width: number, height: number, cells: Int8Array): Image {
  const out = createImage(width, height);
  const o = out.data;
  // For each cell position and channel: the (dx, dy) offset of the cell's sample of that channel.
  const offX = new Int8Array(12);
  const offY = new Int8Array(12);
  for (let q = 0; q < 4; q++) {
    const qy = q >> 1;
    const qx = q & 1;
    for (let c = 0; c < 3; c++) {
      let best = -1;
      for (let k = 0; k < 4; k++) {
        if (cells[k] !== c) continue;
        const ky = k >> 1;
        const kx = k & 1;
        const d = (ky !== qy ? 2 : 0) + (kx !== qx ? 1 : 0);
        if (best < 0 || d < best) {
          best = d;
          offX[q * 3 + c] = kx - qx;
          offY[q * 3 + c] = ky - qy;
        }
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const q = (y & 1) * 2 + (x & 1);
      const t = (y * width + x) * CHANNELS;
      for (let c = 0; c < 3; c++) {
        let sx = x + offX[q * 3 + c];
        let sy = y + offY[q * 3 + c];
        // An odd last row/column has half a cell: borrow the mirrored neighbour (same colour).
        if (sx >= width) sx -= 2;
        if (sy >= height) sy -= 2;
        o[t + c] = plane[sy * width + sx];
      }
    }
  }
  return out;
}

/**
 * Bilinear, and Malvar-He-Cutler when `corrected`: their filters scaled by 16 so every weight is
 * an integer (MHC 2004, Fig. 2: alpha = 1/2, beta = 5/8, gamma = 3/4). Each row is walked twice,
 * once per CFA column phase, so the site type is fixed inside the inner loops.
 */
function demosaicLinear(plane: Float32Array, width: number, height: number, cells: Int8Array, corrected: boolean): Image {
  const { p, pw } = padPlane(plane, width, height);
  const out = createImage(width, height);
  if (dataAddon && out.data.length >= NATIVE_MIN_LENGTH) dataAddon.demosaicPadded(p, pw, width, height, cells, corrected, out.data);
  else demosaicPaddedJs(p, pw, width, height, cells, corrected, out.data);
  return out;
}

/** demosaicLinear's loops over the padded plane: the reference for the data addon's demosaicPadded (native/png/pixels.cc). */
export function demosaicPaddedJs(p: Float32Array, pw: number, width: number, height: number, cells: Int8Array, corrected: boolean, o: Float32Array): void {
  const w2 = 2 * pw;
  for (let y = 0; y < height; y++) {
    const ry = y & 1;
    for (let phase = 0; phase < 2; phase++) {
      const own = cells[ry * 2 + phase];
      let i = (y + 2) * pw + phase + 2;
      let t = (y * width + phase) * CHANNELS;
      if (own === 1) {
        // Green site: the horizontal neighbours' colour and the vertical neighbours' colour.
        const hc = cells[ry * 2 + (phase ^ 1)];
        const vc = 2 - hc;
        for (let x = phase; x < width; x += 2, i += 2, t += 6) {
          const c = p[i];
          const ew = p[i - 1] + p[i + 1];
          const ns = p[i - pw] + p[i + pw];
          let h: number;
          let v: number;
          if (corrected) {
            const diag = p[i - pw - 1] + p[i - pw + 1] + p[i + pw - 1] + p[i + pw + 1];
            const ns2 = p[i - w2] + p[i + w2];
            const ew2 = p[i - 2] + p[i + 2];
            // [0 0 1/2 0 0; 0 -1 0 -1 0; -1 4 5 4 -1; ...] / 8, and its transpose.
            h = (10 * c + 8 * ew - 2 * diag - 2 * ew2 + ns2) / 16;
            v = (10 * c + 8 * ns - 2 * diag - 2 * ns2 + ew2) / 16;
          } else {
            h = ew / 2;
            v = ns / 2;
          }
          o[t + 1] = c;
          o[t + hc] = h;
          o[t + vc] = v;
        }
      } else {
        // Red or blue site: green on the cross, the opposite colour on the diagonals.
        const other = 2 - own;
        for (let x = phase; x < width; x += 2, i += 2, t += 6) {
          const c = p[i];
          const cross = p[i - pw] + p[i + pw] + p[i - 1] + p[i + 1];
          const diag = p[i - pw - 1] + p[i - pw + 1] + p[i + pw - 1] + p[i + pw + 1];
          let g: number;
          let d: number;
          if (corrected) {
            const ring = p[i - w2] + p[i + w2] + p[i - 2] + p[i + 2];
            // G: [0 0 -1 0 0; 0 0 2 0 0; -1 2 4 2 -1; ...] / 8; R/B: [.. -3/2 ..; 2 0 2; -3/2 0 6 ..] / 8.
            g = (8 * c + 4 * cross - 2 * ring) / 16;
            d = (12 * c + 4 * diag - 3 * ring) / 16;
          } else {
            g = cross / 4;
            d = diag / 4;
          }
          o[t + own] = c;
          o[t + 1] = g;
          o[t + other] = d;
        }
      }
    }
  }
}
