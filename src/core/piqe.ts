import { gaussianWindow } from './conv.js';
import { toUint8, type Image } from './image.js';

/**
 * PIQE, the Perception based Image Quality Evaluator (Venkatanath, Praneeth, Chandrasekhar, Channappayya,
 * Medasani, "Blind image quality evaluation using perception based features", NCC 2015): a no-reference,
 * parameter-free score in [0, 100], lower is better. It is what the MaskDCPT paper reports for real captures
 * without ground truth, measured with MATLAB's `piqe`, whose steps this follows exactly:
 *
 * 1. The image is quantized to 8 bits (as `toUint8`), padded by replicating its last row / column to a
 *    multiple of 16 on each side, and turned into MATLAB's rgb2gray (0.298936021293775 R +
 *    0.587043074451121 G + 0.114020904255103 B, rounded).
 * 2. MSCN coefficients: (I - mu) / (sigma + 1), mu and sigma local to a 7x7 Gaussian window of sigma 7/6 with
 *    replicated borders.
 * 3. Non-overlapping 16x16 blocks; a block is spatially active when the sample variance v of its MSCN
 *    values exceeds 0.1. Only active blocks count.
 * 4. An active block shows a noticeable artifact when one of the 11 six-pixel segments along any of its four
 *    edges has a sample standard deviation below 0.1, and noise when sqrt(v) > 2 beta, where
 *    beta = |sqrt(v) - r| / max(sqrt(v), r) and r = std(centre) / std(surround). The centre is columns 8 and
 *    9 (1-based); MATLAB deletes column 8 and then column 9 *of what is left*, so its surround is every column
 *    but 8 and 10. That quirk is kept: the published scores come from it.
 * 5. score = 100 (1 + sum of (1 - v) over artifact blocks + sum of v over noise blocks) / (1 + active blocks).
 *
 * Checked against an independent NumPy implementation (scripts/piqe-reference.py, fixtures in
 * test/fixtures/piqe/), which itself reproduces MATLAB's published scores on TID2013 images to their two
 * decimals.
 */

export interface PiqeResult {
  /** 0 (best) .. 100 (worst); 100 for an image without a single active block (a flat image). */
  score: number;
  /** 16x16 blocks of the padded image. */
  blocks: number;
  /** Spatially active blocks (MATLAB's activityMask). */
  activeBlocks: number;
  /** Active blocks with a noticeable (blocking or sudden) artifact (noticeableArtifactsMask). */
  artifactBlocks: number;
  /** Active blocks with Gaussian-like noise (noiseMask). */
  noiseBlocks: number;
}

const BLOCK = 16;
const ACTIVITY_THRESHOLD = 0.1;
const IMPAIRED_THRESHOLD = 0.1;
const SEGMENT = 6;
const GRAY = [0.298936021293775, 0.587043074451121, 0.114020904255103] as const;
/** imgaussfilt(I, 7/6, 'FilterSize', 7): the normalised 1-D factor of the separable window. */
const TAPS = gaussianWindow(7, 7 / 6);

export function piqe(image: Image): PiqeResult {
  const { width: w, height: h } = image;
  const W = Math.ceil(w / BLOCK) * BLOCK;
  const H = Math.ceil(h / BLOCK) * BLOCK;
  const gray = grayPadded(toUint8(image), w, h, W, H);
  const norm = mscn(gray, W, H);
  let total = 0;
  let active = 0;
  let artifacts = 0;
  let noisy = 0;
  const block = new Float64Array(BLOCK * BLOCK);
  for (let by = 0; by < H; by += BLOCK) {
    for (let bx = 0; bx < W; bx += BLOCK) {
      for (let r = 0; r < BLOCK; r++) block.set(norm.subarray((by + r) * W + bx, (by + r) * W + bx + BLOCK), r * BLOCK);
      const v = sampleVariance(block, 0, 1, BLOCK * BLOCK);
      if (!(v > ACTIVITY_THRESHOLD)) continue;
      active++;
      const impaired = hasFlatEdgeSegment(block);
      const noise = isNoisy(block, v);
      if (impaired) {
        artifacts++;
        total += 1 - v;
      }
      if (noise) {
        noisy++;
        total += v;
      }
    }
  }
  return {
    score: (100 * (total + 1)) / (active + 1),
    blocks: (W / BLOCK) * (H / BLOCK),
    activeBlocks: active,
    artifactBlocks: artifacts,
    noiseBlocks: noisy,
  };
}

