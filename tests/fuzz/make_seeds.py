#!/usr/bin/env python3
"""Seed corpora for the fuzz harnesses, made small from the bundled data/.

    make_seeds.py OUT_DIR

Writes OUT_DIR/<harness>/ for every harness of tests/fuzz/CMakeLists.txt:
small crops of data/images in each PNG/JPEG/PGM/PPM/TIFF layout tandem reads,
.npy arrays of every dtype and order, the topology files of data/topologies,
and the pipelines of tests/fuzz/pipelines.txt.
"""
import os
import sys

import cv2
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))


def put(out, harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def encoded(ext, img, params=()):
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok, ext
    return buf.tobytes()


def npy_bytes(arr):
    import io
    b = io.BytesIO()
    np.save(b, arr)
    return b.getvalue()


def main():
    out = sys.argv[1]
    photo = cv2.imread(os.path.join(root, "data/images/coffee.png"), cv2.IMREAD_COLOR)
    small = cv2.resize(photo, (13, 9), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    rgba = cv2.cvtColor(small, cv2.COLOR_BGR2BGRA)
    images = {"png": [], "jpeg": [], "pnm": [], "tiff": []}
    images["png"] += [encoded(".png", gray), encoded(".png", small), encoded(".png", rgba),
                      encoded(".png", (gray.astype(np.uint16) * 257)), encoded(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 9])]
    images["jpeg"] += [encoded(".jpg", gray), encoded(".jpg", small),
                       encoded(".jpg", small, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
                       encoded(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 30])]
    images["pnm"] += [encoded(".pgm", gray), encoded(".ppm", small), encoded(".pgm", gray.astype(np.uint16) * 257),
                      b"P2\n3 2\n255\n0 1 2\n3 4 255\n", b"P3\n2 1\n65535\n1 2 3 4 5 65535\n", b"P1\n3 2\n0 1 0\n1 0 1\n",
                      b"P4\n8 2\n\xa5\x5a"]
    # TIFF: 8/16-bit gray, RGB, RGBA, float, uncompressed / LZW / deflate (OpenCV's libtiff writer).
    images["tiff"] += [encoded(".tiff", gray), encoded(".tiff", small), encoded(".tiff", rgba),
                       encoded(".tiff", gray.astype(np.uint16) * 257), encoded(".tiff", gray.astype(np.float32) / 255),
                       encoded(".tiff", small, [cv2.IMWRITE_TIFF_COMPRESSION, 1]),
                       encoded(".tiff", small, [cv2.IMWRITE_TIFF_COMPRESSION, 5]),
                       encoded(".tiff", small, [cv2.IMWRITE_TIFF_COMPRESSION, 8])]
    with open(os.path.join(root, "data/broken/truncated.jpg"), "rb") as f:
        images["jpeg"].append(f.read())
    # With an ICC profile and EXIF (the JPEG's profile over two APP2 segments, a thumbnail).
    for fmt, name in (("png", "phone.png"), ("jpeg", "phone.jpg"), ("tiff", "phone.tif")):
        with open(os.path.join(root, "data/metadata", name), "rb") as f:
            images[fmt].append(f.read())
    arrays = [(np.arange(12) % 7).astype(t).reshape(3, 4) for t in (np.uint8, np.uint16, np.int32, np.int64, np.float32,
                                                                     np.float64, np.int8, np.int16, np.float16, np.bool_)]
    arrays += [np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)), np.array(3.5),
               np.zeros((0, 5), np.uint8), np.arange(6, dtype=">i4"), np.arange(8, dtype=np.uint32)]
    images["npy"] = [npy_bytes(a) for a in arrays]
    for fmt, seeds in images.items():
        for i, data in enumerate(seeds):
            put(out, fmt, f"seed-{i}", data)
            put(out, "detect", f"{fmt}-{i}", data)
    regressions = os.path.join(root, "tests/data/fuzz-regressions")
    for name in sorted(os.listdir(regressions)):
        with open(os.path.join(regressions, name), "rb") as f:
            data = f.read()
        harness = {".png": "png", ".npy": "npy", ".jpg": "jpeg", ".pgm": "pnm", ".ppm": "pnm", ".tif": "tiff", ".xml": "topology",
                   ".pipeline": "pipeline_parse"}.get(os.path.splitext(name)[1])
        if harness:
            put(out, harness, "regression-" + name, data)
    for name in sorted(os.listdir(os.path.join(root, "data/topologies"))):
        if name.endswith(".xml"):
            with open(os.path.join(root, "data/topologies", name), "rb") as f:
                put(out, "topology", name, f.read())
    with open(os.path.join(here, "pipelines.txt")) as f:
        pipelines = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
    for i, text in enumerate(pipelines):
        put(out, "pipeline_parse", f"seed-{i}", text.encode())
        # apply: 4 bytes choose the image (height, width, channels/dtype/array, fill), then the text
        for j, head in enumerate((b"\x07\x0b\x01\x10", b"\x10\x05\x00\x80", b"\x03\x1c\x0a\x33", b"\x05\x05\x24\x01")):
            put(out, "pipeline_apply", f"seed-{i}-{j}", head + text.encode())


if __name__ == "__main__":
    main()
