#!/usr/bin/python3
"""Reference PSNR / SSIM values for test/core/metrics.test.ts.

Run from the repository root with Debian's python (python3-numpy, python3-skimage, python3-pil):

    /usr/bin/python3 scripts/metrics-reference.py

It writes, under test/fixtures/metrics/:
  * small crops of the bundled photos (<name>-gt.png) and a deterministic degraded version of each
    (<name>-lq.png), 8-bit RGB PNG without ICC/gamma chunks, so the TypeScript test decodes exactly
    the pixels measured here (the test re-checks this with the sha256 of the raw RGB bytes);
  * expected.json: for every pair and every (crop_border, test_y_channel) case, two independent
    references:
      - "skimage": skimage.metrics.peak_signal_noise_ratio(data_range=255) and
        skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=255, channel_axis=-1); the Y channel comes from
        skimage.color.rgb2ycbcr (float64, Y in [16, 235]).
        skimage filters the whole image (reflect border) and then averages the SSIM map over
        crop(S, (win_size - 1) // 2) = 5 px, i.e. exactly the positions where the 11x11 window lies
        inside the image; there the border mode is never used, so this equals BasicSR's
        valid-region mean up to floating-point rounding.
      - "basicsr": a numpy re-implementation of basicsr/metrics/psnr_ssim.py calculate_psnr /
        calculate_ssim / _ssim (cv2-free: cv2.getGaussianKernel(11, 1.5) and cv2.filter2D(...)[5:-5, 5:-5]
        rebuilt as an explicit 11x11 valid correlation) including BasicSR's to_y_channel, which
        computes Y through float32 (img.astype(float32) / 255, mmcv.bgr2ycbcr y_only, cast back to
        float32, * 255). That float32 rounding is the only difference from the skimage Y values.
The degradations below are arbitrary but fixed (seeded numpy Generator); rerunning the script
reproduces the same PNG pixels and numbers.
"""

import hashlib
import io
import json
import os
import platform
import sys

import numpy as np
import skimage
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, 'samples', 'images')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'metrics')
SEED = 20261123


def load_crop(name, width, height):
    """Centre crop of a bundled photo as uint8 HWC RGB (PIL decode; the crop is then saved as PNG)."""
    with Image.open(os.path.join(SAMPLES, name)) as im:
        arr = np.asarray(im.convert('RGB'), dtype=np.uint8)
    h, w = arr.shape[:2]
    y0 = (h - height) // 2
    x0 = (w - width) // 2
    return np.ascontiguousarray(arr[y0:y0 + height, x0:x0 + width])


def to_u8(x):
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def gaussian_blur(img, sigma):
    r = int(3 * sigma + 0.5)
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * t * t / (sigma * sigma))
    k /= k.sum()
    x = img.astype(np.float64)
    p = np.pad(x, ((r, r), (0, 0), (0, 0)), mode='reflect')
    x = sum(k[i] * p[i:i + x.shape[0]] for i in range(2 * r + 1))
    p = np.pad(x, ((0, 0), (r, r), (0, 0)), mode='reflect')
    x = sum(k[i] * p[:, i:i + x.shape[1]] for i in range(2 * r + 1))
    return to_u8(x)


def jpeg(img, quality):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='JPEG', quality=quality, subsampling=2)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert('RGB'), dtype=np.uint8).copy()


