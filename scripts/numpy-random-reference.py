#!/usr/bin/python3
"""Values of NumPy's legacy global generator for test/core/numpy-random.test.ts.

    /usr/bin/python3 scripts/numpy-random-reference.py     # writes test/fixtures/numpy-random.json

The denoising benchmarks add noise with np.random.seed(0) + np.random.normal(0, sigma / 255, shape) (BasicSR's
PairedImageDenoiseDataset as MaskDCPT uses it); src/core/numpy-random.ts reproduces that stream.
"""
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'numpy-random.json')

out = {'numpy': np.__version__}
# Raw MT19937 words: RandomState.bytes gives them little-endian.
r = np.random.RandomState(0)
out['seed0_words'] = [int(w) for w in np.frombuffer(r.bytes(4 * 6), dtype='<u4')]
r = np.random.RandomState(0)
out['seed0_random_sample'] = r.random_sample(5).tolist()
np.random.seed(0)
out['seed0_randn'] = np.random.randn(9).tolist()
np.random.seed(12345)
out['seed12345_normal_25'] = np.random.normal(0, 25 / 255.0, (3, 2, 3)).ravel().tolist()
# A long run crosses several regenerations of the 624-word state.
np.random.seed(0)
long = np.random.normal(0, 1, 5000)
out['seed0_normal_5000'] = {'sum': float(long.sum()), 'last': long[-3:].tolist()}
# What the denoise protocol adds to a float32 image in [0, 1] (BasicSR reads images as float32 / 255).
img = (np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3) * 4).astype(np.float32) / 255.0
np.random.seed(0)
img += np.random.normal(0, 25 / 255.0, img.shape)
img = np.clip(img, 0, 1)
out['denoise_float32_4x5'] = img.ravel().astype(np.float64).tolist()
with open(OUT, 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
print('wrote', OUT)
