// Input PSNR (degraded against clean) of the standard benchmark of each degradation, as far as a source
// could be reached and checked. `value` is null where no figure was found: say so, never guess.
// kind: 'published' (a table in a paper or a public evaluation), 'computed' (measured here on real
// benchmark files, named in `source`), 'analytic' (follows from the benchmark's definition).
// channel: 'RGB' or 'Y' (BT.601 luma), as the source measured it. variant: the variant(s) the benchmark is
// compared with (null: every variant of the type).
export const FIGURES = [
  {
    type: 'GN', variant: 'gaussian', benchmark: 'CBSD68, sigma 15 / 25 / 50', channel: 'RGB', values: [24.61, 20.17, 14.15], kind: 'analytic',
    source: '20 log10(255 / sigma), the PSNR of unclipped AWGN of that sigma; clipping to [0, 255] raises it a little. No published noisy-input row was found.',
  },
  {
    type: 'RN', variant: 'shot', benchmark: 'SIDD (sRGB), 12 noisy / ground-truth crops', channel: 'RGB', values: [23.18], kind: 'computed',
    source: 'median over the 12 pairs in github.com/yilmazdoga/deep-residual-autoencoder-for-real-image-denoising @ ff5433c, datasets/SIDD_Dataset/Sample_Images (mean 22.98, range 16.4-30.2); not the full validation set.',
  },
  {
    type: 'MB', variant: 'trajectory', benchmark: 'GoPro test, blurred input', channel: 'RGB', values: [25.63], kind: 'published',
    source: 'comparison table (Blurred 25.63 / 0.8584 beside Nah et al., DeblurGAN, SRN, SVRNN) in github.com/hukv1990/MarkDown, 论文/Deblurred.md; a secondary copy, the original paper table was not reachable here.',
  },
  { type: 'DB', variant: 'disk', benchmark: 'DPDD (defocus) input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'GB', variant: 'gaussian', benchmark: 'none standard (Real-ESRGAN-style kernels are synthesized, not benchmarked)', channel: 'RGB', values: null, kind: 'published', source: 'no benchmark input figure exists to our knowledge.' },
  {
    type: 'J', variant: 'quality', benchmark: 'LIVE1 / Classic5, JPEG q10..q40', channel: 'Y', values: null, kind: 'published',
    source: 'not found here; J encodes at the benchmarks\' own qualities (10..90 includes 10, 20, 30, 40), so they lie inside its ladder by construction.',
  },
  { type: 'H', variant: null, benchmark: 'SOTS outdoor, hazy input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'RS', variant: null, benchmark: 'Rain100L and Rain100H, rainy input', channel: 'Y', values: null, kind: 'published', source: 'not found here.' },
  { type: 'RD', variant: null, benchmark: 'RainDrop test_a, input', channel: 'Y', values: null, kind: 'published', source: 'not found here.' },
  { type: 'RSD', variant: null, benchmark: 'RainDS, streak + drop input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'S', variant: null, benchmark: 'Snow100K (L / M / S), snowy input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'MS', variant: 'demosaic', benchmark: 'Kodak / McMaster, bilinear or Malvar demosaic', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  {
    type: 'LL', variant: ['gamma', 'exposure'], benchmark: 'LOL-v1 eval15 and LOL-v2-real test, low-light input', channel: 'RGB', values: [7.77, 9.72], kind: 'published',
    source: 'identity-baseline rows of independent public evaluations ("Input | 7.77 / 0.191 | 9.72 / 0.196" for LOL-v1 / LOL-v2-real; 7.77 on LOL-v1 in five GitHub READMEs found by exact search); no paper table was reachable here.',
  },
  {
    type: 'MR', variant: 'psf', benchmark: 'TIP2018 moire test set (Sun et al.), input', channel: 'RGB', values: [18.5], kind: 'published',
    source: 'PSNR histogram of the 11851 test pairs in github.com/ZhengJun-AI/MoirePhotoRestoration-MCNN README (bins <12: 8, 12-14: 227, 14-17: 2951, 17-20: 3809, 20-22: 2069, 22-24: 1463, >24: 1324); the median falls in the 17-20 dB bin, 18.5 is its middle.',
  },
  { type: 'BJ', variant: null, benchmark: 'RealBlur-J / REDS, input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'BR', variant: null, benchmark: 'RainDropClarity (day), input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'BLN', variant: 'night', benchmark: 'LOL-Blur test, input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'LHRS', variant: null, benchmark: 'CDD-11 test, input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'DNBJ', variant: 'scale', benchmark: 'none standard (Real-ESRGAN is evaluated without references)', channel: 'RGB', values: null, kind: 'published', source: 'no benchmark input figure exists to our knowledge.' },
];
