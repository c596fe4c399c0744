"""The same job as opencv_threadpool.py with tandem's batch engine: reading,
decoding, computing and writing overlap on every core (and GPU).

    python3 examples/python/tandem_run.py data/images out/run
"""
import sys

import tandem


def main(inputs: str, output: str) -> int:
    summary = tandem.run("gaussian sigma=2 | sobel", inputs, output, glob=["*.png", "*.jpg"],
                         progress=lambda done, total: print(f"\r{done}/{total}", end="", file=sys.stderr))
    print(file=sys.stderr)
    if summary["failed"]:
        for item in summary["items"]:
            if item["error"]:
                print("failed:", item["path"], item["error"], file=sys.stderr)
    return summary["ok"]


if __name__ == "__main__":
    print(main(*sys.argv[1:3]), "files")
