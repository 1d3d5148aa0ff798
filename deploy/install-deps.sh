#!/usr/bin/env bash
# Installs every Debian 12 package canarymesh needs to build, test, benchmark and run its demo.
# This file owns the package list; quickstart.sh and tests/run.sh both call it.
# Installs only what is missing, so a second run costs a dpkg query and nothing else.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake pkg-config clang libclang-rt-14-dev
  # the format check in tests/run.sh (tools/check_format.sh)
  clang-format
  # libraries
  libevent-dev libboost-dev libboost-system-dev libyaml-cpp-dev
  nlohmann-json3-dev libcli11-dev prometheus-cpp-dev libgtest-dev libgmock-dev libssl-dev
  libzookeeper-mt-dev libthrift-dev thrift-compiler libbenchmark-dev
  # the yardstick bench/http_parser_bench measures the HTTP parser against (not linked by canarymesh)
  libhttp-parser-dev
  # servers and peers used by tests, benchmarks and the quick start
  zookeeper python3 python3-kazoo python3-thrift php-cli php-curl php-thrift
  haproxy nginx-light wrk prometheus curl procps iproute2 openssl
  # checks of deploy/'s files (tests/deploy): YAML parsing, systemd-analyze verify
  python3-yaml systemd
  # profiling the data plane under bench/ load (perf record, perf stat on syscall tracepoints)
  linux-perf strace
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's packages start their daemons where an init system runs; canarymesh's scripts start
# their own instances on loopback ports, so stop any that the package scripts launched.
for svc in nginx haproxy prometheus zookeeper; do
  if command -v service >/dev/null && service "$svc" status >/dev/null 2>&1; then
    service "$svc" stop >/dev/null 2>&1 || true
  fi
done
echo "install-deps: all ${#PACKAGES[@]} packages present"
