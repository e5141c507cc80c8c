/** Plain-loop reference of a per-pixel LayerNorm (unit gain, zero bias) over the last axis of size c. */
export function layerNormRef(x: Float32Array, c: number, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let p = 0; p < x.length; p += c) {
    let mu = 0;
    for (let k = 0; k < c; k++) mu += x[p + k];
    mu /= c;
    let v = 0;
    for (let k = 0; k < c; k++) v += (x[p + k] - mu) ** 2;
    v /= c;
    for (let k = 0; k < c; k++) out[p + k] = (x[p + k] - mu) / Math.sqrt(v + eps);
  }
  return out;
}
