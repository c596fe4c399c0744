#!/usr/bin/python3
"""Writes the NumPy golden files of the array ops (tests/golden/arrays_*.npy).

Run from anywhere with /usr/bin/python3 (numpy); the files are committed, so
the tests never need Python.  Deterministic (fixed seeds).

histogram: for each case NAME
  arrays_hist_NAME_x.npy       input (1-d, its dtype is the case's dtype)
  arrays_hist_NAME_params.npy  f64 [bins, has_range, min, max]
  arrays_hist_NAME_counts.npy  np.histogram(x, bins, range)[0] as i64
  arrays_hist_NAME_edges.npy   np.histogram(x, bins, range)[1] as f64
Inputs hold values exactly on the edges and one ulp either side of them.
stats: arrays_stats_f32_x.npy (f32) and arrays_stats_f32_expected.npy
  (f64 [count, sum, min, max, mean, std] of x.astype(np.float64)).
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, arr):
    np.save(os.path.join(HERE, name), arr, allow_pickle=False)


def around_edges(edges, dtype):
    """Every edge, and its neighbours one ulp down and up, in `dtype`."""
    e = np.asarray(edges).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        return np.concatenate([e, e - 1, e + 1]).astype(dtype)
    return np.concatenate([e, np.nextafter(e, dtype(-np.inf)), np.nextafter(e, dtype(np.inf))]).astype(dtype)


def hist_case(name, x, bins, rng=None):
    x = np.ascontiguousarray(x).ravel()
    counts, edges = np.histogram(x, bins=bins, range=rng)
    params = np.array([bins, 0 if rng is None else 1,
                       0 if rng is None else rng[0], 0 if rng is None else rng[1]], dtype=np.float64)
    save("arrays_hist_%s_x.npy" % name, x)
    save("arrays_hist_%s_params.npy" % name, params)
    save("arrays_hist_%s_counts.npy" % name, counts.astype(np.int64))
    save("arrays_hist_%s_edges.npy" % name, edges.astype(np.float64))


def main():
    g = np.random.default_rng(20240611)

    # f64, explicit awkward range: values on and around every edge, outside values.
    rng = (-1.3, 2.9)
    edges = np.histogram_bin_edges(np.zeros(1), bins=7, range=rng)
    x = np.concatenate([around_edges(edges, np.float64), g.uniform(-2, 4, 300), [np.nan, np.inf, -np.inf]])
    hist_case("f64_range", x, 7, rng)

    # f64, autodetected range; edges 1/3, 2/3 style divisions.
    base = g.normal(0.0, 1.0, 300)
    edges = np.histogram_bin_edges(base, bins=3)
    x = np.concatenate([base, around_edges(edges, np.float64)])
    x = x[(x >= base.min()) & (x <= base.max())]  # keep the autodetected range that of `base`
    hist_case("f64_auto", x, 3)

    # f64, many narrow bins over [0.001, 1000].
    rng = (1e-3, 1e3)
    edges = np.histogram_bin_edges(np.zeros(1), bins=999, range=rng)
    x = np.concatenate([around_edges(edges[::7], np.float64), g.uniform(0, 1000, 400)])
    hist_case("f64_narrow", x, 999, rng)

    # f32, explicit range not representable in f32: NumPy bins against f32 edges.
    rng = (-0.7, 0.3)
    edges32 = np.histogram_bin_edges(np.zeros(1, np.float32), bins=6, range=rng)
    x = np.concatenate([around_edges(edges32, np.float32), g.uniform(-0.8, 0.4, 300).astype(np.float32),
                        np.array([np.nan], np.float32)])
    hist_case("f32_range", x.astype(np.float32), 6, rng)

    # f32, autodetected range.
    base = g.uniform(-5, 17, 300).astype(np.float32)
    edges32 = np.histogram_bin_edges(base, bins=11)
    x = np.concatenate([base, around_edges(edges32, np.float32)]).astype(np.float32)
    x = x[(x >= base.min()) & (x <= base.max())]
    hist_case("f32_auto", x, 11)

    # f32 constant: range becomes [v - 0.5, v + 0.5].
    hist_case("f32_const", np.full(9, 5.0, np.float32), 4)

    # Integers: autodetected (non-integer edges) and explicit range.
    hist_case("i32_auto", g.integers(-50, 51, 500).astype(np.int32), 7)
    hist_case("u8_range", np.arange(256, dtype=np.uint8), 19, (10.0, 200.0))
    hist_case("u16_auto", np.concatenate([np.arange(0, 1000, 3), [65535]]).astype(np.uint16), 10)
    # i64 beyond 2^53: NumPy's exact (unsigned) integer span and f64 edges.
    big = (1 << 60) + g.integers(0, 1 << 40, 200, dtype=np.int64)
    hist_case("i64_big", big.astype(np.int64), 13)

    # stats of an f32 array with a large mean and a small spread.
    x = (1e4 + g.normal(0.0, 0.01, 10000)).astype(np.float32)
    d = x.astype(np.float64)
    save("arrays_stats_f32_x.npy", x)
    save("arrays_stats_f32_expected.npy",
         np.array([d.size, d.sum(), d.min(), d.max(), d.mean(), d.std()], dtype=np.float64))


if __name__ == "__main__":
    main()
