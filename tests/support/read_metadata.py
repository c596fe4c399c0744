#!/usr/bin/python3
"""What Pillow (an independent reader) finds in an image's metadata, as one line
for tests/metadata_test.cpp:

  size=WxH icc=<bytes>:<sha256 prefix> orientation=N pixels=XxY make=M thumbnail=0|1

A missing field reads '-'. Usage: read_metadata.py IMAGE
"""
import hashlib
import sys

from PIL import Image


def main(path):
    im = Image.open(path)
    im.load()
    icc = im.info.get("icc_profile")
    icc_s = "-" if not icc else "%d:%s" % (len(icc), hashlib.sha256(icc).hexdigest()[:16])
    fields = ["size=%dx%d" % im.size, "icc=" + icc_s]
    if im.format == "TIFF":
        # A TIFF's own tags are its IFD0: only the profile is asked of it.
        print(" ".join(fields))
        return
    ex = im.getexif()
    sub = ex.get_ifd(0x8769)
    px = "%sx%s" % (sub.get(0xA002, "-"), sub.get(0xA003, "-")) if sub else "-"
    fields += ["orientation=%s" % ex.get(0x0112, "-"), "pixels=" + px, "make=%s" % ex.get(0x010F, "-"),
               "thumbnail=%d" % (1 if ex.get_ifd(-1) else 0)]
    print(" ".join(fields))


if __name__ == "__main__":
    main(sys.argv[1])
