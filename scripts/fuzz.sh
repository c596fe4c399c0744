#!/usr/bin/env bash
# Runs tandem's libFuzzer harnesses (tests/fuzz) for a given time each.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
#
# SECONDS per harness (default 60); HARNESS names (default all): png jpeg pnm
# npy tiff detect pipeline_parse pipeline_apply topology. Builds the harnesses with
# clang, ASan and UBSan in FUZZ_BUILD_DIR (default build-asan) unless
# FUZZ_NO_BUILD=1, seeds each corpus from data/ (tests/fuzz/make_seeds.py), and
# keeps what the fuzzer learns in FUZZ_BUILD_DIR/corpus/<harness>. A crash is
# saved in FUZZ_BUILD_DIR/artifacts/<harness>/ and makes the script exit 1:
# fix it, then keep the input in tests/data/fuzz-regressions/.
# Environment: JOBS (build jobs), FUZZ_FLAGS (extra libFuzzer flags).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
all=(png jpeg pnm npy tiff detect pipeline_parse pipeline_apply topology)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")
build="${FUZZ_BUILD_DIR:-$here/build-asan}"
jobs="${JOBS:-$(nproc)}"

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  # The ASan + UBSan build of ./tandem.sh asan holds the harnesses too.
  ASAN_BUILD_DIR="$build" "$here/tandem.sh" asan-configure
  # shellcheck disable=SC2046
  cmake --build "$build" -j "$jobs" --target $(printf 'fuzz_%s ' "${harnesses[@]}")
fi

seeds="$build/seeds"
rm -rf "$seeds"
# Debian's python3 (python3-opencv, python3-numpy in tandem.sh's list).
"${PYTHON:-/usr/bin/python3}" "$here/tests/fuzz/make_seeds.py" "$seeds"

# Reports: fatal, with stacks; the leak check on; hwloc's own leaks are not ours.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/tests/sanitizers/lsan.supp:print_suppressions=0}"

failed=0
summary=""
for h in "${harnesses[@]}"; do
  corpus="$build/corpus/$h"
  artifacts="$build/artifacts/$h"
  mkdir -p "$corpus" "$artifacts" "$seeds/$h"
  log="$build/fuzz-$h.log"
  set +e
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz_$h" "$corpus" "$seeds/$h" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_FLAGS:-} >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -eq 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc, see $log and $artifacts)"
    failed=1
  fi
  line=$(printf '%-16s %12s executions in %s s: %s' "$h" "${runs:-?}" "$seconds" "$result")
  echo "$line"
  summary+="$line"$'\n'
done
echo
echo "fuzz.sh $(date -u +%Y-%m-%dT%H:%MZ), $seconds s per harness:"
printf '%s' "$summary"
exit $failed
