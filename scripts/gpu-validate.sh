#!/usr/bin/env bash
# GPU validation in three steps, sized for a 15-minute device lease whose calls
# last 10 minutes at most (see docs/gpu-validation.md):
#
#   scripts/gpu-validate.sh build      here, on the CPU machine, once: configure with
#                                      TANDEM_CUDA=ON, build everything, pack it into
#                                      .gpu-pack/ (git-ignored, about the size it prints)
#   scripts/gpu-validate.sh tests      device call 1 (~4 min): the whole ctest suite with
#                                      the GPU cases live, tandem info, a traced GPU batch,
#                                      tandem bench --roof and --device gpu
#   scripts/gpu-validate.sh sanitize   device call 2 (~5 min), at once after call 1 while
#                                      the machine is warm: compute-sanitizer memcheck over
#                                      the GPU cases of the op and engine tests, racecheck
#                                      over the shared-memory kernels
#
# Each device call carries .device (the libraries the GPU machine lacks, from
# `bash ../shared/device/bundle.sh libopenblas0-pthread libgfortran5`) and .gpu-pack:
#   device run (carry [".device", ".gpu-pack"], timeout_s 540):
#     source .device/unpack.sh && bash scripts/gpu-validate.sh tests
#   device run (same carry, timeout_s 540):
#     source .device/unpack.sh && bash scripts/gpu-validate.sh sanitize
# Without .gpu-pack, `tests` builds on the device first (16 cores, a few minutes
# more of the lease). Results go to $OUT (else ./gpu-results): a summary file
# and one logs-<step>.tar.gz, since a call brings back at most 8 files.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here" || exit 1
step="${1:-}"
pack="$here/.gpu-pack"
build="$here/build-gpu"
out="${OUT:-$here/gpu-results}"
logs="$out/logs"
export PATH="$PATH:/usr/local/cuda/bin"
jobs=$(nproc)
start=$SECONDS

usage() {
  sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
}

# Seconds left of a step's budget (at least 1); steps stop starting work when
# it runs out, so the call returns, with its logs, inside its limit.
left() {
  local n=$(( $1 - (SECONDS - start) ))
  echo $(( n > 0 ? n : 1 ))
}

# configure_and_build LOG_PREFIX [CMAKE_ARGS...]
configure_and_build() {
  local log="$1"
  shift
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTANDEM_CUDA=ON "$@" > "$log.configure.log" 2>&1 &&
    cmake --build "$build" -j "$jobs" > "$log.build.log" 2>&1
}

do_build() {
  local log="$here/gpu-build"
  local args=()
  command -v ccache > /dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  if ! configure_and_build "$log" "${args[@]}"; then
    tail -40 "$log.build.log" "$log.configure.log"
    return 1
  fi
  # The build tree names this checkout by absolute path (ctest files, the
  # tests' data paths); the device links that path to its own copy.
  mkdir -p "$pack"
  local exclude
  exclude=$(git rev-parse --git-path info/exclude)
  grep -qx '/.gpu-pack/' "$exclude" 2> /dev/null || echo '/.gpu-pack/' >> "$exclude"
  echo "$here" > "$pack/root"
  # Only what ctest and the commands run: programs (stripped), ctest files,
  # the tests' discovered case lists; not objects or archives.
  tar -C "$here" -cf - --exclude='*.o' --exclude='*.a' --exclude='CMakeFiles' \
      --exclude='*-build' --exclude='test-install*' build-gpu |
    ( tmp=$(mktemp -d) && tar -C "$tmp" -xf - && find "$tmp" -type f -perm -u+x -exec strip --strip-unneeded {} + 2> /dev/null
      tar -C "$tmp" -cf - build-gpu | xz -T0 -6 > "$pack/build.tar.xz"; rm -rf "$tmp" )
  du -sh "$pack" | awk '{print "gpu-validate: .gpu-pack holds " $1 " (with .device and the tree it must stay under 64 MiB)"}'
}

