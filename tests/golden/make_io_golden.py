#!/usr/bin/python3
"""Writes tests/golden/io_golden.txt: for every sample image in data/images,
what OpenCV decodes (shape, dtype, sum of all samples and a few pixels), for
tests/io_test.cpp to compare tandem's decoders with.

Run from the repository root:  /usr/bin/python3 tests/golden/make_io_golden.py

OpenCV returns BGR(A); the values written here are RGB(A), tandem's order.
IMREAD_UNCHANGED keeps gray images single-channel and 16-bit samples raw, and
applies no EXIF rotation (tandem applies none either).
"""
import os
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGES = os.path.join(ROOT, "data", "images")
OUT = os.path.join(ROOT, "tests", "golden", "io_golden.txt")
DTYPES = {np.dtype(np.uint8): "u8", np.dtype(np.uint16): "u16"}


def sample_points(h, w):
    """Corners, centre, and a fixed scatter of interior points."""
    pts = [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)]
    rng = np.random.default_rng(1234)
    for _ in range(11):
        pts.append((int(rng.integers(0, h)), int(rng.integers(0, w))))
    return pts


def main():
    lines = [
        "# Made by tests/golden/make_io_golden.py with OpenCV " + cv2.__version__ + "; do not edit.",
        "# name height width channels dtype sum y,x=v[/v...] ...  (RGB order)",
    ]
    for name in sorted(os.listdir(IMAGES)):
        if not name.lower().endswith((".png", ".jpg", ".jpeg")) or name == "truncated.jpg":
            continue
        img = cv2.imread(os.path.join(IMAGES, name), cv2.IMREAD_UNCHANGED)
        if img is None:
            sys.exit("OpenCV cannot read " + name)
        if img.ndim == 3 and img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif img.ndim == 3 and img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
        h, w = img.shape[:2]
        c = 1 if img.ndim == 2 else img.shape[2]
        px = img.reshape(h, w, c)
        fields = [name, str(h), str(w), str(c), DTYPES[img.dtype], str(int(img.astype(np.int64).sum()))]
        for y, x in sample_points(h, w):
            fields.append("%d,%d=%s" % (y, x, "/".join(str(int(v)) for v in px[y, x])))
        lines.append(" ".join(fields))
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
