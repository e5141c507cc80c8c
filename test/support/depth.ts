import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { pngChunk } from './files.js';

/**
 * A 16-bit greyscale PNG depth map as MiDaS's write_depth(bits=2) writes one: `value(x, y)` in [0, 1] scaled
 * to 0..65535 (for MiDaS, relative inverse depth: larger = nearer). Encoded here (big-endian samples, filter 0
 * rows) because sharp's raw input is 8-bit.
 */
export function depthMapPng(width: number, height: number, value: (x: number, y: number) => number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(height * (1 + 2 * width));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + 2 * width);
    for (let x = 0; x < width; x++) raw.writeUInt16BE(Math.round(65535 * Math.min(1, Math.max(0, value(x, y)))), row + 1 + 2 * x);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export function writeDepthMap(path: string, width: number, height: number, value: (x: number, y: number) => number): void {
  writeFileSync(path, depthMapPng(width, height, value));
}
