import { endianness } from 'node:os';
import type { HostTensor } from './layout.js';

/**
 * safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the tensors'
 * bytes, row-major little-endian, offsets relative to the end of the header. The writer pads the header
 * with spaces to a multiple of 8 as the reference writer does and lays tensors out in the order given;
 * the reader checks everything the reference reader checks (header bounds, known dtypes, sizes matching
 * shapes, tensors covering the buffer without gaps or overlaps): the input is untrusted.
 */

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface NamedTensor extends HostTensor {
  name: string;
}

const MAX_HEADER = 100_000_000; // the reference reader's limit

export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new SafetensorsError(`tensor name ${t.name} is reserved or repeated`);
    const bytes = t.data.length * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let p = 8 + head.length;
  for (const t of tensors) {
    if (LITTLE_ENDIAN) Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, p);
    else for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i], p + i * 4);
    p += t.data.byteLength;
  }
  return out;
}

const DTYPE_SIZE: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** A copy of `bytes` in a fresh, aligned ArrayBuffer. */
function aligned(bytes: Buffer, length: number): ArrayBuffer {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(0, length));
  return copy.buffer;
}

/** Values of `count` elements of `dtype` starting at `bytes`, as float32. */
export function decodeValues(dtype: string, bytes: Buffer, count: number): Float32Array {
  if (dtype === 'F32' && LITTLE_ENDIAN) return new Float32Array(aligned(bytes, count * 4));
  if (dtype === 'F64' && LITTLE_ENDIAN) return Float32Array.from(new Float64Array(aligned(bytes, count * 8)));
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
      return out;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = bytes.readDoubleLE(i * 8);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes.readUInt16LE(i * 2));
      return out;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = bytes.readUInt16LE(i * 2) << 16;
      return out;
    }
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(bytes.readBigInt64LE(i * 8));
      return out;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt32LE(i * 4);
      return out;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt16LE(i * 2);
      return out;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt8(i);
      return out;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < count; i++) out[i] = bytes[i];
      return out;
    default:
      throw new SafetensorsError(`dtype ${dtype} is not supported`);
  }
}

export interface DecodedSafetensors {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
  /** Each tensor's stored dtype (values are converted to float32). */
  dtypes: Map<string, string>;
}

export function decodeSafetensors(buf: Buffer): DecodedSafetensors {
  if (buf.length < 8) throw new SafetensorsError('file too short for a safetensors header');
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER, buf.length - 8))) throw new SafetensorsError(`header length ${n} is past the file or over ${MAX_HEADER} bytes`);
  const headerLen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + headerLen));
  } catch (err) {
    throw new SafetensorsError(`header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError('header is not a JSON object');
  const base = 8 + headerLen;
  const dataLen = buf.length - base;
  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, string>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError('__metadata__ must map strings to strings');
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) throw new SafetensorsError(`${name}: not a tensor entry`);
    const dtype = info.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) throw new SafetensorsError(`${name}: dtype ${String(dtype)} is not supported`);
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new SafetensorsError(`${name}: bad shape ${JSON.stringify(shape)}`);
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      throw new SafetensorsError(`${name}: bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLen) throw new SafetensorsError(`${name}: data_offsets [${begin}, ${end}] outside the ${dataLen}-byte buffer`);
    if (end - begin !== count * DTYPE_SIZE[dtype]) throw new SafetensorsError(`${name}: ${end - begin} bytes for ${count} ${dtype} values`);
    spans.push([begin, end, name]);
    tensors.set(name, { shape: shape as number[], data: decodeValues(dtype, buf.subarray(base + begin, base + end), count) });
    dtypes.set(name, dtype);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at) throw new SafetensorsError(`${name}: tensors ${begin < at ? 'overlap' : 'leave a gap'} at byte ${Math.min(begin, at)}`);
    at = end;
  }
  if (at !== dataLen) throw new SafetensorsError(`the tensors cover ${at} of the buffer's ${dataLen} bytes`);
  return { tensors, metadata, dtypes };
}
