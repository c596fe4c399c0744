#!/bin/sh
# Compare tandem's CPU kernels with OpenCV / scipy.ndimage / NumPy (/ libvips)
# on the same thread count; see bench/compare.py for what is measured.
#   bench/compare.sh [BUILD_DIR] [compare.py options...]
# e.g. bench/compare.sh build-cpu --threads 2 --json results.json
#      bench/compare.sh build-cpu --threads 1 --only kernels --check   # exit 1 under a target
#      bench/compare.sh build-cpu --threads 2 --only kernels --kernel gaussian --sigma 1,2,5 --size 1920x1080
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
tandem="$build/tandem"
[ -x "$tandem" ] || { echo "compare.sh: no tandem executable at $tandem (build first)" >&2; exit 2; }
threads=$(getconf _NPROCESSORS_ONLN)
for a in "$@"; do case "$a" in --threads=*) threads=${a#--threads=};; esac; done
prev=""
for a in "$@"; do [ "$prev" = "--threads" ] && threads=$a; prev=$a; done
# NumPy's BLAS and OpenMP get the same thread count as OpenCV and tandem.
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" VIPS_CONCURRENCY="$threads"
echo "machine: $(getconf _NPROCESSORS_ONLN) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load: $(cut -d' ' -f1-3 /proc/loadavg)"
exec /usr/bin/python3 "$here/compare.py" --tandem "$tandem" --threads "$threads" "$@"
