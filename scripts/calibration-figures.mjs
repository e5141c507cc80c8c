// Input PSNR (degraded against clean) of the standard benchmarks of each degradation, as far as a source
// could be reached and checked. `values` is null where no figure was found: say so, never guess.
// kind: 'published' (a table in a paper or a public evaluation), 'computed' (measured here on real
// benchmark files, named in `source`), 'analytic' (follows from the benchmark's definition).
// channel: 'RGB' or 'Y' (BT.601 luma), as the source measured it. variant: the variant(s) the benchmark is
// compared with (null: every variant of the type). ssim: the source's SSIM beside each value, where given.
// notes: per variant, a remark printed after that row's verdict (why a miss is left as it is).
// levels: where the benchmark is made with a parameter that is also a uirgen level, that level for each value
// (calibrate.mjs then also compares them at equal parameters).
// A type may have several entries (several benchmarks); calibrate.mjs compares each one with the levels.
//
// Searched for and not reachable from this workplace (no table with an input row, and no copy of the test
// files, could be found in the stored papers and repositories): SOTS indoor / outdoor, Rain100L, the
// Rain13k test sets (Test100, Test1200, Test2800), RainDrop test_a, RainDS, Snow100K (S / M / L), CSD,
// LOL-Blur, RealBlur-J, DPDD, RainDropClarity, and GoPro from the paper itself. Those entries keep
// values: null.
const CDD11 =
  'OneRestore (Guo et al., ECCV 2024, arXiv 2407.04621): "01_input" row of github.com/gy65896/OneRestore @ a19a2b7, img_file/metrics_CDD-11_psnr_ssim.xlsx (per-combination means over the CDD-11 test set, computed by img_file/cal_psnr_ssim.py: skimage PSNR and SSIM on all three channels); their mean over the 11 combinations, 16.00 / 0.6008, is the Input row of Table 2 (img_file/metric.png @ fa20f67).';
const FBCNN_TABLE =
  'FBCNN (Jiang, Zhang, Timofte, ICCV 2021, arXiv 2109.14573), single-JPEG table, "JPEG" column (PSNR|SSIM|PSNR-B) on grayscale images: github.com/jiaxi-jiang/FBCNN @ 52f228d, figs/single_table.png (shown in the README). Grayscale JPEG codes the luminance as colour JPEG codes Y, so it is compared with the Y column. Cross-checked here: OpenCV (libjpeg) at the same qualities on the repository\'s testsets/LIVE1_gray (29 images) and on SwinIR @ 6545850 testsets/classic5 (5 images) gives the same figures to 0.01 dB.';

