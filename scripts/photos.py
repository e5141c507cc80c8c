#!/usr/bin/python3
"""Make samples/photos/{train,bench}/ from public-domain / CC0 photographs shipped by Debian packages.

    apt-get install python3-skimage python3-scipy python-matplotlib-data lomiri-wallpapers-16.04 python3-pil
    /usr/bin/python3 scripts/photos.py            # writes samples/photos/ and checks every source's sha256
    /usr/bin/python3 scripts/photos.py --check    # only verifies the committed files against photos.json

The photos are committed (about 3 MB), so nothing here is needed to use them; this script records where each
came from and how it was made, and rebuilds them bit for bit where the packages are installed.
samples/photos/LICENSES.md gives each one's author and licence. The two sets are disjoint on purpose:
train/ (with samples/images/) is for synthesizing training data, bench/ for `uirgen bench build` only.
"""

import hashlib
import io
import json
import os
import sys
import warnings

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'samples', 'photos')
SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data'
MPL = '/usr/share/matplotlib/mpl-data/sample_data'
LOMIRI = '/usr/share/backgrounds'

# (set, output name, package, source path, how it is made)
PHOTOS = [
    ('bench', 'face.png', 'python3-scipy', '/usr/lib/python3/dist-packages/scipy/misc/face.dat', 'scipy.misc.face(): 1024x768 RGB, saved as PNG'),
    ('bench', 'grace_hopper.jpg', 'python-matplotlib-data', f'{MPL}/grace_hopper.jpg', 'the file as shipped'),
    ('train', 'seeding.png', 'lomiri-wallpapers-16.04', f'{LOMIRI}/seeding_by_Clements_Engelhardt.jpg', '5312x2988 JPEG downscaled 4x (PIL Lanczos) to 1328x747, saved as PNG'),
    ('train', 'ascent.png', 'python3-scipy', '/usr/lib/python3/dist-packages/scipy/misc/ascent.dat', 'scipy.misc.ascent(): 512x512 gray, saved as PNG'),
    ('train', 'camera.png', 'python3-skimage', f'{SKIMAGE}/camera.png', 'the file as shipped'),
    ('train', 'coins.png', 'python3-skimage', f'{SKIMAGE}/coins.png', 'the file as shipped'),
    ('train', 'brick.png', 'python3-skimage', f'{SKIMAGE}/brick.png', 'the file as shipped'),
    ('train', 'grass.png', 'python3-skimage', f'{SKIMAGE}/grass.png', 'the file as shipped'),
    ('train', 'gravel.png', 'python3-skimage', f'{SKIMAGE}/gravel.png', 'the file as shipped'),
]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, format='PNG', optimize=True)
    return buf.getvalue()


def make(name, source):
    if name == 'face.png' or name == 'ascent.png':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            import scipy.misc
            arr = scipy.misc.face() if name == 'face.png' else scipy.misc.ascent().astype(np.uint8)
        return png_bytes(Image.fromarray(arr))
    if name == 'seeding.png':
        with Image.open(source) as im:
            small = im.convert('RGB').resize((im.width // 4, im.height // 4), Image.LANCZOS)
        return png_bytes(small)
    with open(source, 'rb') as f:
        return f.read()


def main():
    manifest_path = os.path.join(OUT, 'photos.json')
    if len(sys.argv) == 2 and sys.argv[1] == '--check':
        with open(manifest_path) as f:
            manifest = json.load(f)
        bad = 0
        for p in manifest['photos']:
            with open(os.path.join(OUT, p['set'], p['file']), 'rb') as f:
                ok = sha256(f.read()) == p['sha256']
            bad += not ok
            print(('ok  ' if ok else 'BAD ') + f"{p['set']}/{p['file']}")
        sys.exit(1 if bad else 0)
    records = []
    for set_name, name, package, source, how in PHOTOS:
        if not os.path.exists(source):
            sys.exit(f'{source} is missing: apt-get install {package}')
        with open(source, 'rb') as f:
            source_sha = sha256(f.read())
        data = make(name, source)
        os.makedirs(os.path.join(OUT, set_name), exist_ok=True)
        with open(os.path.join(OUT, set_name, name), 'wb') as f:
            f.write(data)
        with Image.open(io.BytesIO(data)) as im:
            size = f'{im.width}x{im.height} {im.mode}'
        records.append({'set': set_name, 'file': name, 'size': size, 'sha256': sha256(data), 'package': package,
                        'source': source, 'source_sha256': source_sha, 'made': how})
        print(f'{set_name}/{name:18s} {size:18s} {len(data):8d} bytes  from {package}')
    with open(manifest_path, 'w') as f:
        json.dump({'generator': 'scripts/photos.py', 'photos': records}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
