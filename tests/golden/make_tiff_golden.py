#!/usr/bin/python3
"""Writes tests/golden/tiff/: TIFF files written by OpenCV (its libtiff
writer, an encoder independent of tandem's), each next to the array it holds
as .npy (RGB(A) order, tandem's), for tests/tiff_test.cpp.

Run from the repository root:  /usr/bin/python3 tests/golden/make_tiff_golden.py

Covers 8/16-bit gray, RGB and RGBA, uncompressed, LZW, deflate and zstd;
32-bit float (uncompressed: OpenCV writes float no other way); a three-page
file. Odd sizes, so strips end short.
Every file is also read back with cv2.imread(IMREAD_UNCHANGED) and checked.
"""
import os

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "tiff")
COMPRESSION = {"none": 1, "lzw": 5, "deflate": 8, "zstd": 50000}


def to_cv(a):
    """tandem's RGB(A) -> OpenCV's BGR(A)."""
    if a.ndim == 3 and a.shape[2] == 3:
        return a[..., ::-1].copy()
    if a.ndim == 3 and a.shape[2] == 4:
        return a[..., [2, 1, 0, 3]].copy()
    return a


def write(name, a, compression):
    path = os.path.join(OUT, name + ".tif")
    assert cv2.imwrite(path, to_cv(a), [cv2.IMWRITE_TIFF_COMPRESSION, COMPRESSION[compression]])
    back = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert back is not None and np.array_equal(back, to_cv(a)), name
    np.save(os.path.join(OUT, name + ".npy"), a)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261206)
    # Smooth ramps plus noise: compressible, yet every sample matters.
    y, x = np.mgrid[0:37, 0:53]
    ramp = (y * 7 + x * 3).astype(np.float64)
    for dtype, top in ((np.uint8, 255), (np.uint16, 65535)):
        bits = 8 if dtype == np.uint8 else 16
        for ch in (1, 3, 4):
            planes = [((ramp * (k + 1) * top / 400) + rng.integers(0, top // 16, ramp.shape)) % (top + 1) for k in range(ch)]
            a = np.stack(planes, axis=-1).astype(dtype) if ch > 1 else planes[0].astype(dtype)
            for comp in ("none", "lzw", "deflate", "zstd"):
                write(f"u{bits}_c{ch}_{comp}", a, comp)
    f = (rng.standard_normal((29, 41)) * 1000).astype(np.float32)
    f[0, 0], f[1, 1], f[2, 2] = np.float32(3.0e38), np.float32(-0.0), np.float32(1e-42)
    # OpenCV writes float TIFFs uncompressed whatever it is asked (tests/tiff_test.cpp
    # encodes and decodes compressed float itself).
    write("f32_c1_none", f, "none")
    pages = [rng.integers(0, 255, (19 + k, 23 - k), dtype=np.uint8) for k in range(3)]
    path = os.path.join(OUT, "pages3_u8_c1.tif")
    assert cv2.imwritemulti(path, pages)
    ok, back = cv2.imreadmulti(path, flags=cv2.IMREAD_UNCHANGED)
    assert ok and len(back) == 3 and all(np.array_equal(p, b) for p, b in zip(pages, back))
    for k, p in enumerate(pages):
        np.save(os.path.join(OUT, f"pages3_u8_c1.p{k}.npy"), p)


if __name__ == "__main__":
    main()