export const FIGURES = [
  {
    type: 'GN', variant: 'gaussian', benchmark: 'CBSD68, sigma 15 / 25 / 50', channel: 'RGB', values: [24.61, 20.17, 14.15], kind: 'analytic',
    source: '20 log10(255 / sigma), the PSNR of unclipped AWGN of that sigma; clipping to [0, 255] raises it a little. No published noisy-input row was found.',
  },
  {
    type: 'GN', variant: 'gaussian', benchmark: 'CBSD68, sigma 15 / 25 / 50, rounded and clipped to 8 bits', channel: 'RGB', values: [24.84, 20.53, 15.0], levels: ['gaussian:15', 'gaussian:25', 'gaussian:50'], kind: 'computed',
    source: 'mean over the 68 images of github.com/cszn/FFDNet @ e787f46, testsets/CBSD68, with Gaussian noise from numpy default_rng(0), rounded and clipped to [0, 255] (unclipped: 24.61 / 20.17 / 14.15, the analytic figures).',
  },
  {
    type: 'RN', variant: 'shot', benchmark: 'SIDD (sRGB), 12 noisy / ground-truth crops', channel: 'RGB', values: [23.18], kind: 'computed',
    source: 'median over the 12 pairs in github.com/yilmazdoga/deep-residual-autoencoder-for-real-image-denoising @ ff5433c, datasets/SIDD_Dataset/Sample_Images (mean 22.98, range 16.4-30.2); not the full validation set.',
  },
  {
    type: 'MB', variant: 'trajectory', benchmark: 'GoPro test, blurred input', channel: 'RGB', values: [25.63], ssim: [0.8584], kind: 'published',
    source: 'comparison table (Blurred 25.63 / 0.8584 beside Nah et al., DeblurGAN, SRN, SVRNN) in github.com/hukv1990/MarkDown, 论文/Deblurred.md; a secondary copy, the original paper table was not reachable here.',
  },
  { type: 'DB', variant: 'disk', benchmark: 'DPDD (defocus) input', channel: 'RGB', values: null, kind: 'published', source: 'not found here (the DPDD repository README has no table; its test images are over the size the stored copies keep).' },
  { type: 'GB', variant: 'gaussian', benchmark: 'none standard (Real-ESRGAN-style kernels are synthesized, not benchmarked)', channel: 'RGB', values: null, kind: 'published', source: 'no benchmark input figure exists to our knowledge.' },
  {
    type: 'J', variant: 'quality', benchmark: 'LIVE1 (grayscale), JPEG q10 / q20 / q30 / q40', channel: 'Y', values: [27.77, 30.07, 31.41, 32.35], ssim: [0.773, 0.851, 0.885, 0.904], levels: ['quality:10', 'quality:20', 'quality:30', 'quality:40'], kind: 'published',
    source: `${FBCNN_TABLE} J encodes at the benchmark's own qualities, so the comparison at equal quality (J's quality:40 ... quality:10 levels) shows how much harder LIVE1's content is to code than the bundled photos.`,
  },
  {
    type: 'J', variant: 'quality', benchmark: 'Classic5 (grayscale), JPEG q10 / q20 / q30 / q40', channel: 'Y', values: [27.82, 30.12, 31.48, 32.43], ssim: [0.76, 0.834, 0.867, 0.885], levels: ['quality:10', 'quality:20', 'quality:30', 'quality:40'], kind: 'published',
    source: FBCNN_TABLE,
  },
  { type: 'H', variant: null, benchmark: 'SOTS outdoor / indoor, hazy input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'H', variant: null, benchmark: 'CDD-11 test, haze only', channel: 'RGB', values: [15.87], ssim: [0.8082], kind: 'published', source: CDD11 },
  {
    type: 'RS', variant: null, benchmark: 'Rain100H test (100 pairs), rainy input', channel: 'Y', values: [13.55], ssim: [0.379], kind: 'computed',
    source: 'mean over the 100 pairs of github.com/kuijiang94/MSPFN @ 26e6073 (test data added in d81a5c5), model/test/test_data/R100H/{inputcrop,cleancrop} (480x320 crops of the 481x321 originals); Y = BT.601 luma as MATLAB rgb2ycbcr; SSIM: skimage, Gaussian window sigma 1.5, on Y (RGB PSNR: 12.13). Commonly quoted as 13.56 / 0.371 on Y, which agrees; no table carrying it could be reached here.',
    notes: { density: 'it lies between the top two levels, density:62 and density:72 (held by test/degradations/calibration.test.ts)' },
  },
  { type: 'RS', variant: null, benchmark: 'Rain100L, Test100, Test1200, Test2800 (Rain13k test sets), rainy input', channel: 'Y', values: null, kind: 'published', source: 'not found here.' },
  { type: 'RS', variant: null, benchmark: 'CDD-11 test, rain only', channel: 'RGB', values: [22.02], ssim: [0.7923], kind: 'published', source: CDD11 },
  { type: 'RD', variant: null, benchmark: 'RainDrop test_a, input', channel: 'Y', values: null, kind: 'published', source: 'not found here.' },
  { type: 'RSD', variant: null, benchmark: 'RainDS, streak + drop input', channel: 'RGB', values: null, kind: 'published', source: 'not found here (the RainDS_CCN README has no table).' },
  { type: 'S', variant: null, benchmark: 'Snow100K (S / M / L) and CSD, snowy input', channel: 'RGB', values: null, kind: 'published', source: 'not found here.' },
  { type: 'S', variant: null, benchmark: 'CDD-11 test, snow only', channel: 'RGB', values: [23.62], ssim: [0.8791], kind: 'published', source: CDD11 },
  {
    type: 'MS', variant: 'demosaic', benchmark: 'Kodak (24, 768x512) / McMaster (18, 500x500), bilinear demosaic of an RGGB mosaic', channel: 'RGB', values: [29.12, 32.27], levels: ['demosaic:bilinear', 'demosaic:bilinear'], kind: 'computed',
    source: 'mean CPSNR of OpenCV\'s bilinear Bayer demosaic (COLOR_BayerBG2BGR, the code that inverts an RGGB mosaic) over the full frames of github.com/Zelex/images @ 0b8a89d, kodak/ (30.28 with a 5-pixel border cropped, as many demosaicing papers do), and of github.com/JingyunLiang/SwinIR @ 6545850, testsets/McMaster (32.32 cropped). No published bilinear table could be reached here. Compared with the span of the malvar / bilinear / nearest levels; the like-for-like level is bilinear.',
  },
  {
    type: 'LL', variant: ['gamma', 'exposure'], benchmark: 'LOL-v1 eval15 and LOL-v2-real test, low-light input', channel: 'RGB', values: [7.77, 9.72], ssim: [0.191, 0.196], kind: 'published',
    source: 'identity-baseline rows of independent public evaluations ("Input | 7.77 / 0.191 | 9.72 / 0.196" for LOL-v1 / LOL-v2-real; 7.77 on LOL-v1 in five GitHub READMEs found by exact search); no paper table was reachable here.',
    notes: {
      gamma:
        "left as it is: LOL's low-light inputs are short exposures, which the exposure variant models, and it brackets LOL-v1 (exposure:-4.5, 7.73 dB); a gamma past 5 would go beyond what synthetic low-light pipelines use (CDD-11's syn_low raises the illumination to a power of 2 to 3)",
    },
  },
  { type: 'LL', variant: ['gamma', 'exposure'], benchmark: 'CDD-11 test, low light only', channel: 'RGB', values: [12.0], ssim: [0.3685], kind: 'published', source: CDD11 },
  {
    type: 'MR', variant: 'psf', benchmark: 'TIP2018 moire test set (Sun et al.), input', channel: 'RGB', values: [18.5], kind: 'published',
    source: 'PSNR histogram of the 11851 test pairs in github.com/ZhengJun-AI/MoirePhotoRestoration-MCNN README (bins <12: 8, 12-14: 227, 14-17: 2951, 17-20: 3809, 20-22: 2069, 22-24: 1463, >24: 1324); the median falls in the 17-20 dB bin, 18.5 is its middle.',
  },
  { type: 'BJ', variant: null, benchmark: 'RealBlur-J / REDS, input', channel: 'RGB', values: null, kind: 'published', source: 'not found here (the RealBlur README has no table).' },
  { type: 'BR', variant: null, benchmark: 'RainDropClarity (day), input', channel: 'RGB', values: null, kind: 'published', source: 'not found here (the RaindropClarity README and poster show no input figure).' },
  { type: 'BLN', variant: 'night', benchmark: 'LOL-Blur test, input', channel: 'RGB', values: null, kind: 'published', source: 'not found here (the LEDNet README has no table).' },
  { type: 'LHRS', variant: 'low-haze', benchmark: 'CDD-11 test, low + haze', channel: 'RGB', values: [14.94], ssim: [0.5306], kind: 'published', source: CDD11 },
  { type: 'LHRS', variant: 'low-rain', benchmark: 'CDD-11 test, low + rain', channel: 'RGB', values: [14.61], ssim: [0.4157], kind: 'published', source: CDD11 },
  { type: 'LHRS', variant: 'low-snow', benchmark: 'CDD-11 test, low + snow', channel: 'RGB', values: [13.5], ssim: [0.383], kind: 'published', source: CDD11 },
  { type: 'LHRS', variant: 'haze-rain', benchmark: 'CDD-11 test, haze + rain', channel: 'RGB', values: [14.78], ssim: [0.7144], kind: 'published', source: CDD11 },
  { type: 'LHRS', variant: 'haze-snow', benchmark: 'CDD-11 test, haze + snow', channel: 'RGB', values: [14.79], ssim: [0.7391], kind: 'published', source: CDD11 },
  { type: 'LHRS', variant: 'low-haze-rain', benchmark: 'CDD-11 test, low + haze + rain', channel: 'RGB', values: [15.25], ssim: [0.4834], kind: 'published', source: CDD11 },
  { type: 'LHRS', variant: 'low-haze-snow', benchmark: 'CDD-11 test, low + haze + snow', channel: 'RGB', values: [14.63], ssim: [0.4949], kind: 'published', source: CDD11 },
  { type: 'DNBJ', variant: 'scale', benchmark: 'none standard (Real-ESRGAN is evaluated without references)', channel: 'RGB', values: null, kind: 'published', source: 'no benchmark input figure exists to our knowledge.' },
];
