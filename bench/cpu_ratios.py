#!/usr/bin/python3
"""Per-core speed of tandem's CPU kernels against OpenCV, in CPU time, so that the ratios
hold on a machine shared with other jobs (wall-clock medians do not: a waiting thread
counts as work). One thread on each side, rounds alternating between the two.

tandem: build/bench/tandem_cpu_time (thread CPU time of N calls into a preallocated output,
after one untimed call). OpenCV: the same for N calls with cv2.setNumThreads(1) and a
preallocated dst. Ratio = OpenCV / tandem (> 1: tandem is faster); the round with the
median ratio of --rounds is printed.

  bench/cpu_ratios.py BUILD_DIR [--size 4096|WxH] [--repeats 20] [--rounds 3] [--sigma 1,2,5] [--only NAME]
  (--size WxH: the gaussian kernels only)
  TANDEM_SIMD=avx2 bench/cpu_ratios.py BUILD_DIR   # the kernels capped at AVX2
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import cv2
import numpy as np


def kernels(size, sigmas):
    s37 = max(1, round(size * 0.37))
    gauss = [("gaussian s=%g" % s, "gaussian-%g" % s, (1, 3),
              lambda a, o, s=s: cv2.GaussianBlur(a, (0, 0), s, dst=o), None) for s in sigmas]
    return gauss + [
        # name, tandem_cpu_time op, channels, OpenCV call (img, out), output (h, w) or None
        ("resize 1/2", "resize-0.5", (1, 3),
         lambda a, o: cv2.resize(a, (size // 2, size // 2), dst=o, interpolation=cv2.INTER_LINEAR),
         (size // 2, size // 2)),
        ("resize 0.37", "resize-0.37", (1, 3),
         lambda a, o: cv2.resize(a, (s37, s37), dst=o, interpolation=cv2.INTER_LINEAR), (s37, s37)),
        ("grayscale", "grayscale", (3,), lambda a, o: cv2.cvtColor(a, cv2.COLOR_RGB2GRAY, dst=o), None),
        ("threshold", "threshold", (1, 3), lambda a, o: cv2.threshold(a, 127, 255, cv2.THRESH_BINARY, dst=o), None),
        ("invert", "invert", (1, 3), lambda a, o: cv2.bitwise_not(a, dst=o), None),
    ]


def tandem_cpu(tool, op, size, channels, repeats):
    out = subprocess.run([tool, op, str(size), str(channels), str(repeats)], check=True, capture_output=True,
                         text=True, env=dict(os.environ, OMP_NUM_THREADS="1")).stdout
    return float(out) / 1e3


def opencv_cpu(fn, img, out, repeats):
    fn(img, out)
    t0 = time.thread_time()
    for _ in range(repeats):
        fn(img, out)
    return (time.thread_time() - t0) / repeats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="the build directory (with tandem and bench/tandem_cpu_time)")
    ap.add_argument("--size", default="4096", help="N (N x N) or WxH (gaussian only)")
    ap.add_argument("--sigma", default="1,2,5", help="gaussian sigmas, comma separated")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", action="append", help="only this kernel (repeatable)")
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.lower().split("x")) if "x" in a.size.lower() else (int(a.size),) * 2
    cv2.setNumThreads(1)
    tool = os.path.join(a.build, "bench", "tandem_cpu_time")
    info = json.loads(subprocess.run([os.path.join(a.build, "tandem"), "info", "--json"], capture_output=True,
                                     text=True).stdout)
    print("CPU: %s; TANDEM_SIMD=%s; OpenCV %s, 1 thread each, %dx%d u8, CPU time (median of %d rounds of %d)"
          % (open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip(),
             os.environ.get("TANDEM_SIMD", "best"), cv2.__version__, w, h, a.rounds, a.repeats))
    print("tandem SIMD target: %s" % info.get("simd", {}).get("target", "?"))
    print("  %-12s %-5s %10s %10s %7s" % ("kernel", "img", "tandem", "OpenCV", "ratio"))
    rng = np.random.default_rng(7)
    for name, op, chans, fn, oshape in kernels(w, [float(x) for x in a.sigma.split(",")]):
        if (a.only and name not in a.only) or (w != h and not op.startswith("gaussian")):
            continue
        for c in chans:
            img = rng.integers(0, 256, (h, w) + ((c,) if c > 1 else ()), dtype=np.uint8)
            shape = oshape or (h, w)
            out = np.empty(shape + ((c,) if c > 1 and op != "grayscale" else ()), np.uint8)
            rows = []
            for _ in range(a.rounds):
                t = tandem_cpu(tool, op, "%dx%d" % (w, h), c, a.repeats)
                o = opencv_cpu(fn, img, out, a.repeats)
                rows.append((t, o, o / t))
            t, o, r = sorted(rows, key=lambda x: x[2])[len(rows) // 2]
            print("  %-12s %-5s %8.2fms %8.2fms %6.2fx" % (name, "gray" if c == 1 else "RGB", t * 1e3, o * 1e3, r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
