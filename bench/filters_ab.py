"""Before/after timing of the CPU gaussian, box and filter kernels against OpenCV.

Usage: OMP_NUM_THREADS=N /usr/bin/python3 bench/filters_ab.py BENCH_BINARY BEFORE_LIB_DIR AFTER_LIB_DIR [ROUNDS]

BENCH_BINARY is build-cpu/bench/tandem_bench_filters; the two directories each hold a
libtandem.so.0 (e.g. copies of build-cpu/libtandem.so.0.1.0 built at two commits), loaded via
LD_LIBRARY_PATH. Rounds alternate before, after and OpenCV (cv2.setNumThreads(N)) on the same
4096x4096 u8 gray and RGB images; each reports the minimum time over all rounds, the
least-disturbed run on a shared machine. ratio = OpenCV time / tandem time.
"""
import subprocess, sys, time, json, re, os
import numpy as np, cv2
thr = int(os.environ.get("OMP_NUM_THREADS", "2")); cv2.setNumThreads(thr)
binary, libs = sys.argv[1], {'A': sys.argv[2], 'B': sys.argv[3]}
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 4
flt = '4096x4096'
rng = np.random.default_rng(0)
imgs = {'': rng.integers(0, 256, (4096, 4096), dtype=np.uint8), 'x3': rng.integers(0, 256, (4096, 4096, 3), dtype=np.uint8)}
k3 = np.array([[1,2,1],[2,4,2],[1,2,1]], np.float32)/16
ops = {'gaussian': lambda im: cv2.GaussianBlur(im, (0,0), 2), 'box': lambda im: cv2.blur(im, (5,5)), 'filter': lambda im: cv2.filter2D(im, -1, k3)}
res = {}
def tandem(lib):
    env = dict(os.environ, LD_LIBRARY_PATH=libs[lib])
    out = subprocess.run([binary, '--benchmark_filter=' + flt, '--benchmark_format=json', '--benchmark_repetitions=5', '--benchmark_min_time=0.1'], capture_output=True, text=True, env=env).stdout
    for b in json.loads(out)['benchmarks']:
        if b.get('run_type') != 'iteration': continue
        m = re.match(r'(\w+)/4096x4096(x3)?/', b['name'])
        t = b['real_time'] * {'ns':1e-6,'us':1e-3,'ms':1}[b['time_unit']]
        res.setdefault((m.group(1), m.group(2) or '', lib), []).append(t)
for r in range(rounds):
    tandem('A'); tandem('B')
    for (op, f) in ops.items():
        for ch, im in imgs.items():
            for _ in range(5):
                t = time.perf_counter(); f(im); res.setdefault((op, ch, 'cv'), []).append((time.perf_counter() - t) * 1e3)
print(f"threads={thr} rounds={rounds}; min times in ms; ratio = OpenCV / tandem")
for op in ops:
    for ch in imgs:
        a, b, c = (min(res[(op, ch, k)]) for k in ('A', 'B', 'cv'))
        print(f"{op:9s} {('RGB' if ch else 'gray'):5s} before {a:6.1f}  after {b:6.1f}  opencv {c:6.1f}  ratio before {c/a:.2f}  after {c/b:.2f}")