unpack() {
  if [ -f "$pack/build.tar.xz" ]; then
    local root
    root=$(cat "$pack/root")
    xz -dc "$pack/build.tar.xz" | tar -C "$here" -xf - || return 1
    if [ "$root" != "$here" ] && [ ! -e "$root" ]; then
      mkdir -p "$(dirname "$root")" && ln -s "$here" "$root"
    fi
    echo "unpacked the build made in $root"
  elif [ ! -x "$build/tandem" ]; then
    echo "no .gpu-pack: building here ($jobs cores)"
    configure_and_build "$logs/device" || { tail -40 "$logs/device.build.log"; return 1; }
  fi
}

finish() {
  tar -C "$out" -czf "$out/logs-$step.tar.gz" logs && rm -rf "$logs"
  echo "gpu-validate $step: $((SECONDS - start)) s"
}

do_tests() {
  mkdir -p "$logs"
  {
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    nvcc --version | tail -1
  } > "$out/device.txt" 2>&1
  unpack > "$logs/unpack.log" 2>&1 || { cat "$logs/unpack.log"; finish; return 1; }
  # The package.* tests rebuild and install the library: nothing GPU about them.
  timeout 240 ctest --test-dir "$build" -j "$jobs" --timeout 120 -E '^package\.' --output-on-failure \
    > "$logs/ctest.log" 2>&1
  {
    echo "ctest: $(grep -E 'tests passed|tests failed' "$logs/ctest.log")"
    grep -c "cuda0.*Passed" "$logs/ctest.log" | sed 's/^/GPU cases passed: /'
    grep -E "\*\*\*Failed|\*\*\*Timeout|Not Run" "$logs/ctest.log"
  } > "$out/tests.txt"
  "$build/tandem" info > "$logs/info.txt" 2>&1
  "$build/tandem" info --json > "$out/info.json" 2>&1
  lstopo-no-graphics --of xml > "$logs/topology.xml" 2> /dev/null
  timeout 60 "$build/tandem" run -p "gaussian sigma=2 | sobel" -o /tmp/tandem-gpu-out --device gpu \
    --trace "$out/trace.json" --json data/images > "$logs/run.json" 2> "$logs/run.txt"
  echo "gpu batch exit=$?" >> "$out/tests.txt"
  timeout 60 "$build/tandem" bench --roof --json > "$out/roof.json" 2>&1
  timeout "$(left 500)" "$build/tandem" bench --device gpu > "$logs/bench-gpu.txt" 2>&1
  echo "bench exit=$?" >> "$out/tests.txt"
  cat "$out/tests.txt"
  tail -30 "$logs/bench-gpu.txt"
  finish
}

do_sanitize() {
  mkdir -p "$logs"
  unpack > "$logs/unpack.log" 2>&1 || { cat "$logs/unpack.log"; finish; return 1; }
  # memcheck over every op's and the engine's GPU cases; racecheck (slower)
  # over the kernels that share memory between threads.
  local runs=() name t tool rc
  for name in box cumsum elementwise equalize filter gaussian grayscale histogram invert matmul \
              median resize sobel sort stats threshold engine; do
    runs+=("memcheck $name")
  done
  for name in gaussian box filter median sobel equalize histogram stats; do
    runs+=("racecheck $name")
  done
  local summary="$out/sanitizer.txt"
  : > "$summary"
  for run in "${runs[@]}"; do
    read -r tool name <<< "$run"
    t="$build/tests/${name}_test"
    [ -x "$t" ] || continue
    if [ "$(left 480)" -lt 30 ]; then
      echo "$name $tool: not run (the call's budget is spent)" >> "$summary"
      continue
    fi
    timeout 90 compute-sanitizer --tool "$tool" --error-exitcode 99 "$t" \
      --gtest_filter='*cuda*:*Gpu*' > "$logs/$name-$tool.log" 2>&1
    rc=$?
    echo "$name $tool exit=$rc $(grep -E 'ERROR SUMMARY' "$logs/$name-$tool.log" | tail -1)" >> "$summary"
  done
  cat "$summary"
  finish
}

case "$step" in
  build) do_build ;;
  tests) do_tests ;;
  sanitize) do_sanitize ;;
  *)
    usage
    [ -n "$step" ] && exit 2
    exit 0
    ;;
esac
