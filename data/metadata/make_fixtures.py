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
  phone.tif          the same pixels with the profile (ICC tag), deflate, and (added by
                     exiftool) Orientation 6, Make and Model in IFD0 and an EXIF IFD with
                     DateTimeOriginal, PixelXDimension 61 / PixelYDimension 37,
                     ExposureTime 1/60 (RATIONAL), ISO 200 (SHORT), UserComment (UNDEFINED),
                     and a GPS IFD (GPSLatitude 48.8566 N)
  orient_gray8.tif, orient_gray16.tif, orient_rgb8.tif, orient_rgb16.tif
                     8 pages each of the same 7x5 raw pixels (uncompressed, one strip,
                     little-endian), page p with TIFF Orientation p + 1
  orient_*.npy       the 8 pages as a viewer shows them, from NumPy (flips, rot90,
                     transposes): row p is page p oriented, flattened (H x W x C, the
                     sides swapped for orientations 5-8); checked here against OpenCV
                     4.6's imreadmulti and, for 8 bits, Pillow's ImageOps.exif_transpose

Needs Pillow (Debian python3-pil), OpenCV (python3-opencv) and exiftool
(libimage-exiftool-perl).
Run from the repository root:  /usr/bin/python3 data/metadata/make_fixtures.py
"""
import io
import os
import struct
import subprocess

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps

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


# What a viewer shows for each EXIF/TIFF orientation of the stored pixels a (H x W [x C]).
ORIENT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],                       # mirrored left-right
    3: lambda a: a[::-1, ::-1],                    # rotated 180
    4: lambda a: a[::-1],                          # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),                 # transposed
    6: lambda a: np.rot90(a, -1),                  # rotated 90 clockwise
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),     # transversed
    8: lambda a: np.rot90(a, 1),                   # rotated 90 counter-clockwise
}


def write_oriented_tiff(path, raw):
    """8 uncompressed pages of `raw`, page p tagged Orientation p + 1."""
    h, w = raw.shape[:2]
    spp = 1 if raw.ndim == 2 else raw.shape[2]
    bits = raw.dtype.itemsize * 8
    pixels = raw.astype(raw.dtype.newbyteorder("<")).tobytes()
    out = bytearray(b"II*\0" + struct.pack("<I", 0))
    prev_next = 4  # where the previous IFD's next offset (or the header's first) goes
    for p in range(8):
        if len(out) % 2:
            out += b"\0"
        strip = len(out)
        out += pixels
        bps_at = 0
        if spp > 1:
            if len(out) % 2:
                out += b"\0"
            bps_at = len(out)
            out += struct.pack("<%dH" % spp, *([bits] * spp))
        entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, spp, bps_at if spp > 1 else bits), (259, 3, 1, 1),
                   (262, 3, 1, 2 if spp == 3 else 1), (273, 4, 1, strip), (274, 3, 1, p + 1), (277, 3, 1, spp),
                   (278, 4, 1, h), (279, 4, 1, len(pixels)), (284, 3, 1, 1)]
        if len(out) % 2:
            out += b"\0"
        ifd = len(out)
        struct.pack_into("<I", out, prev_next, ifd)
        out += struct.pack("<H", len(entries))
        for tag, typ, count, value in entries:
            inline = struct.pack("<HH", value, 0) if typ == 3 and count == 1 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, typ, count) + inline
        prev_next = len(out)
        out += struct.pack("<I", 0)
    with open(path, "wb") as f:
        f.write(out)


def oriented_fixtures():
    h, w = 5, 7
    y, x = np.mgrid[0:h, 0:w]
    for name, dtype, channels in [("gray8", np.uint8, 1), ("gray16", np.uint16, 1), ("rgb8", np.uint8, 3),
                                  ("rgb16", np.uint16, 3)]:
        scale = 1 if dtype == np.uint8 else 997
        planes = [(x * 11 + y * 37 + 3 * c + 1) * scale % np.iinfo(dtype).max for c in range(channels)]
        raw = (planes[0] if channels == 1 else np.stack(planes, axis=-1)).astype(dtype)
        path = os.path.join(OUT, "orient_%s.tif" % name)
        write_oriented_tiff(path, raw)
        want = [np.ascontiguousarray(ORIENT[o](raw)) for o in range(1, 9)]
        # Independent readings of the same orientations.
        ok, pages = cv2.imreadmulti(path, flags=cv2.IMREAD_UNCHANGED)
        assert ok and len(pages) == 8, path
        for o, (page, ref) in enumerate(zip(pages, want), start=1):
            page = page if channels == 1 else page[..., ::-1]
            assert page.shape == ref.shape and (page == ref).all(), (path, o, "OpenCV")
            if dtype == np.uint8:
                im = Image.fromarray(raw)
                ex = im.getexif()
                ex[0x0112] = o
                im.info["exif"] = ex.tobytes()
                pil = np.asarray(ImageOps.exif_transpose(im))
                assert pil.shape == ref.shape and (pil == ref).all(), (path, o, "Pillow")
        np.save(os.path.join(OUT, "orient_%s.npy" % name), np.stack([r.reshape(-1) for r in want]))


def main():
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([x * 4, y * 6, (x * 3 + y * 2) % 256], axis=-1).astype(np.uint8)
    img = Image.fromarray(rgb, "RGB")
    icc = big_profile()
    with open(os.path.join(OUT, "profile.icc"), "wb") as f:
        f.write(icc)
    exif = exif_bytes()
    img.save(os.path.join(OUT, "phone.png"), icc_profile=icc, exif=exif)
    tif = os.path.join(OUT, "phone.tif")
    img.save(tif, icc_profile=icc, compression="tiff_adobe_deflate")
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Orientation#=6", "-Make=tandem-test",
                    "-Model=fixture 1", "-DateTimeOriginal=2026:12:06 05:00:00", "-ExifImageWidth=%d" % W,
                    "-ExifImageHeight=%d" % H, "-ExposureTime=1/60", "-ISO=200", "-UserComment=tandem fixture",
                    "-GPSLatitude=48.8566", "-GPSLatitudeRef=N",
                    tif], check=True)
    jpg = os.path.join(OUT, "phone.jpg")
    img.save(jpg, quality=92, icc_profile=icc, exif=exif)
    thumb = io.BytesIO()
    img.resize((16, 10)).save(thumb, "JPEG", quality=80)
    tpath = os.path.join(OUT, "thumb.tmp.jpg")
    with open(tpath, "wb") as f:
        f.write(thumb.getvalue())
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-ThumbnailImage<=" + tpath, jpg], check=True)
    os.remove(tpath)
    oriented_fixtures()


if __name__ == "__main__":
    main()
