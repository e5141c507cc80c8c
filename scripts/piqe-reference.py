#!/usr/bin/python3
"""Reference PIQE values for test/core/piqe.test.ts, computed independently of the TypeScript code.

PIQE (Venkatanath et al., "Blind image quality evaluation using perception based features", NCC 2015) as
MATLAB's Image Processing Toolbox defines it (`piqe`, R2018b and later), which is what papers report:

  1. 8-bit gray: MATLAB rgb2gray (Y of its inverse NTSC matrix, 0.298936021293775 R + 0.587043074451121 G +
     0.114020904255103 B), rounded to uint8; the image is first padded (replicate, bottom/right) to a multiple
     of 16 on each side.
  2. MSCN coefficients: mu and sigma from a 7x7 Gaussian window, sigma 7/6, replicate padding;
     (I - mu) / (sigma + 1).
  3. 16x16 non-overlapping blocks; a block is spatially active when var(MSCN) > 0.1 (sample variance).
  4. In an active block: noticeable distortion when any of the 11 six-pixel segments of any of its four edges
     has sample std < 0.1; noise when sqrt(v) > 2 * beta, beta = |sqrt(v) - r| / max(sqrt(v), r), r the ratio
     of the sample std of the "centre" (columns 8 and 9, 1-based) to that of the "surround".
     MATLAB's centerSurDev deletes column 8 and then column 9 of what is left, i.e. original column 10, so
     the surround is every column but 8 and 10 (column 9 is in both). We follow MATLAB, quirk included:
     that is what the published numbers are.
  5. Score = 100 * (sum over active blocks of [distortion] (1 - v) + [noise] v, plus 1) / (active blocks + 1).

Run from the repository root with Debian's python (python3-numpy, python3-pil):

    /usr/bin/python3 scripts/piqe-reference.py                  # writes test/fixtures/piqe/
    /usr/bin/python3 scripts/piqe-reference.py --check DIR      # compares with MATLAB's published scores

`--check DIR` reads I03.bmp, I04.bmp, I06.bmp, I08.bmp, I19.bmp (TID2013 distorted images, as kept in the
IQA-PyTorch repository under ResultsCalibra/dist_dir) and prints this script's score beside the MATLAB
score IQA-PyTorch lists for each (ResultsCalibra/calibration_summary.csv, row "piqe"). Those images are not
committed here (TID2013's licence); the fixtures are crops of the bundled CC0/public-domain photos.
"""

import hashlib
import io
import json
import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, 'samples', 'images')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'piqe')
SEED = 20261201

# IQA-PyTorch ResultsCalibra/calibration_summary.csv, row "piqe" (MATLAB), two decimals as published.
MATLAB_PUBLISHED = {'I03.bmp': 100.0, 'I04.bmp': 21.62, 'I06.bmp': 35.86, 'I08.bmp': 41.15, 'I19.bmp': 76.95}

BLOCK = 16
ACTIVITY_T = 0.1
IMPAIRED_T = 0.1
SEGMENT = 6


