#!/usr/bin/env bash
# Fails when a C++ source or header that git tracks differs from what clang-format makes of it
# (the root .clang-format: Google style, 100 columns). FIX=1 rewrites the files instead.
# Uses Debian 12's clang-format (14); another version may format some lines differently.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CLANG_FORMAT="${CLANG_FORMAT:-clang-format}"
command -v "$CLANG_FORMAT" >/dev/null || { echo "check_format: $CLANG_FORMAT not found" >&2; exit 2; }
mapfile -t files < <(git ls-files -- '*.cc' '*.h' '*.cpp' ':!:tests/fuzz/corpus/**')
if [[ "${FIX:-0}" == "1" ]]; then
  "$CLANG_FORMAT" -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
if ! "$CLANG_FORMAT" --dry-run --Werror "${files[@]}" 2>/tmp/check_format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/check_format.$$ | sed -E 's/:[0-9]+:[0-9]+: .*//' | sort -u |
    sed 's/^/  not formatted: /' >&2
  echo "check_format: run FIX=1 tools/check_format.sh (clang-format $("$CLANG_FORMAT" --version | grep -oE '[0-9]+\.[0-9.]+' | head -1))" >&2
  rm -f /tmp/check_format.$$
  exit 1
fi
rm -f /tmp/check_format.$$
echo "check_format: ${#files[@]} files formatted as .clang-format says"
