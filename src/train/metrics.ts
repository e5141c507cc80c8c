import type { Image } from '../core/image.js';

/** PSNR in dB over RGB, data range 255 after 8-bit quantization (BasicSR `calculate_psnr`). */
export function psnr(a: Image, b: Image): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  let se = 0;
  const da = a.data;
  const db = b.data;
  for (let i = 0; i < da.length; i++) {
    const d = q8(da[i]) - q8(db[i]);
    se += d * d;
  }
  const mse = se / da.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

function q8(v: number): number {
  const x = Math.round(v * 255);
  return x < 0 ? 0 : x > 255 ? 255 : x;
}
