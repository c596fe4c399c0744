#!/usr/bin/python3
"""Writes the NumPy golden files for the sort, cumsum and matmul tests.

Run from anywhere with /usr/bin/python3 (needs numpy); it rewrites
tests/golden/sortmat_*.npy next to this script. The inputs are seeded, so the
files only change when this script does.

Notes on what is stored:
  - np.cumsum of u8 gives uint64 on Linux; tandem gives int64 (same values) and
    tandem's .npy reader refuses uint64, so that expected result is stored as int64.
  - sort inputs hold NaNs of both signs, infinities and signed zeros; np.sort
    puts every NaN last.
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240607)


def save(name, array):
    np.save(os.path.join(HERE, "sortmat_" + name + ".npy"), array)


# sort: a 3-D f64 array (sorted along the last axis) and a 1-D f32 array.
specials = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, -1e-310, 1e300, -1e300]
a = rng.normal(size=(3, 4, 11)) * 100
flat = a.reshape(-1)
idx = rng.choice(flat.size, size=len(specials) * 3, replace=False)
for i, j in enumerate(idx):
    flat[j] = specials[i % len(specials)]
save("sort_f64_in", a)
save("sort_f64_out", np.sort(a))

b = (rng.normal(size=257) * 10).astype(np.float32)
b[::17] = np.float32(np.nan)
b[5] = np.float32(-np.inf)
b[6] = np.float32(-0.0)
save("sort_f32_in", b)
save("sort_f32_out", np.sort(b))

# cumsum: u8 (2-D, flattened) and i32 whose sums leave the i32 range.
c = rng.integers(0, 256, size=(9, 31), dtype=np.uint8)
save("cumsum_u8_in", c)
save("cumsum_u8_out", np.cumsum(c).astype(np.int64))
d = rng.integers(-2**31, 2**31, size=301, dtype=np.int64).astype(np.int32)
d[:40] = np.int32(2**31 - 1)
out = np.cumsum(d)
assert out.dtype == np.int64
save("cumsum_i32_in", d)
save("cumsum_i32_out", out)

# matmul: f32 @ f32 -> f32 and f32 @ f64 -> f64 (NumPy's promotion).
m_a = rng.normal(size=(5, 7)).astype(np.float32)
m_b32 = rng.normal(size=(7, 3)).astype(np.float32)
m_b64 = rng.normal(size=(7, 3))
save("matmul_a", m_a)
save("matmul_b32", m_b32)
save("matmul_b64", m_b64)
save("matmul_out32", m_a @ m_b32)
save("matmul_out64", m_a @ m_b64)
