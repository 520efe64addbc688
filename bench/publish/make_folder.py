"""A class-sorted ImageFolder of RGB JPEGs for the publish benchmark (docs/benchmarks.md, "Publish").

    /usr/bin/python3 bench/publish/make_folder.py OUT [--images 20000] [--classes 10] [--seed 0]

Mixed sizes (320-480 x 240-400 px) of smooth colour noise at JPEG quality 90: about 52 KB an image, so
20,000 images make about 1 GB. Needs numpy and PIL (Debian: python3-numpy python3-pil).
"""
import argparse
import os

import numpy as np
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--images", type=int, default=20000)
parser.add_argument("--classes", type=int, default=10)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

rng = np.random.default_rng(args.seed)
total = 0
for i in range(args.images):
    label = i * args.classes // args.images  # sorted by class, as users' folders are
    folder = os.path.join(args.out, f"class{label:02d}")
    os.makedirs(folder, exist_ok=True)
    width, height = int(rng.integers(320, 481)), int(rng.integers(240, 401))
    # Smooth noise: coarse random colours upsampled, plus fine grain, so JPEG has something to encode.
    coarse = rng.integers(0, 256, size=(height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.int16) + rng.integers(-16, 17, size=(height, width, 3), dtype=np.int16)
    path = os.path.join(folder, f"{i:06d}.jpg")
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
    total += os.path.getsize(path)
print(f"{args.images} images, {total / 1e6:.0f} MB, {total / args.images / 1e3:.1f} KB on average, in {args.out}")
