#!/usr/bin/env bash
# Installs what is missing, builds canarymesh, and runs every test (unit + integration) twice:
# once in a Release build and once under AddressSanitizer + UndefinedBehaviorSanitizer; then runs
# the libFuzzer targets briefly (tests/fuzz/run.sh). SKIP_SANITIZERS=1 / SKIP_FUZZ=1 skip those.
# Before building, the sources' format is checked against .clang-format (tools/check_format.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"

./deploy/install-deps.sh

echo "== format ($(date +%T))"
./tools/check_format.sh

echo "== Release build ($(date +%T))"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
echo "== Release tests ($(date +%T))"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 600)

if [[ "${SKIP_SANITIZERS:-0}" != "1" ]]; then
  echo "== ASan+UBSan build ($(date +%T))"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCANARYMESH_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$JOBS"
  echo "== ASan+UBSan tests ($(date +%T))"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j"$JOBS" --timeout 900)
fi

if [[ "${SKIP_FUZZ:-0}" != "1" ]]; then
  echo "== libFuzzer targets (FUZZ_SECONDS=${FUZZ_SECONDS:-15} per target) ($(date +%T))"
  JOBS="$JOBS" ./tests/fuzz/run.sh
fi
echo "== all tests passed ($(date +%T))"
