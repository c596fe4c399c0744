#!/usr/bin/env bash
# tandem's one entry point for set-up, build, the default job and the tests.
#
#   ./tandem.sh demo    install what is missing, build, run tandem's default job on data/
#   ./tandem.sh test    install what is missing, build, run the whole test suite (ctest,
#                       the Python suite included), build the Python wheel once and
#                       import it in a fresh virtual environment, then the checks below
#                       (what CI runs; docs/reliability.md)
#   ./tandem.sh build   install what is missing and build only
#   ./tandem.sh deps    install the Debian packages tandem needs (idempotent)
#   ./tandem.sh asan    clang, AddressSanitizer + UndefinedBehaviorSanitizer: the CPU suite
#   ./tandem.sh tsan    clang, ThreadSanitizer: the engine, scheduler and sim-device tests
#   ./tandem.sh fuzz    every libFuzzer harness for FUZZ_SECONDS (default 20) each
#
# Environment: BUILD_DIR (default build), TANDEM_CUDA (AUTO|ON|OFF, default AUTO),
# JOBS (default: all cores), CMAKE_ARGS (extra configure arguments), ASAN_BUILD_DIR
# (default build-asan), TSAN_BUILD_DIR (default build-tsan), SKIP_CHECKS=1 (test: no
# sanitizer or fuzz checks), TANDEM_WHEEL_TEST=0 (test: no wheel build).
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
  liburing-dev libpng-dev libjpeg62-turbo-dev libtiff-dev libisal-dev libopenblas-dev libhwy-dev
  python3-numpy python3-opencv python3-scipy python3-pil
  python3-dev python3-venv python3-pip
  openmpi-bin libopenmpi-dev
  clang libomp-14-dev libclang-rt-14-dev
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

# The sanitizer builds: clang, CPU only, no benchmarks, package tests or Python
# module (an uninstrumented interpreter cannot load it), no MPI (Open MPI leaks from
# plugins it unloads, which no suppression can name), and only the binaries they run.
asan_dir="${ASAN_BUILD_DIR:-$here/build-asan}"
tsan_dir="${TSAN_BUILD_DIR:-$here/build-tsan}"
sanitizer_configure() {  # DIR SANITIZE [more cmake args]
  local dir="$1" san="$2"
  shift 2
  # shellcheck disable=SC2086
  CC=clang CXX=clang++ cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_CUDA=OFF \
    -DTANDEM_SANITIZE="$san" -DTANDEM_BUILD_BENCH=OFF -DTANDEM_INSTALL=OFF -DTANDEM_PYTHON=OFF -DTANDEM_MPI=OFF "$@" \
    ${CMAKE_ARGS:-} >/dev/null
}
timed() {  # NAME COMMAND...: runs it and says how long it took
  local t0=$SECONDS
  "${@:2}"
  echo "tandem.sh: $1 took $((SECONDS - t0)) s" >&2
}

# The whole CPU suite under ASan + UBSan (the same build holds the fuzzers).
asan() {
  sanitizer_configure "$asan_dir" address,undefined -DTANDEM_FUZZ=ON
  cmake --build "$asan_dir" -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS="suppressions=$here/tests/sanitizers/lsan.supp:print_suppressions=0" \
    ctest --test-dir "$asan_dir" --output-on-failure -j "$jobs" --timeout 900
}

# tandem's own threads under TSan: OpenMP regions run on one thread there and the
# reader uses preads (tests/CMakeLists.txt, docs/reliability.md say why).
tsan() {
  sanitizer_configure "$tsan_dir" thread
  cmake --build "$tsan_dir" -j "$jobs" --target engine_test engine_sim_test sim_device_test
  OMP_THREAD_LIMIT=1 OMP_TOOL=disabled \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$here/tests/sanitizers/tsan.supp" \
    ctest --test-dir "$tsan_dir" --output-on-failure -j "$jobs" --timeout 900 -R '^(Engine[A-Za-z]*|Scheduler|Sim)\.'
}

fuzz() {
  FUZZ_BUILD_DIR="$asan_dir" "$here/scripts/fuzz.sh" "${FUZZ_SECONDS:-20}"
}

checks() {
  [ "${SKIP_CHECKS:-0}" = 1 ] && return 0
  timed "asan (build + CPU suite)" asan
  timed "tsan (build + engine tests)" tsan
  timed "fuzz (every harness)" fuzz
}

case "${1:-}" in
  deps) deps ;;
  build) deps; python_env; build ;;
  demo) deps; build; demo ;;
  test)
    t_all=$SECONDS
    timed "deps (Debian packages)" deps
    timed "python venv" python_env
    timed "build" build
    timed "ctest" run_tests
    timed "wheel (build + import)" wheel_test
    checks
    echo "tandem.sh: test took $((SECONDS - t_all)) s in all" >&2
    ;;
  asan) deps; asan ;;
  tsan) deps; tsan ;;
  asan-configure) sanitizer_configure "$asan_dir" address,undefined -DTANDEM_FUZZ=ON ;;
  fuzz) deps; fuzz ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ] && exit 2 || exit 0
    ;;
esac
