#!/usr/bin/env bash
# tandem on 64-bit Arm (aarch64), on an x86-64 Debian 12 machine: a CPU-only
# cross build with Debian's g++-aarch64-linux-gnu whose op tests run under
# qemu-aarch64 (qemu-user), once per Arm SIMD target the emulated CPU has.
# docs/portability.md describes it and records a run.
#
#   scripts/aarch64-qemu.sh [all]   deps, sysroot, build, test (the default)
#   scripts/aarch64-qemu.sh deps    the host's packages: cross compiler, qemu, mmdebstrap
#   scripts/aarch64-qemu.sh sysroot the arm64 root with tandem's libraries
#   scripts/aarch64-qemu.sh build   configure and build the test programs
#   scripts/aarch64-qemu.sh test    run them under qemu at each SIMD target, print a summary
#
# Environment:
#   TANDEM_AARCH64_DIR   where the root and the build go (default: build-aarch64/)
#   TANDEM_AARCH64_JOBS  build and test jobs (default: the number of CPUs)
#   TANDEM_AARCH64_TESTS ctest label regex of the test programs to run
#                        (default: every op's, plus core, op_layouts and pipeline)
#   TANDEM_AARCH64_CAPS  the TANDEM_SIMD values to run the tests at, side by side:
#                        "best neon" (default; best runs every target in the tests
#                        that loop over targets), or "all": best and every cap the
#                        emulated CPU supports (sve2, sve, neon)
#   QEMU_CPU             the emulated CPU (qemu's default: max, 512-bit SVE vectors)
#
# Every step is idempotent: a second run only builds what changed and tests.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${TANDEM_AARCH64_DIR:-$repo/build-aarch64}
sysroot=$work/sysroot
build=$work/build
jobs=${TANDEM_AARCH64_JOBS:-$(nproc)}
triple=aarch64-linux-gnu

# The host's packages (amd64 or arch-independent: nothing of the host's arm64).
host_packages=(g++-aarch64-linux-gnu qemu-user mmdebstrap cmake pkgconf)
# The arm64 packages of the root: what the CPU library and its tests link.
# libgomp1: the OpenMP runtime (the cross compiler links against its own copy).
arm64_packages=(libgomp1 libhwy-dev libhwloc-dev liburing-dev libpng-dev libjpeg62-turbo-dev libtiff-dev
  libopenblas-dev libgtest-dev nlohmann-json3-dev libcli11-dev)

# The test programs that run under qemu: every op's (cmake/TandemOps.cmake),
# the SIMD layer's (core: TANDEM_SIMD, the target list), the layouts every op
# accepts and the pipeline parser. The CLI-driving tests are left out: qemu-user
# cannot start the aarch64 `tandem` they spawn without binfmt_misc.
ops=$(sed -n '/^set(TANDEM_OPS/,/^)/p' "$repo/cmake/TandemOps.cmake" | sed -e '1d' -e '$d' -e 's/#.*//' | xargs)
tests=(core op_layouts pipeline $ops)
label_regex=${TANDEM_AARCH64_TESTS:-^($(IFS='|'; echo "${tests[*]}"))\$}

