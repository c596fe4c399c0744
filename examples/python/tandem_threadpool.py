"""The same job as opencv_threadpool.py, still a ThreadPool script, with
tandem's codecs and a tandem.Pipeline in place of OpenCV: the GIL is released
in every call, so the threads run in parallel.

    python3 examples/python/tandem_threadpool.py data/images out/pipeline
"""
import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor

import tandem

EDGES = tandem.Pipeline("gaussian sigma=2 | sobel")


def process(src: pathlib.Path, dst: pathlib.Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tandem.write(dst, EDGES(tandem.read(src)))


def main(inputs: str, output: str) -> int:
    root, dst = pathlib.Path(inputs), pathlib.Path(output)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg"))
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda f: process(f, dst / f.relative_to(root)), files))
    return len(files)


if __name__ == "__main__":
    print(main(*sys.argv[1:3]), "files")
