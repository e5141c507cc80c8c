import { backend_util } from '@tensorflow/tfjs-core';

type Conv2DInfo = backend_util.Conv2DInfo;

/**
 * Fill `out` with transposed patches of x for output rows [rowStart, rowStart + rows) (rows counted over
 * batch * outHeight): out[(i*kw + j)*Cin + ci][r*outWidth + q] = x[n, o*sh + i*dh - top, q*sw + j*dw - left, ci]
 * for output pixel (n, o, q), zero where that falls in the padding. Patch rows are contiguous over output
 * pixels, so a GEMM against dy rows (pixels x Cout) contracts over pixels in XNNPACK's fast layout.
 */
export function fillPatchesT(x: Float32Array, info: Conv2DInfo, rowStart: number, rows: number, out: Float32Array): void {
  const { inHeight: h, inWidth: w, inChannels: cin, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const pixels = rows * wo;
  const xStep = sw * cin;
  // Valid output columns per filter column j (the rest read padding).
  const qLo = new Int32Array(kw);
  const qHi = new Int32Array(kw);
  for (let j = 0; j < kw; j++) {
    const shift = j * dw - left;
    qLo[j] = Math.min(wo, Math.max(0, Math.ceil(-shift / sw)));
    qHi[j] = Math.max(qLo[j] - 1, Math.min(wo - 1, Math.floor((w - 1 - shift) / sw)));
  }
  // Output row outermost: the input row it reads (W * Cin floats) stays in cache while every tap and
  // channel is gathered from it; a channel-outer order would stream x from memory once per (tap, channel).
  for (let r = 0; r < rows; r++) {
    const g = rowStart + r;
    const n = Math.floor(g / ho);
    for (let i = 0; i < kh; i++) {
      const row = (g - n * ho) * sh + i * dh - top;
      const inside = row >= 0 && row < h;
      for (let j = 0; j < kw; j++) {
        const lo = qLo[j];
        const hi = qHi[j];
        const first = inside ? ((n * h + row) * w + lo * sw + j * dw - left) * cin : 0;
        for (let ci = 0; ci < cin; ci++) {
          const o0 = ((i * kw + j) * cin + ci) * pixels + r * wo;
          if (!inside) {
            out.fill(0, o0, o0 + wo);
            continue;
          }
          if (lo > 0) out.fill(0, o0, o0 + lo);
          if (hi < wo - 1) out.fill(0, o0 + hi + 1, o0 + wo);
          let src = first + ci;
          for (let q = lo; q <= hi; q++, src += xStep) out[o0 + q] = x[src];
        }
      }
    }
  }
}
