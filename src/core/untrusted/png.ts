import { DEFAULT_MAX_PIXELS } from '../io.js';

/**
 * What a PNG says about itself before anything is decoded. A member of an untrusted shard is only handed to
 * a decoder after its header has been read here and its size checked against the limits (and, where a
 * manifest row describes it, against the row): a 60000x60000 header in a 100-byte file is a decompression
 * bomb, and is refused without allocating for it.
 */

/** The largest side uirgen reads (libvips and PNG allow 2^31; no photo or crop needs more than this). */
export const MAX_IMAGE_SIDE = 65_535;
/** The most pixels an image may have: the decoder's limit for source photos (core/io). */
export const MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS;

export interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
}

const SIGNATURE = '89504e470d0a1a0a';

/** Width, height, bit depth and colour type from a PNG's IHDR, or null when `buf` does not start like a PNG. */
export function pngHeader(buf: Uint8Array): PngHeader | null {
  if (buf.length < 33) return null;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.toString('hex', 0, 8) !== SIGNATURE || b.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), depth: b[24], colorType: b[25] };
}

/** Why width x height is not a size uirgen will read, or null when it is. */
export function absurdImageSize(width: unknown, height: unknown): string | null {
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height)) {
    return `${String(width)}x${String(height)} is not a size (whole numbers of pixels)`;
  }
  const w = width as number;
  const h = height as number;
  if (w < 1 || h < 1) return `${w}x${h} is empty`;
  if (w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE || w * h > MAX_IMAGE_PIXELS) {
    return (
      `${w}x${h} (${(w * h).toLocaleString('en-US')} pixels) is past the limits ` +
      `(${MAX_IMAGE_SIDE} per side, ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} pixels): a decompression bomb or a forged header`
    );
  }
  return null;
}

/**
 * Why a PNG member cannot be trusted to decode to `expected` (when given), or null: not a PNG, a size past
 * the limits, or another size than the manifest's.
 */
export function pngProblem(head: Uint8Array, expected?: { width: number; height: number }): string | null {
  const header = pngHeader(head);
  if (!header) return 'is not a PNG (no PNG signature and IHDR at its start)';
  const absurd = absurdImageSize(header.width, header.height);
  if (absurd) return `claims ${absurd}; not decoded`;
  if (expected && (header.width !== expected.width || header.height !== expected.height)) {
    return `is ${header.width}x${header.height} but the manifest says ${expected.width}x${expected.height}`;
  }
  return null;
}