say() { echo "aarch64-qemu.sh: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
  local missing=() p
  for p in "${host_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "host packages present: ${host_packages[*]}"
    return 0
  fi
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  # Never at the price of the host's packages: refuse when apt would upgrade
  # or remove any.
  local plan
  plan=$(apt-get -s install --no-install-recommends "${missing[@]}")
  if grep -qE '^(Remv|Inst [^ ]+ \[)' <<<"$plan"; then
    grep -E '^(Remv|Inst [^ ]+ \[)' <<<"$plan" >&2
    die "installing ${missing[*]} would upgrade or remove the host packages above; install them by hand"
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The arm64 root: the arm64 packages and their dependencies, unpacked (not
# installed: no maintainer script runs, the host's dpkg database is untouched)
# by mmdebstrap from the host's own apt sources.
sysroot() {
  local stamp=$sysroot/.tandem-packages want
  want="${arm64_packages[*]}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "arm64 root present: $sysroot"
    return 0
  fi
  local suite sources=()
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$suite" ] || die "cannot tell the Debian release from /etc/os-release (VERSION_CODENAME)"
  [ -s /etc/apt/sources.list ] && sources+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sources+=("$f")
  done
  [ ${#sources[@]} -gt 0 ] || die "no apt sources found in /etc/apt"
  say "unpacking the arm64 root ($suite: ${arm64_packages[*]}) into $sysroot"
  mkdir -p "$work"
  rm -rf "$sysroot.tmp"
  as_root mmdebstrap --quiet --variant=extract --architectures=arm64 \
    --include="$(IFS=,; echo "${arm64_packages[*]}")" "$suite" "$sysroot.tmp" "${sources[@]}"
  # Links that point into the root by an absolute path (libz.so ->
  # /lib/aarch64-linux-gnu/libz.so.1) would point into the host's: make them
  # relative.
  local link target
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot.tmp$target")" "$link"
  done < <(find "$sysroot.tmp" -type l -lname '/*' -print0)
  # What update-alternatives would have made: the OpenBLAS variant as
  # libopenblas.so, libopenblas.so.0 and openblas.pc.
  local lib=$sysroot.tmp/usr/lib/$triple
  [ -d "$lib/openblas-pthread" ] || die "libopenblas-dev unpacked no $lib/openblas-pthread"
  ln -sfn openblas-pthread/libopenblas.so "$lib/libopenblas.so"
  ln -sfn openblas-pthread/libopenblas.so.0 "$lib/libopenblas.so.0"
  mkdir -p "$lib/pkgconfig"
  ln -sfn ../openblas-pthread/pkgconfig/openblas.pc "$lib/pkgconfig/openblas.pc"
  echo "$want" >"$sysroot.tmp/.tandem-packages"
  rm -rf "$sysroot"
  mv "$sysroot.tmp" "$sysroot"
}

build() {
  [ -f "$sysroot/.tandem-packages" ] || die "no arm64 root in $sysroot: run '$0 sysroot' first"
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # CPU only: no CUDA, Python, MPI, benchmarks, fuzzers or package tests.
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchains/$triple.cmake" -DTANDEM_AARCH64_SYSROOT="$sysroot" \
    -DTANDEM_CUDA=OFF -DTANDEM_PYTHON=OFF -DTANDEM_MPI=OFF -DTANDEM_BUILD_BENCH=OFF -DTANDEM_FUZZ=OFF \
    -DTANDEM_BUILD_PACKAGE_TESTS=OFF "${launcher[@]}" >"$work/configure.log" ||
    { tail -40 "$work/configure.log" >&2; die "configure failed (log: $work/configure.log)"; }
  local targets=(tandem_cli) t
  for t in "${tests[@]}"; do targets+=("${t}_test"); done
  say "building ${targets[*]} ($jobs jobs)"
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
}

qemu() { qemu-aarch64 -L "$sysroot" "$@"; }

# The SIMD targets `tandem info` reports for the emulated CPU, best first.
supported_targets() {
  qemu "$build/tandem" info | sed -n 's/.*(supported: *\([^;]*\);.*/\1/p' | head -1
}

run_tests() {
  [ -x "$build/tandem" ] || die "nothing built in $build: run '$0 build' first"
  local info targets t cap caps=() seen=" " start end
  info=$(qemu "$build/tandem" info)
  echo "$info" | grep -iE 'cpu|simd' >&2 || true
  targets=$(supported_targets)
  [ -n "$targets" ] || die "tandem info under qemu named no SIMD target"
  say "qemu: $(qemu-aarch64 --version | head -1); QEMU_CPU=${QEMU_CPU:-max (default)}; targets: $targets"
  # One run per TANDEM_SIMD value, side by side (each ctest with its own jobs):
  # best runs every supported target in the tests that loop over targets
  # (test::for_each_simd_target) and the best one elsewhere; a cap runs every
  # test at that target.
  caps=(best)
  for t in $targets; do
    case $t in
      SVE2) cap=sve2 ;; SVE) cap=sve ;; NEON) cap=neon ;; SCALAR|EMU128) cap=scalar ;; *) continue ;;
    esac
    case $seen in *" $cap "*) continue ;; esac
    seen+="$cap "
    case ${TANDEM_AARCH64_CAPS:-best neon} in
      all) caps+=("$cap") ;;
      *) case " ${TANDEM_AARCH64_CAPS:-best neon} " in *" $cap "*) caps+=("$cap") ;; esac ;;
    esac
  done
  local summary=() failed=0 pids=() i rc counts skipped took
  start=$(date +%s)
  for cap in "${caps[@]}"; do
    say "ctest -L '$label_regex' with TANDEM_SIMD=$cap (log: $work/ctest-$cap.log)"
    TANDEM_SIMD=$cap ctest --test-dir "$build" -L "$label_regex" -j "$jobs" --timeout 3600 --output-on-failure \
      >"$work/ctest-$cap.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!caps[@]}"; do
    cap=${caps[$i]}
    rc=0
    wait "${pids[$i]}" || rc=$?
    counts=$(grep -E 'tests passed, [0-9]+ tests failed' "$work/ctest-$cap.log" | tail -1)
    [ -n "$counts" ] || counts="no ctest summary (see $work/ctest-$cap.log)"
    skipped=$(grep -c '(Skipped)' "$work/ctest-$cap.log" || true)
    took=$(sed -n 's/^Total Test time (real) = *//p' "$work/ctest-$cap.log")
    summary+=("TANDEM_SIMD=$cap: $counts, $skipped skipped; $took")
    if [ $rc -ne 0 ]; then
      failed=1
      grep -E '^\s+[0-9]+ - ' "$work/ctest-$cap.log" >&2 || tail -20 "$work/ctest-$cap.log" >&2
    fi
  done
  end=$(date +%s)
  echo "== aarch64 under qemu: $(date -u +%Y-%m-%dT%H:%MZ), SIMD targets: $targets, $((end - start)) s in all"
  printf '%s\n' "${summary[@]}"
  return $failed
}

case ${1:-all} in
  deps) deps ;;
  sysroot) sysroot ;;
  build) build ;;
  test) run_tests ;;
  all) deps; sysroot; build; run_tests ;;
  -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown step '$1' (deps, sysroot, build, test, all)" ;;
esac