def make_pairs(rng):
    pairs = []
    gt = load_crop('astronaut.png', 64, 64)
    pairs.append(('astronaut-noise', gt, to_u8(gt + rng.normal(0.0, 12.0, gt.shape)),
                  'additive Gaussian noise sigma 12 (of 255), rounded and clipped'))
    gt = load_crop('chelsea.png', 64, 64)
    pairs.append(('chelsea-blur', gt, gaussian_blur(gt, 1.2), 'Gaussian blur sigma 1.2, reflect border'))
    gt = load_crop('coffee.png', 64, 64)
    pairs.append(('coffee-jpeg', gt, jpeg(gt, 20), 'PIL JPEG quality 20, 4:2:0'))
    gt = load_crop('rocket.jpg', 80, 48)
    dark = 255.0 * 0.55 * (gt / 255.0) ** 1.4 + rng.normal(0.0, 3.0, gt.shape)
    pairs.append(('rocket-lowlight', gt, to_u8(dark),
                  'low light 0.55 * x^1.4 plus Gaussian noise sigma 3; 80x48 (non-square)'))
    gt = load_crop('hubble_deep_field.jpg', 64, 64)
    haze = 0.7 * gt.astype(np.float64) + 0.3 * np.array([200.0, 210.0, 225.0])
    pairs.append(('hubble-haze', gt, to_u8(haze), 'haze 0.7 x + 0.3 * (200, 210, 225)'))
    return pairs


# ---- numpy re-implementation of BasicSR (basicsr/metrics/psnr_ssim.py, metric_util.py) ----

def basicsr_to_y_channel(img_rgb):
    """BasicSR to_y_channel on the BGR image cv2 would have read (mmcv/basicsr bgr2ycbcr, y_only)."""
    img = img_rgb[..., ::-1].astype(np.float32) / 255.
    y = np.dot(img, [24.966, 128.553, 65.481]) + 16.0  # float64 result, as np.dot promotes
    y = (y / 255.).astype(np.float32)  # _convert_output_type_range for a float32 input
    return (y * 255.)[..., None]  # stays float32


def basicsr_prepare(img, img2, crop_border, test_y_channel):
    """BasicSR's shared first steps: crop the border, optionally keep Y, compute in float64."""
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border, ...]
    if test_y_channel:
        img = basicsr_to_y_channel(img)
        img2 = basicsr_to_y_channel(img2)
    img = img.astype(np.float64)
    img2 = img2.astype(np.float64)
    return img, img2


def basicsr_psnr(img, img2, crop_border, test_y_channel):
    img, img2 = basicsr_prepare(img, img2, crop_border, test_y_channel)
    mse = np.mean((img - img2) ** 2)
    if mse == 0:
        return float('inf')
    return 10. * np.log10(255. * 255. / mse)


def cv2_gaussian_kernel(ksize, sigma):
    x = np.arange(ksize, dtype=np.float64) - (ksize - 1) * 0.5
    t = np.exp(-0.5 / (sigma * sigma) * x * x)
    return (t * (1.0 / t.sum()))[:, None]


def filter2d_valid(img, window):
    """cv2.filter2D(img, -1, window)[5:-5, 5:-5] for an 11x11 window: plain 2D correlation, valid part."""
    view = np.lib.stride_tricks.sliding_window_view(img, window.shape)
    return np.einsum('ijkl,kl->ij', view, window)


def basicsr_ssim_channel(img, img2):
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    kernel = cv2_gaussian_kernel(11, 1.5)
    window = np.outer(kernel, kernel.transpose())
    mu1 = filter2d_valid(img, window)
    mu2 = filter2d_valid(img2, window)
    mu1_sq = mu1 ** 2
    mu2_sq = mu2 ** 2
    mu1_mu2 = mu1 * mu2
    sigma1_sq = filter2d_valid(img ** 2, window) - mu1_sq
    sigma2_sq = filter2d_valid(img2 ** 2, window) - mu2_sq
    sigma12 = filter2d_valid(img * img2, window) - mu1_mu2
    ssim_map = ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / ((mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2))
    return ssim_map.mean()


def basicsr_ssim(img, img2, crop_border, test_y_channel):
    img, img2 = basicsr_prepare(img, img2, crop_border, test_y_channel)
    return float(np.mean([basicsr_ssim_channel(img[..., i], img2[..., i]) for i in range(img.shape[2])]))


# ---- skimage reference ----

