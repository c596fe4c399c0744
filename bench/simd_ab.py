#!/usr/bin/python3
"""Side-by-side timing of tandem's neighbourhood kernels on each SIMD target
against OpenCV, and optionally against an older tandem build.

Usage:
  /usr/bin/python3 bench/simd_ab.py --tandem build/tandem [--before OLD/tandem]
      [--targets best,avx2] [--threads 1,2] [--rounds 3] [--size 4096|WxH] [--json FILE]

For each thread count, each round times every kernel (4096x4096 u8, gray and
RGB) with OpenCV (cv2.setNumThreads), with `tandem bench` once per TANDEM_SIMD
value, and with the --before binary (its own best target), in that order; a
kernel's figure is the minimum over rounds (the least disturbed run on a
shared machine). ratio = OpenCV time / tandem time (> 1: tandem is faster).
tandem's times come from `tandem bench` (input resident, median of repeats).

--cpu-time (one thread only): times are CPU seconds per call instead of wall
time, which a loaded machine inflates far less: OpenCV's from
time.process_time() over the repeats, tandem's from the CPU time of a `tandem
bench` child with repeats + 1 calls minus one with 2 calls (start-up, input
set-up and the warm-up call cancel), divided by repeats - 1.
"""
import argparse
import json
import os
import resource
import subprocess
import time

import cv2
import numpy as np

# (name, tandem op, tandem params, OpenCV call)
KERNELS = [
    ("gaussian s=1", "gaussian", "sigma=1", lambda im: cv2.GaussianBlur(im, (0, 0), 1)),
    ("gaussian s=2", "gaussian", "sigma=2", lambda im: cv2.GaussianBlur(im, (0, 0), 2)),
    ("gaussian s=5", "gaussian", "sigma=5", lambda im: cv2.GaussianBlur(im, (0, 0), 5)),
    ("box 5", "box", "size=5", lambda im: cv2.blur(im, (5, 5))),
    ("sobel", "sobel", "", lambda im: cv2.magnitude(cv2.Sobel(im, cv2.CV_32F, 1, 0, ksize=3),
                                                     cv2.Sobel(im, cv2.CV_32F, 0, 1, ksize=3))),
    ("median 3", "median", "size=3", lambda im: cv2.medianBlur(im, 3)),
    ("median 5", "median", "size=5", lambda im: cv2.medianBlur(im, 5)),
    ("median 9", "median", "size=9", lambda im: cv2.medianBlur(im, 9)),
]


def opencv_time(fn, im, repeats, cpu_time=False):
    fn(im)
    if cpu_time:
        t0 = time.process_time()
        for _ in range(repeats):
            fn(im)
        return (time.process_time() - t0) / repeats
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(im)
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def tandem_time(binary, op, params, size, channels, threads, repeats, simd, cpu_time=False):
    if cpu_time:
        spent = []
        for n in (2, repeats + 1):
            t0 = child_cpu()
            _, got = tandem_time(binary, op, params, size, channels, threads, n - 1, simd)
            spent.append(child_cpu() - t0)
        # A difference lost in the CPU clock's noise (a fast kernel, few repeats) is no figure.
        return ((spent[1] - spent[0]) / (repeats - 1) if spent[1] > spent[0] else float("nan")), got
    env = dict(os.environ)
    if simd and simd != "best":
        env["TANDEM_SIMD"] = simd
    else:
        env.pop("TANDEM_SIMD", None)
    cmd = [binary, "bench", "--device", "cpu", "--op", op, "--size", f"{size[0]}x{size[1]}", "--channels",
           str(channels), "--dtype", "u8", "--threads", str(threads), "--repeats", str(repeats), "--warmup", "1",
           "--json", "--no-roof"]
    if params:
        cmd += ["--params", params]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    row = json.loads(out)["results"][0]
    return row["median_s"], row.get("simd") or "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", required=True)
    ap.add_argument("--before", help="an older tandem build to time beside it (its default target)")
    ap.add_argument("--targets", default="best,avx2", help="TANDEM_SIMD values, comma separated")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", default="4096", help="image side N (N x N) or WxH")
    ap.add_argument("--only", help="kernel names to run, comma separated (default: all)")
    ap.add_argument("--cpu-time", action="store_true", help="CPU seconds per call (one thread only)")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.cpu_time and a.threads != "1":
        ap.error("--cpu-time measures one thread: pass --threads 1")
    a.size = tuple(int(x) for x in a.size.lower().split("x")) if "x" in a.size.lower() else (int(a.size),) * 2
    w, h = a.size
    rng = np.random.default_rng(0)
    imgs = {1: rng.integers(0, 256, (h, w), dtype=np.uint8),
            3: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)}
    kernels = [k for k in KERNELS if not a.only or k[0] in a.only.split(",")]
    targets = a.targets.split(",")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU: {cpu}; OpenCV {cv2.__version__}; {w}x{h} u8; min over {a.rounds} rounds; "
          f"{'CPU' if a.cpu_time else 'wall'} time; "
          f"load {open('/proc/loadavg').read().split()[:3]}")
    results = []
    for threads in [int(t) for t in a.threads.split(",")]:
        cv2.setNumThreads(threads)
        best = {}
        names = {}
        for _ in range(a.rounds):
            for name, op, params, fn in kernels:
                for ch in (1, 3):
                    key = (name, ch)
                    t = opencv_time(fn, imgs[ch], a.repeats, a.cpu_time)
                    best[key + ("opencv",)] = min(best.get(key + ("opencv",), float("inf")), t)
                    for simd in targets:
                        t, got = tandem_time(a.tandem, op, params, a.size, ch, threads, a.repeats, simd, a.cpu_time)
                        best[key + (simd,)] = min(best.get(key + (simd,), float("inf")), t)
                        names[simd] = got
                    if a.before:
                        t, _ = tandem_time(a.before, op, params, a.size, ch, threads, a.repeats, "best", a.cpu_time)
                        best[key + ("before",)] = min(best.get(key + ("before",), float("inf")), t)
        cols = targets + (["before"] if a.before else [])
        head = f"threads {threads}: {'kernel':<14} {'ch':>2} {'OpenCV ms':>9}"
        for c in cols:
            head += f" {('tandem ' + names.get(c, c)) if c != 'before' else 'before':>14} {'ratio':>6}"
        print(head)
        for name, *_ in kernels:
            for ch in (1, 3):
                cvt = best[(name, ch, "opencv")]
                line = f"           {name:<14} {ch:>2} {cvt * 1e3:9.2f}"
                row = {"kernel": name, "channels": ch, "threads": threads, "opencv_s": cvt}
                for c in cols:
                    t = best[(name, ch, c)]
                    line += f" {t * 1e3:14.2f} {cvt / t:6.2f}"
                    row[c if c == "before" else names.get(c, c)] = t
                print(line)
                results.append(row)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu, "opencv": cv2.__version__, "size": a.size, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