def matlab_round(x):
    """MATLAB round: half away from zero."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def gray8(rgb):
    coef = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    g = rgb.astype(np.float64) @ coef
    return np.clip(matlab_round(g), 0, 255)


def gauss_filter_replicate(img, sigma=7.0 / 6.0, size=7):
    r = size // 2
    t = np.arange(-r, r + 1, dtype=np.float64)
    yy, xx = np.meshgrid(t, t, indexing='ij')
    h = np.exp(-(xx * xx + yy * yy) / (2.0 * sigma * sigma))
    h /= h.sum()
    p = np.pad(img, r, mode='edge')
    win = np.lib.stride_tricks.sliding_window_view(p, (size, size))
    return np.einsum('ijkl,kl->ij', win, h)


def piqe(rgb):
    """PIQE score and block counts (active, with noticeable artifacts, noisy) of an HxWx3 uint8 image."""
    h, w = rgb.shape[:2]
    ph = (-h) % BLOCK
    pw = (-w) % BLOCK
    rgb = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode='edge')
    im = gray8(rgb)
    mu = gauss_filter_replicate(im)
    sigma = np.sqrt(np.abs(gauss_filter_replicate(im * im) - mu * mu))
    norm = (im - mu) / (sigma + 1.0)
    H, W = norm.shape
    blocks = norm.reshape(H // BLOCK, BLOCK, W // BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)
    total = 0.0
    active = artifacts = noisy = 0
    for b in blocks:
        v = b.var(ddof=1)
        if not v > ACTIVITY_T:
            continue
        active += 1
        edges = [b[0, :], b[:, BLOCK - 1], b[BLOCK - 1, :], b[:, 0]]
        seg_std = [np.lib.stride_tricks.sliding_window_view(e, SEGMENT).std(axis=1, ddof=1) for e in edges]
        impaired = bool(np.any(np.stack(seg_std).min(axis=0) < IMPAIRED_T))
        sd = np.sqrt(v)
        centre = np.concatenate([b[:, 7], b[:, 8]])
        surround = np.delete(b, [7, 9], axis=1).ravel()
        with np.errstate(divide='ignore', invalid='ignore'):
            ratio = centre.std(ddof=1) / surround.std(ddof=1)
        if np.isnan(ratio):
            ratio = 0.0
        beta = abs(sd - ratio) / max(sd, ratio)
        noise = bool(sd > 2 * beta)
        artifacts += impaired
        noisy += noise
        total += impaired * (1.0 - v) + noise * v
    score = 100.0 * (total + 1.0) / (active + 1.0)
    return float(score), active, artifacts, noisy


def load_rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert('RGB'), dtype=np.uint8).copy()


def crop(img, x, y, w, h):
    return np.ascontiguousarray(img[y:y + h, x:x + w])


def to_u8(x):
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def blur(img, sigma):
    out = np.empty(img.shape, dtype=np.float64)
    for c in range(3):
        out[..., c] = gauss_filter_replicate(img[..., c].astype(np.float64), sigma, 2 * int(3 * sigma + 0.5) + 1)
    return to_u8(out)


def jpeg(img, quality):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='JPEG', quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert('RGB'), dtype=np.uint8).copy()


def fixtures():
    """Crops of the bundled photos, clean and degraded; odd sizes exercise the padding."""
    rng = np.random.default_rng(SEED)
    astronaut = load_rgb(os.path.join(SAMPLES, 'astronaut.png'))
    chelsea = load_rgb(os.path.join(SAMPLES, 'chelsea.png'))
    coffee = load_rgb(os.path.join(SAMPLES, 'coffee.png'))
    rocket = load_rgb(os.path.join(SAMPLES, 'rocket.jpg'))
    a = crop(astronaut, 160, 40, 128, 128)
    c = crop(chelsea, 100, 40, 150, 118)
    k = crop(coffee, 200, 120, 96, 96)
    r = crop(rocket, 280, 120, 100, 90)
    return [
        ('astronaut-clean', a, 'astronaut.png crop 128x128 at (160, 40)'),
        ('astronaut-noise', to_u8(a + rng.normal(0.0, 20.0, a.shape)), 'Gaussian noise sigma 20, rounded'),
        ('chelsea-clean', c, 'chelsea.png crop 150x118 at (100, 40): not a multiple of 16, padded'),
        ('chelsea-blur', blur(c, 2.0), 'Gaussian blur sigma 2, replicate border'),
        ('coffee-jpeg', jpeg(k, 10), 'coffee.png crop 96x96 at (200, 120), PIL JPEG quality 10'),
        ('rocket-clean', r, 'rocket.jpg crop 100x90 at (280, 120)'),
        ('flat', np.full((40, 56, 3), 128, dtype=np.uint8), 'uniform gray: no active block, score 100'),
    ]


def write_fixtures():
    os.makedirs(OUT, exist_ok=True)
    records = []
    for name, img, what in fixtures():
        path = os.path.join(OUT, f'{name}.png')
        Image.fromarray(img, 'RGB').save(path, format='PNG', optimize=True)
        with Image.open(path) as im:
            back = np.asarray(im, dtype=np.uint8)
        assert np.array_equal(back, img), name
        score, active, artifacts, noisy = piqe(img)
        records.append({
            'name': name,
            'file': f'{name}.png',
            'width': int(img.shape[1]),
            'height': int(img.shape[0]),
            'rgb_sha256': hashlib.sha256(img.tobytes()).hexdigest(),
            'what': what,
            'piqe': score,
            'active_blocks': active,
            'artifact_blocks': artifacts,
            'noise_blocks': noisy,
        })
        print(f'{name:18s} {img.shape[1]}x{img.shape[0]}  PIQE {score:8.4f}  active {active} artifacts {artifacts} noise {noisy}')
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({
            'generator': 'scripts/piqe-reference.py',
            'numpy': np.__version__,
            'seed': SEED,
            'images': records,
        }, f, indent=1)
        f.write('\n')


def check(directory):
    print('image     numpy-ref   MATLAB (published, 2 d.p.)   difference')
    worst = 0.0
    for name, published in MATLAB_PUBLISHED.items():
        score = piqe(load_rgb(os.path.join(directory, name)))[0]
        worst = max(worst, abs(score - published))
        print(f'{name}  {score:9.4f}   {published:9.2f}                    {score - published:+.4f}')
    print(f'largest |difference| {worst:.4f} (published values are rounded to 0.005)')


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--check':
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        write_fixtures()
    else:
        sys.exit('usage: piqe-reference.py [--check DIR]')
