#!/usr/bin/env bash
# One call on a lent GPU machine: build with the CUDA backend, run the whole
# suite with the GPU cases live, compute-sanitizer memcheck + racecheck over the
# GPU op tests, tandem info, a traced GPU batch, and the kernel benchmark.
# Results go to $OUT (or ./gpu-results) for docs/gpu-validation.md.
#
#   bash ../shared/device/bundle.sh            # once, on the development machine
#   device run (carry .device):  source .device/unpack.sh && bash scripts/gpu-validate.sh
set -uo pipefail
out="${OUT:-$PWD/gpu-results}"
mkdir -p "$out"
export PATH="$PATH:/usr/local/cuda/bin"
jobs=$(nproc)

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  nvcc --version | tail -1
} > "$out/device.txt" 2>&1

cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DTANDEM_CUDA=ON > "$out/configure.log" 2>&1 &&
  cmake --build build-gpu -j "$jobs" > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }

ctest --test-dir build-gpu -j "$jobs" --timeout 600 --output-on-failure > "$out/ctest.log" 2>&1
echo "ctest: $(grep -E 'tests passed' "$out/ctest.log")"
grep -c "cuda0.*Passed" "$out/ctest.log" | sed 's/^/GPU cases passed: /'

: > "$out/sanitizer.txt"
for t in build-gpu/tests/*_test; do
  name=$(basename "$t")
  case "$name" in core_test|io_test|topology_test|placement_test|info_cli_test|run_cli_test|bench_test) continue ;; esac
  for tool in memcheck racecheck; do
    compute-sanitizer --tool "$tool" --error-exitcode 99 "$t" --gtest_filter='*cuda*:*Gpu*' > "$out/san-$name-$tool.log" 2>&1
    echo "$name $tool exit=$? $(grep -E 'ERROR SUMMARY' "$out/san-$name-$tool.log" | tail -1)" >> "$out/sanitizer.txt"
  done
done
cat "$out/sanitizer.txt"

build-gpu/tandem info > "$out/info.txt" 2>&1
build-gpu/tandem info --json > "$out/info.json" 2>&1
build-gpu/tandem info --measure > "$out/info-measure.txt" 2>&1
lstopo-no-graphics --of xml > "$out/topology.xml" 2>/dev/null || true
build-gpu/tandem run -p "gaussian sigma=2 | sobel" -o /tmp/tandem-gpu-out --device gpu \
  --trace "$out/trace.json" --json data/images > "$out/run.json" 2> "$out/run.txt"
echo "gpu batch exit=$?"
build-gpu/tandem bench --roof --json > "$out/roof.json" 2>&1
build-gpu/tandem bench --device gpu > "$out/bench-gpu.txt" 2>&1
tail -40 "$out/bench-gpu.txt"
