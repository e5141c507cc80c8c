import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Plane } from './filters.js';

/**
 * Per-source depth maps made elsewhere (MiDaS, Depth Anything, a range sensor): a greyscale PNG, 16-bit as
 * MiDaS's `write_depth(bits=2)` writes it (8-bit accepted), with the source's stem. Decoded to a plane of
 * relative distance in [0, 1] (0 = nearest in the map, 1 = farthest): min-max normalized over the whole map,
 * then flipped for `inverse` maps (MiDaS and Depth Anything give relative inverse depth, larger = nearer;
 * OneRestore's CDD-11 script uses 1 - depth the same way). Normalizing over the whole map, not the crop,
 * keeps a crop's depth relative to its scene.
 */

export type DepthKind = 'inverse' | 'depth';
export const DEPTH_KINDS: readonly DepthKind[] = ['inverse', 'depth'];

/** A decoded depth map and the digest of its file's bytes (what params record). */
export interface DepthMapData extends Plane {
  sha256: string;
  kind: DepthKind;
}

export class DepthMapError extends Error {
  override name = 'DepthMapError';
}

export function isDepthKind(v: unknown): v is DepthKind {
  return v === 'inverse' || v === 'depth';
}

/**
 * Decode a depth map file's bytes; `size` resizes it (bilinear) to the source it belongs to when it was
 * written at another size of the same aspect. `name` is the file, for messages.
 */
export async function decodeDepthMap(
  bytes: Buffer,
  kind: DepthKind,
  name: string,
  size?: { width: number; height: number },
): Promise<DepthMapData> {
  if (!isDepthKind(kind)) throw new DepthMapError(`depth kind must be ${DEPTH_KINDS.join(' or ')}, got ${String(kind)}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw new DepthMapError(`${name}: not a readable depth map (${(err as Error).message.split('\n')[0]})`);
  }
  const channels = meta.channels ?? 0;
  if (meta.width === undefined || meta.height === undefined) throw new DepthMapError(`${name}: depth map has no size`);
  if (channels > 2) {
    throw new DepthMapError(`${name}: a depth map must be a greyscale image (16-bit PNG as MiDaS writes it), got ${channels} channels (a colour-mapped visualization?)`);
  }
  const deep = meta.depth === 'ushort';
  // libvips keeps 16 bits only when told the colour space is grey16 (extractChannel alone casts to 8 bits).
  let pipeline = sharp(bytes).toColourspace(deep ? 'grey16' : 'b-w').extractChannel(0);
  if (size && (size.width !== meta.width || size.height !== meta.height)) {
    const a = meta.width / meta.height;
    const b = size.width / size.height;
    if (Math.abs(a / b - 1) > 0.02) {
      throw new DepthMapError(`${name}: depth map is ${meta.width}x${meta.height}, its source ${size.width}x${size.height}: not the same aspect ratio`);
    }
    pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
  }
  const { data, info } = await pipeline.raw(deep ? { depth: 'ushort' } : undefined).toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const values = deep ? new Uint16Array(data.buffer, data.byteOffset, n) : new Uint8Array(data.buffer, data.byteOffset, n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  const out = new Float32Array(n);
  const span = hi - lo;
  for (let i = 0; i < n; i++) {
    const v = span > 0 ? (values[i] - lo) / span : 0.5;
    out[i] = kind === 'inverse' ? 1 - v : v;
  }
  return { width: info.width, height: info.height, data: out, sha256, kind };
}

/** The crop of a depth map that goes with a crop of its source. */
export function cropDepthMap(map: DepthMapData, x: number, y: number, width: number, height: number): DepthMapData {
  if (x < 0 || y < 0 || x + width > map.width || y + height > map.height) {
    throw new RangeError(`depth crop ${width}x${height}+${x}+${y} is outside the ${map.width}x${map.height} depth map`);
  }
  const data = new Float32Array(width * height);
  for (let r = 0; r < height; r++) data.set(map.data.subarray((y + r) * map.width + x, (y + r) * map.width + x + width), r * width);
  return { width, height, data, sha256: map.sha256, kind: map.kind };
}
