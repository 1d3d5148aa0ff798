#!/bin/sh
# Prints the Debian packages needed to *build* canarymesh: the "toolchain" and "libraries" groups
# of deploy/install-deps.sh's PACKAGES list (which owns the list), without the servers and peers
# that only tests, benchmarks and the quick start use. Used by deploy/docker/Dockerfile and
# checked by tests/deploy. Usage: build-packages.sh [path/to/install-deps.sh]
set -eu
script=${1:-"$(dirname "$0")/../install-deps.sh"}
packages=$(sed -n '/^PACKAGES=(/,/^)/p' "$script" |
  sed -n '/^ *# toolchain/,/^ *# servers/p' |
  grep -v '^ *#' | tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//')
case "$packages" in
  *cmake*) ;;
  *) echo "build-packages.sh: no toolchain/libraries groups found in $script" >&2; exit 1 ;;
esac
echo "$packages"
