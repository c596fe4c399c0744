"""The usual script: a ThreadPool of OpenCV calls over a folder of photos.

    python3 examples/python/opencv_threadpool.py data/images out/opencv

Blur (sigma 2) then the Sobel gradient magnitude, the job of
`tandem.Pipeline("gaussian sigma=2 | sobel")`, written with OpenCV and NumPy.
"""
import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np


def process(src: pathlib.Path, dst: pathlib.Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"cannot read {src}")
    blurred = cv2.GaussianBlur(img, (0, 0), 2)
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
    edges = np.clip(np.rint(cv2.magnitude(gx, gy)), 0, 255).astype(np.uint8)
    cv2.imwrite(str(dst), edges)


def main(inputs: str, output: str) -> int:
    root, dst = pathlib.Path(inputs), pathlib.Path(output)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg"))
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda f: process(f, dst / f.relative_to(root)), files))
    return len(files)


if __name__ == "__main__":
    print(main(*sys.argv[1:3]), "files")