def skimage_metrics(gt, lq, crop_border, test_y_channel):
    if crop_border:
        gt = gt[crop_border:-crop_border, crop_border:-crop_border]
        lq = lq[crop_border:-crop_border, crop_border:-crop_border]
    if test_y_channel:
        a = rgb2ycbcr(gt)[..., 0]
        b = rgb2ycbcr(lq)[..., 0]
        axis = None
    else:
        a, b, axis = gt, lq, -1
    p = peak_signal_noise_ratio(a, b, data_range=255)
    s = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=255, channel_axis=axis)
    return float(p), float(s)


def save_png(path, img):
    Image.fromarray(img, 'RGB').save(path, format='PNG', optimize=True)


def read_png(path):
    with Image.open(path) as im:
        assert im.mode == 'RGB', (path, im.mode)
        return np.asarray(im, dtype=np.uint8).copy()


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)
    records = []
    for name, gt, lq, how in make_pairs(rng):
        gt_file, lq_file = f'{name}-gt.png', f'{name}-lq.png'
        save_png(os.path.join(OUT, gt_file), gt)
        save_png(os.path.join(OUT, lq_file), lq)
        # Measure what was written, not what was in memory.
        gt = read_png(os.path.join(OUT, gt_file))
        lq = read_png(os.path.join(OUT, lq_file))
        cases = []
        for crop_border in (0, 4):
            for y in (False, True):
                sk_psnr, sk_ssim = skimage_metrics(gt, lq, crop_border, y)
                cases.append({
                    'crop_border': crop_border,
                    'test_y_channel': y,
                    'skimage': {'psnr': sk_psnr, 'ssim': sk_ssim},
                    'basicsr': {
                        'psnr': float(basicsr_psnr(gt, lq, crop_border, y)),
                        'ssim': basicsr_ssim(gt, lq, crop_border, y),
                    },
                })
        records.append({
            'name': name,
            'degradation': how,
            'gt': gt_file,
            'lq': lq_file,
            'width': int(gt.shape[1]),
            'height': int(gt.shape[0]),
            'gt_rgb_sha256': hashlib.sha256(gt.tobytes()).hexdigest(),
            'lq_rgb_sha256': hashlib.sha256(lq.tobytes()).hexdigest(),
            'cases': cases,
        })
    doc = {
        'generator': 'scripts/metrics-reference.py (run: /usr/bin/python3 scripts/metrics-reference.py)',
        'versions': {
            'python': platform.python_version(),
            'numpy': np.__version__,
            'skimage': skimage.__version__,
        },
        'conventions': {
            'input': '8-bit RGB PNG pixels (HWC), data range 255',
            'skimage': 'peak_signal_noise_ratio(data_range=255); structural_similarity(gaussian_weights=True, '
                       'sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1 for RGB, None for Y); '
                       'Y = skimage.color.rgb2ycbcr(...)[..., 0] (float64, 16 + 65.481 r + 128.553 g + 24.966 b, r in [0,1]); '
                       'crop_border applied by slicing before measuring',
            'basicsr': 'numpy re-implementation of basicsr calculate_psnr / calculate_ssim / _ssim: float64, '
                       '11x11 Gaussian window sigma 1.5 (outer product of cv2.getGaussianKernel), valid region only '
                       '(cv2.filter2D(...)[5:-5, 5:-5]), c1 = (0.01*255)^2, c2 = (0.03*255)^2, mean over channels; '
                       'Y via BasicSR to_y_channel, i.e. computed through float32',
        },
        'pairs': records,
    }
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(doc, f, indent=2)
        f.write('\n')
    worst = {}
    for r in records:
        for c in r['cases']:
            for k in ('psnr', 'ssim'):
                d = abs(c['skimage'][k] - c['basicsr'][k])
                key = (k, c['test_y_channel'])
                worst[key] = max(worst.get(key, 0.0), d)
    for (k, y), d in sorted(worst.items()):
        print(f'max |skimage - basicsr| {k} {"Y" if y else "RGB"}: {d:.3e}', file=sys.stderr)


if __name__ == '__main__':
    main()
