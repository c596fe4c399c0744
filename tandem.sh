#!/usr/bin/env bash
# tandem's one entry point for set-up, build, the default job and the tests.
#
#   ./tandem.sh demo    install what is missing, build, run tandem's default job on data/
#   ./tandem.sh test    install what is missing, build, run the whole test suite (ctest)
#   ./tandem.sh build   install what is missing and build only
#   ./tandem.sh deps    install the Debian packages tandem needs (idempotent)
#
# Environment: BUILD_DIR (default build), TANDEM_CUDA (AUTO|ON|OFF, default AUTO),
# JOBS (default: all cores), CMAKE_ARGS (extra configure arguments).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="${BUILD_DIR:-$here/build}"
jobs="${JOBS:-$(nproc)}"

# Debian 12 packages: compilers and CMake, then the libraries tandem links.
packages=(
  build-essential cmake pkgconf git
  libhwloc-dev hwloc-nox
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev
  liburing-dev libpng-dev libjpeg62-turbo-dev libopenblas-dev libhwy-dev
  python3-numpy python3-opencv python3-scipy
)

deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "tandem.sh: all Debian packages present" >&2
    return 0
  fi
  echo "tandem.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  # nvcc usually lives off PATH; CMake also looks in /usr/local/cuda/bin.
  [ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
  # shellcheck disable=SC2086
  cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
        -DTANDEM_CUDA="${TANDEM_CUDA:-AUTO}" ${CMAKE_ARGS:-} >/dev/null
  cmake --build "$build_dir" -j "$jobs"
}

demo() {
  # The default job: the bundled photos through a blur and an edge filter.
  "$build_dir/tandem" run -p "gaussian sigma=2 | sobel" -o "$here/out/demo" --glob '*.png' --glob '*.jpg' "$here/data/images"
  "$build_dir/tandem" info
}

run_tests() {
  ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 600
}

case "${1:-}" in
  deps) deps ;;
  build) deps; build ;;
  demo) deps; build; demo ;;
  test) deps; build; run_tests ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ] && exit 2 || exit 0
    ;;
esac
