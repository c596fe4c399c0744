#!/usr/bin/python3
"""Writes the OpenCV golden files for tandem's per-pixel ops (tests/golden/pointops_*.npy).

Run from anywhere with the system Python (cv2 + numpy):
    /usr/bin/python3 tests/golden/make_pointops_golden.py
The inputs are seeded, so re-running with the same OpenCV reproduces the files. They were
made with OpenCV 4.6.0 / NumPy 1.24. The tests (grayscale_test, threshold_test,
equalize_test) compare tandem's output with these bit for bit on every device.

Files (all C order; stacks are N x H x W [x C]):
  pointops_gray_{u8,u16}_{rgb,rgba}_{in,out}  cv2.cvtColor(COLOR_RGB2GRAY / COLOR_RGBA2GRAY)
  pointops_gray_u8_hard_{in,out}              RGB triples where rounding is closest to a tie
                                              or where OpenCV 3's 14-bit weights differ
  pointops_thresh_{u8,u8c3,u16,f32}_{in,T,out}  cv2.threshold(in, T[k], max, THRESH_BINARY)
                                              for each T[k] (f64); out is stacked over k
  pointops_eq_{in,out}                        cv2.equalizeHist on a stack of small images:
                                              random, tiny range, skewed, two-level, one
                                              outlier, constant 77, constant 0, constant 255
  pointops_eq_big_{in,out}                    a larger image with a peaked histogram
"""
import os

import cv2
import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240601)


def save(name, arr):
    np.save(os.path.join(OUT, "pointops_" + name + ".npy"), np.ascontiguousarray(arr))


def with_extremes(img, top):
    """Puts black, white and the pure primaries in the first row."""
    img = img.copy()
    c = img.shape[-1]
    px = [[0] * c, [top] * c, [top, 0, 0] + [0] * (c - 3), [0, top, 0] + [0] * (c - 3),
          [0, 0, top] + [0] * (c - 3), [1, 1, 1] + [top] * (c - 3)]
    for i, p in enumerate(px):
        img[0, i] = p
    return img


# grayscale
for dtype, top, name in [(np.uint8, 255, "u8"), (np.uint16, 65535, "u16")]:
    for c, code, cname in [(3, cv2.COLOR_RGB2GRAY, "rgb"), (4, cv2.COLOR_RGBA2GRAY, "rgba")]:
        h, w = (23, 29) if dtype == np.uint8 else (17, 19)
        img = with_extremes(rng.integers(0, top + 1, (h, w, c), dtype=dtype), top)
        save(f"gray_{name}_{cname}_in", img)
        save(f"gray_{name}_{cname}_out", cv2.cvtColor(img, code))

# u8 triples whose fixed-point sums sit nearest a rounding tie (and 14- vs 15-bit disagreements)
v = np.arange(256, dtype=np.int64)
r, g, b = [a.ravel() for a in np.meshgrid(v, v, v, indexing="ij")]
s15 = 9798 * r + 19235 * g + 3735 * b
y15 = (s15 + (1 << 14)) >> 15
y14 = (4899 * r + 9617 * g + 1868 * b + (1 << 13)) >> 14
tie_dist = np.abs((s15 % 32768) - 16384)
idx = np.concatenate([rng.choice(np.flatnonzero(y14 != y15), 1024, replace=False),
                      np.argsort(tie_dist, kind="stable")[:1024]])
hard = np.stack([r[idx], g[idx], b[idx]], -1).astype(np.uint8).reshape(32, 64, 3)
save("gray_u8_hard_in", hard)
save("gray_u8_hard_out", cv2.cvtColor(hard, cv2.COLOR_RGB2GRAY))


# threshold
def thresh_set(name, img, ts, top):
    outs = np.stack([cv2.threshold(img, float(t), top, cv2.THRESH_BINARY)[1] for t in ts])
    save(f"thresh_{name}_in", img)
    save(f"thresh_{name}_T", np.array(ts, dtype=np.float64))
    save(f"thresh_{name}_out", outs)


u8 = rng.integers(0, 256, (17, 19), dtype=np.uint8)
u8[0, :6] = [0, 1, 127, 128, 254, 255]
thresh_set("u8", u8, [0, 1, 100, 127, 127.5, 127.999, 200.25, 254, 254.5, 255, 255.5, 300, -0.5, -1, -1000], 255)
thresh_set("u8c3", rng.integers(0, 256, (11, 13, 3), dtype=np.uint8), [100.7, 37, -0.25, 254.9], 255)
u16 = rng.integers(0, 65536, (17, 19), dtype=np.uint16)
u16[0, :6] = [0, 1, 1000, 1001, 65534, 65535]
thresh_set("u16", u16, [0, 1000, 1000.5, 32767.5, 65534, 65534.5, 65535, 65535.5, 70000, -0.5, -1], 65535)
f32 = rng.random((17, 19), dtype=np.float32)
f32[0, :6] = [0, 1, np.float32(0.1), np.nextafter(np.float32(0.1), np.float32(1)), 0.5, np.float32(1 / 3)]
thresh_set("f32", f32, [0.1, 0.09999999999, 0.5, 1 / 3, 0, 1, -1, 2], 1.0)

# equalizeHist
H, W = 29, 31
stack = []
stack.append(rng.integers(0, 256, (H, W), dtype=np.uint8))                       # random
stack.append(rng.integers(120, 124, (H, W), dtype=np.uint8))                     # tiny range
stack.append(np.clip(rng.exponential(12.0, (H, W)), 0, 255).astype(np.uint8))    # skewed
two = np.zeros((H, W), np.uint8)
two[rng.random((H, W)) < 0.3] = 255
stack.append(two)                                                                # two levels
one = np.full((H, W), 200, np.uint8)
one[7, 11] = 13
stack.append(one)                                                                # one outlier
stack.append(np.full((H, W), 77, np.uint8))                                      # constant
stack.append(np.zeros((H, W), np.uint8))
stack.append(np.full((H, W), 255, np.uint8))
stack = np.stack(stack)
save("eq_in", stack)
save("eq_out", np.stack([cv2.equalizeHist(im) for im in stack]))
big = np.clip(rng.normal(90.0, 6.0, (96, 97)), 0, 255).astype(np.uint8)
save("eq_big_in", big)
save("eq_big_out", cv2.equalizeHist(big))

total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.startswith("pointops_"))
print(f"wrote tests/golden/pointops_*.npy ({total} bytes) with OpenCV {cv2.__version__}")
