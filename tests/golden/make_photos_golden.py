#!/usr/bin/python3
"""Golden outputs of OpenCV 4.6 for tandem's image ops on two bundled photos.

For each (photo, op) it writes tests/golden/photos_<photo>_<op>.npy: a 48 x 64
crop (rows 200-247, cols 224-287 of the output; the whole output if smaller)
of what OpenCV computes, so tests/photos_test.cpp can check tandem on real
images without committing full-size outputs. Photos are read as RGB, as tandem
decodes them. Run with /usr/bin/python3 (python3-opencv, python3-numpy).
"""
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "images")
Y0, X0, H, W = 200, 224, 48, 64


def crop(a):
    return np.ascontiguousarray(a[Y0:Y0 + H, X0:X0 + W])


def sobel_mag(img):
    f = img.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT_101)
    m = np.sqrt(gx * gx + gy * gy)
    return np.clip(np.rint(m), 0, 255).astype(np.uint8)


def ops(img):
    out = {
        "gaussian": cv2.GaussianBlur(img, (0, 0), 2.0),
        "box": cv2.blur(img, (5, 5)),
        "sobel": sobel_mag(img),
        "median": cv2.medianBlur(img, 5),
        "resize": cv2.resize(img, (300, 280), interpolation=cv2.INTER_LINEAR),
        "threshold": cv2.threshold(img, 128, 255, cv2.THRESH_BINARY)[1],
        "invert": 255 - img,
        "filter": cv2.filter2D(img, -1, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)),
    }
    if img.ndim == 2:
        out["equalize"] = cv2.equalizeHist(img)
    else:
        out["grayscale"] = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return out


def main():
    for name in ("camera.png", "astronaut.png"):
        img = cv2.imread(os.path.join(DATA, name), cv2.IMREAD_UNCHANGED)
        if img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        stem = os.path.splitext(name)[0]
        for op, res in ops(img).items():
            np.save(os.path.join(HERE, f"photos_{stem}_{op}.npy"), crop(res))


if __name__ == "__main__":
    main()
