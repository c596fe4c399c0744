#!/usr/bin/python3
"""What Pillow (an independent reader) finds in an image's metadata, as one line
for tests/metadata_test.cpp:

  size=WxH icc=<bytes>:<sha256 prefix> orientation=N pixels=XxY make=M thumbnail=0|1 date=D exposure=E gps=G

(date: DateTimeOriginal, spaces as '_'; exposure: ExposureTime, 6 digits;
gps: GPSLatitude in degrees, 4 digits, and its reference.)
For a TIFF the IFD0 fields are its own tags and the EXIF IFD the one its
page points to. A missing field reads '-'. Usage: read_metadata.py IMAGE
"""
import hashlib
import sys

from PIL import Image


def main(path):
    im = Image.open(path)
    ex = im.getexif()  # before load(): Pillow closes a multi-page TIFF's file once its pixels are read
    im.load()
    icc = im.info.get("icc_profile")
    icc_s = "-" if not icc else "%d:%s" % (len(icc), hashlib.sha256(icc).hexdigest()[:16])
    fields = ["size=%dx%d" % im.size, "icc=" + icc_s]
    sub = ex.get_ifd(0x8769)
    px = "%sx%s" % (sub.get(0xA002, "-"), sub.get(0xA003, "-")) if sub else "-"
    fields += ["orientation=%s" % ex.get(0x0112, "-"), "pixels=" + px, "make=%s" % ex.get(0x010F, "-"),
               # (IFD1 of a TIFF is its next page, not a thumbnail)
               "thumbnail=%d" % (1 if im.format != "TIFF" and ex.get_ifd(-1) else 0)]
    date = sub.get(0x9003) if sub else None
    exposure = sub.get(0x829A) if sub else None
    fields += ["date=%s" % ("-" if date is None else date.replace(" ", "_")),
               "exposure=%s" % ("-" if exposure is None else "%.6f" % float(exposure))]
    gps = ex.get_ifd(0x8825)
    lat = gps.get(2) if gps else None
    fields.append("gps=-" if lat is None else "gps=%.4f%s" % (sum(float(v) / 60 ** i for i, v in enumerate(lat)), gps.get(1, "")))
    print(" ".join(fields))


if __name__ == "__main__":
    main(sys.argv[1])
