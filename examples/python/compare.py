"""Times the three scripts of this folder on the same batch: the bundled photos
copied COPIES times (default 10) into a scratch folder.

    PYTHONPATH=build/python python3 examples/python/compare.py [COPIES]
"""
import os
import pathlib
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import opencv_threadpool  # noqa: E402
import tandem_run  # noqa: E402
import tandem_threadpool  # noqa: E402

PHOTOS = pathlib.Path(__file__).resolve().parents[2] / "data" / "images"


def main(copies: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "in"
        for i in range(copies):
            shutil.copytree(PHOTOS, src / f"c{i}", ignore=shutil.ignore_patterns("*.md"))
        print(f"{copies} copies of data/images, {os.cpu_count()} cores")
        for name, module in (("ThreadPool + OpenCV", opencv_threadpool), ("tandem.run", tandem_run),
                             ("ThreadPool + tandem.Pipeline", tandem_threadpool)):
            best = float("inf")
            for attempt in range(3):
                out = pathlib.Path(tmp) / f"out-{module.__name__}-{attempt}"
                t = time.perf_counter()
                n = module.main(str(src), str(out))
                best = min(best, time.perf_counter() - t)
            print(f"{name:30s} {n} files  best of 3: {best:.2f} s  ({n / best:.0f} files/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
