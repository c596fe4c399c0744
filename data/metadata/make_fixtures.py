#!/usr/bin/python3
"""Writes data/metadata/: small photos that carry an ICC profile and EXIF, for
the tests that check tandem keeps them on output (tests/metadata_test.cpp).

  profile.icc        Pillow's built-in sRGB profile (ImageCms.createProfile) with
                     a private 'tdPD' tag of 100000 bytes appended, so that in a
                     JPEG it needs two APP2 segments (one holds 65519 bytes)
  phone.jpg          61x37 RGB, quality 92: the profile, and EXIF (big-endian, as Pillow writes it)
                     with Orientation 6, Make, Model, DateTimeOriginal,
                     PixelXDimension 61 / PixelYDimension 37, and a thumbnail in
                     IFD1 (added by exiftool)
  phone.png          the same pixels, profile (iCCP) and EXIF (eXIf), no thumbnail
  phone.tif          the same pixels with the profile (ICC tag), deflate

Needs Pillow (Debian python3-pil) and exiftool (libimage-exiftool-perl).
Run from the repository root:  /usr/bin/python3 data/metadata/make_fixtures.py
"""
import io
import os
import struct
import subprocess

import numpy as np
from PIL import Image, ImageCms

OUT = os.path.dirname(os.path.abspath(__file__))
W, H = 61, 37


def big_profile():
    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    count = struct.unpack(">I", base[128:132])[0]
    table = bytearray(base[132:132 + 12 * count])
    # Every tag moves 12 bytes down to make room for one more table entry.
    for i in range(count):
        off = struct.unpack(">I", table[12 * i + 4:12 * i + 8])[0]
        table[12 * i + 4:12 * i + 8] = struct.pack(">I", off + 12)
    body = base[132 + 12 * count:]
    body += b"\0" * (-len(body) % 4)
    payload = b"tdPD" + b"\0" * 4 + bytes((i * 7) & 0xFF for i in range(100000 - 8))
    new_off = 128 + 4 + 12 * (count + 1) + len(body)
    table += struct.pack(">4sII", b"tdPD", new_off, len(payload))
    prof = bytearray(base[:128]) + struct.pack(">I", count + 1) + table + body + payload
    prof[0:4] = struct.pack(">I", len(prof))
    prof[84:100] = b"\0" * 16  # the profile ID (an MD5) no longer holds: zero means none
    return bytes(prof)


def exif_bytes():
    e = Image.Exif()
    e[0x0112] = 6           # Orientation: rotate 90 clockwise to view
    e[0x010F] = "tandem-test"  # Make
    e[0x0110] = "fixture 1"    # Model
    # The Exif sub-IFD: DateTimeOriginal, PixelXDimension, PixelYDimension.
    e[0x8769] = {0x9003: "2026:12:06 05:00:00", 0xA002: W, 0xA003: H}
    return e.tobytes()


def main():
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([x * 4, y * 6, (x * 3 + y * 2) % 256], axis=-1).astype(np.uint8)
    img = Image.fromarray(rgb, "RGB")
    icc = big_profile()
    with open(os.path.join(OUT, "profile.icc"), "wb") as f:
        f.write(icc)
    exif = exif_bytes()
    img.save(os.path.join(OUT, "phone.png"), icc_profile=icc, exif=exif)
    img.save(os.path.join(OUT, "phone.tif"), icc_profile=icc, compression="tiff_adobe_deflate")
    jpg = os.path.join(OUT, "phone.jpg")
    img.save(jpg, quality=92, icc_profile=icc, exif=exif)
    thumb = io.BytesIO()
    img.resize((16, 10)).save(thumb, "JPEG", quality=80)
    tpath = os.path.join(OUT, "thumb.tmp.jpg")
    with open(tpath, "wb") as f:
        f.write(thumb.getvalue())
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-ThumbnailImage<=" + tpath, jpg], check=True)
    os.remove(tpath)


if __name__ == "__main__":
    main()
