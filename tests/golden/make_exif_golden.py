#!/usr/bin/python3
"""Writes tests/golden/exif/: a 24x40 RGB JPEG with each EXIF orientation
(1..8; big-endian EXIF for odd ones, little-endian for even ones), and what
OpenCV's imread shows for it (IMREAD_COLOR applies the orientation) as
orientK.npy in RGB order, for tests/io_test.cpp.

Run from the repository root:  /usr/bin/python3 tests/golden/make_exif_golden.py
"""
import os
import struct

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "exif")


def app1(orientation, little):
    e = "<" if little else ">"
    tiff = (b"II*\x00" if little else b"MM\x00*") + struct.pack(e + "I", 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0)
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def main():
    os.makedirs(OUT, exist_ok=True)
    y, x = np.mgrid[0:24, 0:40]
    rgb = np.stack([x * 6, y * 10, (x + y) * 4], axis=-1).astype(np.uint8)
    ok, jpg = cv2.imencode(".jpg", rgb[..., ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    jpg = jpg.tobytes()
    for k in range(1, 9):
        path = os.path.join(OUT, f"orient{k}.jpg")
        with open(path, "wb") as f:
            f.write(jpg[:2] + app1(k, k % 2 == 0) + jpg[2:])
        shown = cv2.imread(path, cv2.IMREAD_COLOR)
        raw = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        assert shown.shape[:2] == ((24, 40) if k < 5 else (40, 24)), (k, shown.shape)
        np.save(os.path.join(OUT, f"orient{k}.npy"), shown[..., ::-1].copy())
        if k == 1:
            np.save(os.path.join(OUT, "raw.npy"), raw[..., ::-1].copy())


if __name__ == "__main__":
    main()
