#!/usr/bin/env bash
# tandem's one entry point for set-up, build, the default job and the tests.
#
#   ./tandem.sh demo    install what is missing, build, run tandem's default job on data/
#   ./tandem.sh test    install what is missing, build, run the whole test suite (ctest,
#                       the Python suite included), then build the Python wheel once
#                       and import it in a fresh virtual environment
#   ./tandem.sh build   install what is missing and build only
#   ./tandem.sh deps    install the Debian packages tandem needs (idempotent)
#
# Environment: BUILD_DIR (default build), TANDEM_CUDA (AUTO|ON|OFF, default AUTO),
# JOBS (default: all cores), CMAKE_ARGS (extra configure arguments),
# TANDEM_WHEEL_TEST=0 skips the wheel build of `test`.
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
  liburing-dev libpng-dev libjpeg62-turbo-dev libtiff-dev libopenblas-dev libhwy-dev
  python3-numpy python3-opencv python3-scipy
  python3-dev python3-venv python3-pip
  openmpi-bin libopenmpi-dev
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

# The Python package's virtual environment (.venv, git-ignored): Debian's
# python3 with its NumPy, OpenCV and SciPy (the suite's references), plus
# nanobind, scikit-build-core and pytest from PyPI. Idempotent.
venv="$here/.venv"
python_env() {
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/python" -c "import nanobind, scikit_build_core, pytest" 2>/dev/null ||
    "$venv/bin/python" -m pip install -q "nanobind>=2.4" "scikit-build-core>=0.10" pytest
}

build() {
  # nvcc usually lives off PATH; CMake also looks in /usr/local/cuda/bin.
  [ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
  # The Python module is built with the library (TANDEM_PYTHON=AUTO finds
  # nanobind in the venv) and tested by ctest (python.pytest).
  # shellcheck disable=SC2086
  cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
        -DTANDEM_CUDA="${TANDEM_CUDA:-AUTO}" -DPython_EXECUTABLE="$venv/bin/python" ${CMAKE_ARGS:-} >/dev/null
  cmake --build "$build_dir" -j "$jobs"
}

# `pip wheel .` (a second, CPU-only compile of the library, in the build directory
# pyproject.toml names, kept between runs) and `import tandem` from it in a fresh venv.
wheel_test() {
  [ "${TANDEM_WHEEL_TEST:-1}" = 0 ] && return 0
  local wheels="$build_dir/wheelhouse" fresh="$build_dir/wheel-venv"
  rm -rf "$wheels" "$fresh"
  "$venv/bin/python" -m pip wheel "$here" --no-build-isolation --no-deps -q -w "$wheels" \
    --config-settings=cmake.define.TANDEM_CUDA=OFF
  /usr/bin/python3 -m venv "$fresh"
  "$fresh/bin/python" -m pip install -q "$wheels"/tandem-*.whl
  (cd "$build_dir" && "$fresh/bin/python" -c '
import numpy as np, tandem
img = np.arange(64, dtype=np.uint8).reshape(8, 8)
assert (tandem.invert(img) == 255 - img).all() and len(tandem.ops()) > 0
print("tandem.sh: wheel", tandem.__version__, "imports in a fresh venv;", len(tandem.ops()), "ops")')
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
  build) deps; python_env; build ;;
  demo) deps; build; demo ;;
  test) deps; python_env; build; run_tests; wheel_test ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ] && exit 2 || exit 0
    ;;
esac
