/**
 * Index arithmetic that turns the two convolution gradients into forward convolutions, one spatial axis
 * at a time (rows and columns are planned independently).
 *
 * Forward, along one axis: y[o] = sum_i x[o*s + i*d - p] w[i], o < outSize, x of length inSize.
 */

/** How the gradient with respect to the input is computed as a stride-1 correlation over dy. */
export interface TransposedAxis {
  /** Sub-pixel phases: dx rows r with (r + p) mod s = a come from sub-filter a. */
  phases: number;
  /** Taps per sub-filter, ceil(k / s); sub-filters with fewer real taps are padded with zeros. */
  taps: number;
  /** Dilation of the correlation over dy (the forward dilation; 1 when s > 1). */
  dilation: number;
  /** Zero padding of dy before and after. */
  padBefore: number;
  padAfter: number;
  /** Output positions of the correlation per phase; phases interleave into a grid of count * phases rows. */
  count: number;
  /** dx row r sits at row r + cropOffset of that grid. */
  cropOffset: number;
}

/**
 * dx[r] = sum over (o, i) with o*s + i*d - p = r of dy[o] w[i]. Writing r + p = m*s + a, the taps that
 * reach r are i = a + t*s with o = m - t*d (one of s, d is 1), so each phase a is a correlation of dy with
 * the reversed sub-filter w[a], w[a + s], ... over m; m runs from `start` so that all pads stay >= 0.
 */
export function planTransposedAxis(inSize: number, outSize: number, k: number, s: number, d: number, p: number): TransposedAxis {
  if (s > 1 && d > 1) throw new Error(`convolution gradient: stride ${s} and dilation ${d} cannot both exceed 1`);
  const taps = Math.ceil(k / s);
  const reach = (taps - 1) * d;
  const mLo = Math.floor(p / s);
  const mHi = Math.floor((inSize - 1 + p) / s);
  const start = Math.min(mLo, reach);
  const end = Math.max(mHi, outSize - 1);
  const count = end - start + 1;
  const padBefore = reach - start;
  return { phases: s, taps, dilation: d, padBefore, padAfter: end + 1 - outSize, count, cropOffset: p - start * s };
}

/** Which forward tap feeds correlation position u of phase a (or -1 for a zero-padded position). */
export function transposedTap(axis: TransposedAxis, k: number, a: number, u: number): number {
  const i = a + (axis.taps - 1 - u) * axis.phases;
  return i < k ? i : -1;
}

/** How the gradient with respect to the filter is computed as a correlation of x with dy as the filter. */
export interface FilterGradAxis {
  /** The correlation strides by the forward dilation and dilates dy by the forward stride. */
  stride: number;
  dilation: number;
  padBefore: number;
  padAfter: number;
  /** Output positions of that correlation; the first k are the filter gradient. */
  count: number;
}

/** dw[i] = sum_o x[o*s + i*d - p] dy[o]: a correlation over x (padded by p) whose "filter" is dy. */
export function planFilterGradAxis(inSize: number, outSize: number, k: number, s: number, d: number, p: number): FilterGradAxis {
  const span = (outSize - 1) * s + 1;
  const padAfter = Math.max(0, (k - 1) * d + span - inSize - p);
  const count = Math.floor((inSize + p + padAfter - span) / d) + 1;
  return { stride: d, dilation: s, padBefore: p, padAfter, count };
}
