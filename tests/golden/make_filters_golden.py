#!/usr/bin/python3
"""Writes the OpenCV golden data for tandem's gaussian, box and filter ops.

Run from anywhere with /usr/bin/python3 (needs cv2 and numpy); it rewrites the
filters_*.npy files and filters_manifest.txt next to this script. The test
(tests/filters_golden.hpp, used by tests/{gaussian,box,filter}_test.cpp) runs
every manifest line through the op table on each device and compares.

Manifest lines: op input.npy output.npy tolerance key=value ...
The tolerance is in output units: 1 for 8/16-bit outputs (OpenCV's fixed-point
Gaussian and box rounding), 2 for OpenCV's u16 Gaussian (its 32-bit fixed point
lands up to 2 away from the correctly rounded value on full-range noise, while
tandem is checked within 1 of a float64 reference elsewhere), and a relative
1e-4 (written as a negative number) for f32.
"""
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BORDERS = {"reflect101": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE,
           "constant": cv2.BORDER_CONSTANT}

rng = np.random.default_rng(20240611)
inputs = {
    "gray": rng.integers(0, 256, size=(24, 31), dtype=np.uint8),
    "rgb": rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8),
    "tiny": rng.integers(0, 256, size=(3, 4), dtype=np.uint8),
    "u16": rng.integers(0, 65536, size=(19, 21), dtype=np.uint16),
    "f32": rng.random((15, 22), dtype=np.float32),
}

lines = []


def case(name, op, src, out, params, tol):
    fname = f"filters_{name}.npy"
    np.save(os.path.join(HERE, fname), np.ascontiguousarray(out))
    kv = " ".join(f"{k}={v}" for k, v in params.items())
    lines.append(f"{op} filters_in_{src}.npy {fname} {tol} {kv}")


def tol_for(img, gaussian=False):
    if img.dtype == np.float32:
        return "-1e-4"
    return "2" if (gaussian and img.dtype == np.uint16) else "1"


# gaussian: cv2.GaussianBlur(img, (0,0), sigma) picks the aperture from sigma
# and the dtype; with radius R the aperture is (2R+1, 2R+1); sigma 0 with a
# radius uses OpenCV's fixed 5-tap table.
for name, src, sigma, radius, border in [
    ("g_gray_s1", "gray", 1.0, 0, "reflect101"),
    ("g_gray_s23_rep", "gray", 2.3, 0, "replicate"),
    ("g_gray_s08_const", "gray", 0.8, 0, "constant"),
    ("g_gray_s0_r2", "gray", 0.0, 2, "reflect101"),
    ("g_rgb_s15", "rgb", 1.5, 0, "reflect101"),
    ("g_rgb_s12_r5_const", "rgb", 1.2, 5, "constant"),
    ("g_u16_s17", "u16", 1.7, 0, "reflect101"),
    ("g_f32_s13_rep", "f32", 1.3, 0, "replicate"),
    ("g_f32_s2_const", "f32", 2.0, 0, "constant"),
]:
    img = inputs[src]
    ksize = (0, 0) if radius == 0 else (2 * radius + 1, 2 * radius + 1)
    out = cv2.GaussianBlur(img, ksize, sigma, borderType=BORDERS[border])
    params = {"sigma": sigma, "border": border}
    if radius:
        params["radius"] = radius
    case(name, "gaussian", src, out, params, tol_for(img, gaussian=True))

# box: cv2.blur(img, (K,K)), anchor K/2 also for even K.
for name, src, k, border in [
    ("b_gray_k3", "gray", 3, "reflect101"),
    ("b_gray_k4_rep", "gray", 4, "replicate"),
    ("b_gray_k5_const", "gray", 5, "constant"),
    ("b_rgb_k6", "rgb", 6, "reflect101"),
    ("b_rgb_k7_const", "rgb", 7, "constant"),
    ("b_tiny_k7", "tiny", 7, "reflect101"),
    ("b_u16_k4", "u16", 4, "reflect101"),
    ("b_f32_k5_rep", "f32", 5, "replicate"),
]:
    img = inputs[src]
    out = cv2.blur(img, (k, k), borderType=BORDERS[border])
    case(name, "box", src, out, {"size": k, "border": border}, tol_for(img))

# filter: cv2.filter2D(img, -1, kernel) (correlation, anchor at the centre).
sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float64)
wide = np.array([[1, 2, 0, -2, -1], [2, 4, 0, -4, -2], [1, 2, 0, -2, -1]], np.float64) / 8 + 0.1
tall = np.array([[0.5, 0, -0.25], [1, 0.75, 0], [0, 0.25, 0], [-0.5, 1.5, 0.125], [0, 0, -1]], np.float64)
lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)
big = np.full((5, 7), 1.0 / 35)


def ktext(k):
    return ";".join(",".join(repr(float(v)) for v in row) for row in k)


for name, src, k, border in [
    ("f_gray_sharpen", "gray", sharpen, "reflect101"),
    ("f_rgb_wide_const", "rgb", wide, "constant"),
    ("f_gray_tall_rep", "gray", tall, "replicate"),
    ("f_tiny_big", "tiny", big, "reflect101"),
    ("f_u16_sharpen_rep", "u16", sharpen, "replicate"),
    ("f_f32_lap", "f32", lap, "reflect101"),
]:
    img = inputs[src]
    out = cv2.filter2D(img, -1, k, borderType=BORDERS[border])
    case(name, "filter", src, out, {"kernel": ktext(k), "border": border}, tol_for(img))

for name, img in inputs.items():
    np.save(os.path.join(HERE, f"filters_in_{name}.npy"), img)
with open(os.path.join(HERE, "filters_manifest.txt"), "w") as f:
    f.write("# Written by make_filters_golden.py with OpenCV " + cv2.__version__ + "; see its docstring.\n")
    f.write("\n".join(lines) + "\n")
