#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, see CMakeLists.txt here) into build-fuzz/ and
# runs each for FUZZ_SECONDS (default 15) on a copy of its checked-in corpus, so the corpus in
# the tree is never modified. Exits non-zero if any target crashes, leaks, trips a sanitizer or a
# FUZZ_CHECK; the reproducer is kept under build-fuzz/artifacts/<target>/ and the log beside it.
# Usage: tests/fuzz/run.sh [target...]   (default: every target that was built)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FUZZ_DIR="$ROOT/tests/fuzz"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-15}"
JOBS="${JOBS:-$(nproc)}"

echo "== fuzz build ($BUILD)"
CC=clang CXX=clang++ cmake -S "$FUZZ_DIR" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j"$JOBS"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for corpus in "$FUZZ_DIR"/corpus/*/; do
    target="$(basename "$corpus")_fuzzer"
    if [[ -x "$BUILD/$target" ]]; then
      targets+=("$target")
    else
      echo "== $target: not built, skipped"
    fi
  done
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
  name="${target%_fuzzer}"
  dict=()
  case "$name" in
    http_*) dict=(-dict="$FUZZ_DIR/http.dict") ;;
    route_policy | serverset_member) dict=(-dict="$FUZZ_DIR/json.dict") ;;
  esac
  mkdir -p "$work/$name" "$BUILD/artifacts/$name"
  cp -R "$FUZZ_DIR/corpus/$name/." "$work/$name/"
  log="$BUILD/artifacts/$name/last-run.log"
  echo "== $target for ${SECONDS_PER_TARGET}s"
  if ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
     "$BUILD/$target" -max_len=65536 -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
       "${dict[@]}" -artifact_prefix="$BUILD/artifacts/$name/" "$work/$name" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" |
      sed 's/^stat::/   /'
  else
    echo "   FAILED: see $log"
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY|Test unit written' "$log" | head -n 5 | sed 's/^/   /'
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "== fuzz targets failed: ${failed[*]}"
  exit 1
fi
echo "== fuzz targets passed: ${targets[*]}"