/** MATLAB rgb2gray of the 8-bit image, replicate-padded to W x H (values 0..255, integers). */
function grayPadded(rgb: Uint8Array, w: number, h: number, W: number, H: number): Float64Array {
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(y, h - 1);
    for (let x = 0; x < W; x++) {
      const s = (sy * w + Math.min(x, w - 1)) * 3;
      // Non-negative, so MATLAB's round (half away from zero) is floor(x + 0.5).
      out[y * W + x] = Math.floor(GRAY[0] * rgb[s] + GRAY[1] * rgb[s + 1] + GRAY[2] * rgb[s + 2] + 0.5);
    }
  }
  return out;
}

/** Separable 7-tap Gaussian with replicated borders. */
function gaussReplicate(src: Float64Array, W: number, H: number): Float64Array {
  const tmp = new Float64Array(W * H);
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let k = -3; k <= 3; k++) s += TAPS[k + 3] * src[row + Math.min(W - 1, Math.max(0, x + k))];
      tmp[row + x] = s;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let k = -3; k <= 3; k++) s += TAPS[k + 3] * tmp[Math.min(H - 1, Math.max(0, y + k)) * W + x];
      out[y * W + x] = s;
    }
  }
  return out;
}

function mscn(gray: Float64Array, W: number, H: number): Float64Array {
  const sq = gray.map((g) => g * g);
  const mu = gaussReplicate(gray, W, H);
  const mu2 = gaussReplicate(sq, W, H);
  const out = new Float64Array(W * H);
  for (let i = 0; i < out.length; i++) {
    const sigma = Math.sqrt(Math.abs(mu2[i] - mu[i] * mu[i]));
    out[i] = (gray[i] - mu[i]) / (sigma + 1);
  }
  return out;
}

/** Sample variance (n - 1) of n values at start, start + step, ...; two passes, as numpy and MATLAB. */
function sampleVariance(values: ArrayLike<number>, start: number, step: number, n: number): number {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[start + i * step];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = values[start + i * step] - mean;
    ss += d * d;
  }
  return ss / (n - 1);
}

/** Any six-pixel run along the top, right, bottom or left edge with sample std below the threshold. */
function hasFlatEdgeSegment(block: Float64Array): boolean {
  const last = BLOCK - 1;
  const edges: Array<[start: number, step: number]> = [
    [0, 1], // top row
    [last, BLOCK], // right column
    [last * BLOCK, 1], // bottom row
    [0, BLOCK], // left column
  ];
  for (let s = 0; s + SEGMENT <= BLOCK; s++) {
    for (const [start, step] of edges) {
      if (Math.sqrt(sampleVariance(block, start + s * step, step, SEGMENT)) < IMPAIRED_THRESHOLD) return true;
    }
  }
  return false;
}

function isNoisy(block: Float64Array, v: number): boolean {
  const centre: number[] = [];
  const surround: number[] = [];
  // Column-major, as MATLAB's Block(:) and the vertcat of its two centre columns.
  for (const c of [7, 8]) for (let r = 0; r < BLOCK; r++) centre.push(block[r * BLOCK + c]);
  for (let c = 0; c < BLOCK; c++) {
    if (c === 7 || c === 9) continue;
    for (let r = 0; r < BLOCK; r++) surround.push(block[r * BLOCK + c]);
  }
  const sd = Math.sqrt(v);
  let ratio = Math.sqrt(sampleVariance(centre, 0, 1, centre.length)) / Math.sqrt(sampleVariance(surround, 0, 1, surround.length));
  if (Number.isNaN(ratio)) ratio = 0;
  const beta = Math.abs(sd - ratio) / Math.max(sd, ratio);
  return sd > 2 * beta;
}
