#!/usr/bin/python3
"""Writes the OpenCV golden files for tandem's sobel, median and resize tests.

    /usr/bin/python3 tests/golden/make_resample_golden.py

Needs cv2 and numpy. Every input is seeded, so re-running reproduces the
committed files (given the same OpenCV). Each case stores its input and
OpenCV's output as small .npy files, tests/golden/resample_*.npy.

Before writing, the script checks OpenCV against naive NumPy references of the
semantics tandem documents (replicate-border window median; bilinear with
half-pixel centres and clamped taps), so a golden file never encodes an OpenCV
quirk that tandem's tests would then have to copy.
"""
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)


def save(name, arr):
    np.save(os.path.join(HERE, "resample_" + name + ".npy"), np.ascontiguousarray(arr))


def rand(shape, dtype, hi=None):
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32)
    top = np.iinfo(dtype).max if hi is None else hi
    return rng.integers(0, top + 1, size=shape, dtype=dtype)


# ---- sobel: cv2.Sobel in CV_32F, magnitude in float32, rounded half to even ----
BORDERS = {"reflect101": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE,
           "constant": cv2.BORDER_CONSTANT}


def sobel_mag(img, border):
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, borderType=border)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, borderType=border)
    m = np.sqrt(gx * gx + gy * gy, dtype=np.float32)
    if img.dtype == np.float32:
        return m
    info = np.iinfo(img.dtype)
    return np.clip(np.rint(m), 0, info.max).astype(img.dtype)


for tag, shape, dtype, hi in [("u8c3", (24, 31, 3), np.uint8, None),
                              ("u16c1", (21, 26), np.uint16, 9000),
                              ("f32c1", (19, 23), np.float32, None)]:
    img = rand(shape, dtype, hi)
    save("sobel_in_" + tag, img)
    for bname, b in BORDERS.items():
        save("sobel_out_%s_%s" % (tag, bname), sobel_mag(img, b))


# ---- median: cv2.medianBlur; replicate border ----------------------------------
def naive_median(img, k):
    r = k // 2
    a = img if img.ndim == 3 else img[:, :, None]
    p = np.pad(a, ((r, r), (r, r), (0, 0)), mode="edge")
    h, w = a.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(p, (k, k), axis=(0, 1))  # h, w, c, k, k
    out = np.median(win.reshape(h, w, a.shape[2], k * k), axis=-1).astype(img.dtype)
    return out.reshape(img.shape)


def median_case(tag, img, ks):
    save("median_in_" + tag, img)
    for k in ks:
        out = cv2.medianBlur(img, k)
        ref = naive_median(img, k)
        if not np.array_equal(out, ref):
            sys.exit("cv2.medianBlur %s k=%d differs from the naive median" % (tag, k))
        save("median_out_%s_k%d" % (tag, k), out)


median_case("u8c3", rand((29, 37, 3), np.uint8), [3, 5, 7, 15])
median_case("u8c1small", rand((9, 11), np.uint8), [15])  # window larger than the image
median_case("u16c1", rand((23, 19), np.uint16), [3, 5])
median_case("f32c1", rand((23, 19), np.float32), [3, 5])


# ---- resize: cv2.resize INTER_LINEAR -------------------------------------------
def taps(src_n, dst_n):
    scale = 1.0 / (dst_n / src_n)
    s = ((np.arange(dst_n) + 0.5) * scale - 0.5).astype(np.float32)
    i0 = np.floor(s).astype(np.int64)
    f = (s - i0.astype(np.float32)).astype(np.float64)
    lo, hi = i0 < 0, i0 >= src_n - 1
    i0[lo], f[lo] = 0, 0
    i0[hi], f[hi] = src_n - 1, 0
    return i0, np.minimum(i0 + 1, src_n - 1), f


def naive_resize(img, w, h):
    a = img.astype(np.float64)
    x0, x1, fx = taps(img.shape[1], w)
    y0, y1, fy = taps(img.shape[0], h)
    if a.ndim == 3:
        fx, fy = fx[None, :, None], fy[:, None, None]
    else:
        fx, fy = fx[None, :], fy[:, None]
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bot = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy


def resize_case(tag, img, sizes, tol):
    save("resize_in_" + tag, img)
    for w, h in sizes:
        out = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        err = np.abs(out.astype(np.float64) - naive_resize(img, w, h)).max()
        if err > tol:
            sys.exit("cv2.resize %s to %dx%d is %g from the naive bilinear" % (tag, w, h, err))
        save("resize_out_%s_%dx%d" % (tag, w, h), out)


# up, down, non-integer both ways, exact 2x down (OpenCV switches to INTER_AREA), to 1x1
SIZES = [(67, 53), (17, 13), (29, 41), (20, 15), (1, 1)]
resize_case("u8c3", rand((30, 40, 3), np.uint8), SIZES, 1.0)
resize_case("f32c1", rand((30, 40), np.float32), SIZES, 1e-4)
resize_case("u16c1", rand((30, 40), np.uint16), SIZES[:3], 1.0)

total = sum(os.path.getsize(os.path.join(HERE, f)) for f in os.listdir(HERE) if f.startswith("resample_"))
print("wrote resample_*.npy, %d bytes in all" % total)
