#!/usr/bin/env bash
# Thrift calls per second through canarymesh (a Thrift listener: per-call framing, seqid rewrite,
# method-aware version choice, per-version stats) and through HAProxy in TCP mode (bytes only),
# same backend, same load generator, same number of proxy threads, all on loopback. The backend
# and the load generator are bench/thrift_bench_tools (framed strict binary Echo calls, DEPTH
# pipelined per connection). Rounds alternate which proxy goes first, so both see the same noise
# from a shared machine; each run's line is printed, then medians over the rounds.
#
# Usage: bench/thrift_bench.sh   (needs haproxy; builds nothing: set BUILD to a build directory)
# Environment:
#   BUILD=build           where canarymesh and bench/thrift_bench_tools were built
#   BACKEND=tools         the backend: `tools` (thrift_bench_tools server, raw epoll, answers a
#                         connection's pipelined calls in one write) or `nonblocking` (Apache
#                         Thrift's TNonblockingServer, one I/O thread: bench/thrift_nonblocking_echo)
#   ROUNDS=1              rounds; each runs HAProxy and canarymesh once (order alternates)
#   DEPTHS="1 4"          calls in flight per connection; each depth is a table of its own
#                         (DEPTH=N alone runs just that one)
#   CONNECTIONS=32 DURATION=10 (seconds per run, after a 1 s warm-up the run discards)
#   PROXY_THREADS=1       HAProxy nbthread and canarymesh workers
# Besides calls/s and latency, each run reports the proxy's own CPU time per call (user+system
# from /proc/PID/stat over the run): on a machine shared with other work this is steadier than
# calls/s, since calls/s also depends on how much CPU the scheduler handed the proxy.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
[[ $BUILD == /* ]] || BUILD="$ROOT/$BUILD"
ROUNDS="${ROUNDS:-1}"
CONNECTIONS="${CONNECTIONS:-32}"
DEPTHS="${DEPTHS:-${DEPTH:-1 4}}"
BACKEND="${BACKEND:-tools}"
DURATION="${DURATION:-10}"
PROXY_THREADS="${PROXY_THREADS:-1}"
CANARYMESH="$BUILD/canarymesh"
TOOLS="$BUILD/bench/thrift_bench_tools"
for f in "$CANARYMESH" "$TOOLS"; do [[ -x $f ]] || { echo "thrift_bench: $f not built" >&2; exit 2; }; done
command -v haproxy >/dev/null || { echo "thrift_bench: haproxy not found" >&2; exit 2; }
# shellcheck source=../deploy/lib/free_ports.sh
source "$ROOT/deploy/lib/free_ports.sh"
read -r BACKEND_PORT HAPROXY_PORT CM_PORT ADMIN_PORT < <(free_ports 4)

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 200); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "thrift_bench: nothing listens on $1" >&2
  tail -5 "$work"/*.log >&2 || true
  exit 1
}

case "$BACKEND" in
  tools) "$TOOLS" server "$BACKEND_PORT" & pids+=($!) ;;
  nonblocking)
    [[ -x "$BUILD/bench/thrift_nonblocking_echo" ]] || { echo "thrift_bench: thrift_nonblocking_echo not built" >&2; exit 2; }
    "$BUILD/bench/thrift_nonblocking_echo" "$BACKEND_PORT" >"$work/backend.log" 2>&1 & pids+=($!) ;;
  *) echo "thrift_bench: BACKEND is tools or nonblocking" >&2; exit 2 ;;
esac
wait_port "$BACKEND_PORT"

cat >"$work/haproxy.cfg" <<CFG
global
  nbthread $PROXY_THREADS
  maxconn 4000
defaults
  mode tcp
  timeout connect 1s
  timeout client 60s
  timeout server 60s
frontend thrift
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend echo
backend echo
  server b1 127.0.0.1:$BACKEND_PORT
CFG
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pids+=($!)
HAPROXY_PID=$!
wait_port "$HAPROXY_PORT"

# Method-aware routing is on: every call's method name is looked up in method_versions (no pin
# matches `echo`, so the 90/10 split decides).
cat >"$work/canarymesh.yaml" <<CFG
workers: $PROXY_THREADS
log_level: warn
admin: {listen: "127.0.0.1:$ADMIN_PORT"}
listeners:
  - {name: thrift, listen: "127.0.0.1:$CM_PORT", protocol: thrift, service: echo}
services:
  - name: echo
    versions: {v1: ["127.0.0.1:$BACKEND_PORT"], v2: ["127.0.0.1:$BACKEND_PORT"]}
    route: {weights: {v1: 90, v2: 10}}
    thrift: {method_versions: {never_called: v2}}
CFG
"$CANARYMESH" proxy --config "$work/canarymesh.yaml" >"$work/canarymesh.log" 2>&1 & pids+=($!)
CM_PID=$!
wait_port "$CM_PORT"

# CPU ticks (user + system) a process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

field() { sed -E "s/.*[[:space:]]$2=([0-9.]+).*/\\1/" <<<"$1"; }

# run NAME PORT PID: one load run; prints the load generator's line plus the proxy's CPU/call.
run() {
  local name=$1 port=$2 pid=$3 line before after calls cpu
  before=$(cpu_ticks "$pid")
  line="$("$TOOLS" load "127.0.0.1:$port" "$CONNECTIONS" "$DEPTH" "$DURATION")"
  after=$(cpu_ticks "$pid")
  calls=$(field " $line" calls)
  # The ticks include the 1 s warm-up, the calls do not: scale calls up to the whole run.
  cpu=$(awk -v t=$((after - before)) -v u="$TICK_US" -v c="$calls" -v d="$DURATION" \
    'BEGIN { printf "%.2f", (c > 0 ? t * u / (c * (d + 1) / d) : 0) }')
  echo "$name $line proxy_cpu_us_per_call=$cpu"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for DEPTH in $DEPTHS; do
  echo "thrift_bench: $CONNECTIONS connections x $DEPTH pipelined, ${DURATION}s per run, $PROXY_THREADS proxy" \
    "thread(s), backend $BACKEND, $ROUNDS round(s), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$TOOLS" load "127.0.0.1:$BACKEND_PORT" "$CONNECTIONS" "$DEPTH" "$DURATION" | sed 's/^/direct /'
  : >"$work/results"
  for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then order=(haproxy canarymesh); else order=(canarymesh haproxy); fi
    for target in "${order[@]}"; do
      if [[ $target == haproxy ]]; then
        line="$(run haproxy "$HAPROXY_PORT" "$HAPROXY_PID")"
      else
        line="$(run canarymesh "$CM_PORT" "$CM_PID")"
        kill -0 "$CM_PID" || { echo "thrift_bench: canarymesh died" >&2; exit 1; }
      fi
      echo "round $round $line"
      echo "$line" >>"$work/results"
    done
    h=$(grep '^haproxy' "$work/results" | tail -1)
    c=$(grep '^canarymesh' "$work/results" | tail -1)
    awk -v c="$(field "$c" calls_per_s)" -v h="$(field "$h" calls_per_s)" -v r="$round" \
      'BEGIN { printf "round %d ratio canarymesh/haproxy calls/s = %.2f\n", r, c / h }'
  done
  median_of() { grep "^$1" "$work/results" | while read -r l; do field "$l" "$2"; done | median; }
  hr=$(median_of haproxy calls_per_s) cr=$(median_of canarymesh calls_per_s)
  hp=$(median_of haproxy p99_us) cp=$(median_of canarymesh p99_us)
  hc=$(median_of haproxy proxy_cpu_us_per_call) cc=$(median_of canarymesh proxy_cpu_us_per_call)
  echo "median over $ROUNDS round(s): haproxy calls_per_s=$hr p99_us=$hp cpu_us_per_call=$hc;" \
    "canarymesh calls_per_s=$cr p99_us=$cp cpu_us_per_call=$cc"
  awk -v c="$cr" -v h="$hr" -v cp="$cp" -v hp="$hp" \
    'BEGIN { printf "ratio canarymesh/haproxy calls/s = %.2f; p99 canarymesh %d us vs haproxy %d us\n", c / h, cp, hp }'
done
