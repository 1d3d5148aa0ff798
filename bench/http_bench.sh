#!/usr/bin/env bash
# Compares canarymesh with HAProxy and nginx as HTTP/1.1 reverse proxies. One nginx backend
# (1 worker, fixed 200 "ok\n", keep-alive) serves every target; wrk applies the same load to
# (1) the backend directly, (2) HAProxy in http mode, (3) nginx as a reverse proxy and
# (4) canarymesh with one service whose two versions both point at the backend. Rounds are
# interleaved (each round runs all targets in turn) and the table shows medians over rounds.
#
# Usage: bench/http_bench.sh            (from anywhere; needs nginx, haproxy, wrk, curl, python3)
# Environment:
#   ROUNDS=3          rounds; each runs every target once
#   DURATION=10s      wrk -d per run
#   CONNECTIONS=50    wrk -c
#   THREADS=1         wrk -t (load generator threads)
#   PROXY_THREADS=1   N: HAProxy nbthread, nginx worker_processes, canarymesh workers
#   WARMUP=2s         one unmeasured wrk run per target before the rounds
#   CANARYMESH=build/canarymesh   proxy binary; skipped with a warning if missing
#   TARGETS="direct haproxy nginx canarymesh"   subset to run
#   CANARY=1          canarymesh routes with a canary policy (weights v1:95 v2:5, sticky on the
#                     x-user-id header) and every target gets that header from wrk
# Writes bench/results/http-<UTC date>.tsv (the directory ignores itself in git).
# Exits non-zero if a target does not answer 200 or canarymesh dies during the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-50}"
THREADS="${THREADS:-1}"
PROXY_THREADS="${PROXY_THREADS:-1}"
WARMUP="${WARMUP:-2s}"
CANARYMESH="${CANARYMESH:-$ROOT/build/canarymesh}"
TARGETS="${TARGETS:-direct haproxy nginx canarymesh}"
CANARY="${CANARY:-0}"
WRK_EXTRA=()
if [[ $CANARY == 1 ]]; then WRK_EXTRA=(-H "x-user-id: user-4711"); fi

for tool in nginx haproxy wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "http_bench: '$tool' not found (run deploy/install-deps.sh)" >&2; exit 2; }
done

WORK="$(mktemp -d /tmp/canarymesh-bench.XXXXXX)"
PIDS=()
declare -A PID=()  # server name -> pid
WRK_PID=""
failed=0

# Stops every process this script started (by pid), then removes the scratch directory.
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in $WRK_PID "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $WRK_PID "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

source "$ROOT/deploy/lib/free_ports.sh"  # free_ports N

# start NAME CMD...: runs CMD in the background with output in $WORK/NAME.log.
start() {
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  PID[$name]=$!
}

# wait_200 NAME PID URL: waits up to 10 s for URL to answer 200 while PID is alive.
wait_200() {
  local name=$1 pid=$2 url=$3 code
  for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "http_bench: $name exited during start-up; its log:" >&2
      tail -20 "$WORK/$name.log" >&2
      return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
    [[ $code == 200 ]] && return 0
    sleep 0.1
  done
  echo "http_bench: $name did not answer 200 at $url (last status '$code')" >&2
  tail -20 "$WORK/$name.log" >&2
  return 1
}

# nginx refuses to start if its compiled-in temp paths are missing; keep them all in $WORK.
nginx_temp_paths() {
  local dir=$1 kind
  local built
  built="$(nginx -V 2>&1)"
  echo "client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;"
  for kind in fastcgi uwsgi scgi; do
    [[ $built == *"--without-http_${kind}_module"* ]] || echo "${kind}_temp_path $dir/$kind;"
  done
}

# Memory of a process tree: the sum of VmHWM (peak RSS) over PID and its children, in KiB.
tree_hwm_kb() {
  local pid=$1 total=0 p v
  for p in "$pid" $(pgrep -P "$pid" || true); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# CPU ticks (user + system) a process and its children (nginx's workers) have used so far.
tree_cpu_ticks() {
  local pid=$1 total=0 p v
  for p in "$pid" $(pgrep -P "$pid" || true); do
    v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# Runs wrk in the background and waits for it: unlike a foreground child, `wait` lets the INT
# and TERM traps fire at once (wrk itself treats SIGINT as "stop and print results").
run_wrk() {
  wrk "$@" &
  WRK_PID=$!
  wait "$WRK_PID"
  WRK_PID=""
}

read -r BACKEND_PORT HAPROXY_PORT NGINX_PORT CM_PORT CM_ADMIN_PORT <<<"$(free_ports 5)"

# ---- backend: nginx, 1 worker, fixed body ----
mkdir -p "$WORK/backend" "$WORK/nginx-proxy"
cat >"$WORK/backend/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/backend/nginx.pid;
error_log $WORK/backend/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  $(nginx_temp_paths "$WORK/backend")
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location / { return 200 "ok\n"; }
  }
}
EOF

# ---- HAProxy 2.6, http mode, keep-alive and connection reuse to the backend ----
cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread $PROXY_THREADS
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend edge
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend demo
backend demo
  server b1 127.0.0.1:$BACKEND_PORT
EOF

# ---- nginx as reverse proxy, upstream keep-alive ----
cat >"$WORK/nginx-proxy/nginx.conf" <<EOF
worker_processes $PROXY_THREADS;
pid $WORK/nginx-proxy/nginx.pid;
error_log $WORK/nginx-proxy/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  $(nginx_temp_paths "$WORK/nginx-proxy")
  upstream demo {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://demo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF

# ---- canarymesh: one service, two versions on the same backend (per-version metrics on) ----
cat >"$WORK/canarymesh.yaml" <<EOF
workers: $PROXY_THREADS
log_level: warn
admin: {listen: "127.0.0.1:$CM_ADMIN_PORT"}
listeners:
  - {name: edge, listen: "127.0.0.1:$CM_PORT"}
services:
  - name: bench
    hosts: [bench, "127.0.0.1"]
    versions:
      v1: ["127.0.0.1:$BACKEND_PORT"]
      v2: ["127.0.0.1:$BACKEND_PORT"]
EOF
if [[ $CANARY == 1 ]]; then
  echo '    route: {weights: {v1: 95, v2: 5}, sticky_header: x-user-id}' >>"$WORK/canarymesh.yaml"
fi

declare -A URL=(
  [direct]="http://127.0.0.1:$BACKEND_PORT/"
  [haproxy]="http://127.0.0.1:$HAPROXY_PORT/"
  [nginx]="http://127.0.0.1:$NGINX_PORT/"
  [canarymesh]="http://127.0.0.1:$CM_PORT/"
)
# Target -> the server process whose CPU time is the proxy's (none for the backend alone).
declare -A PROXY_OF=([haproxy]=haproxy [nginx]=nginx-proxy [canarymesh]=canarymesh)

echo "== starting servers (work dir $WORK)"
start backend nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" -e "$WORK/backend/error.log" -g 'daemon off;'
wait_200 backend "${PID[backend]}" "${URL[direct]}"

active=()
for t in $TARGETS; do
  case $t in
    direct) active+=(direct) ;;
    haproxy)
      start haproxy haproxy -f "$WORK/haproxy.cfg" -db
      if wait_200 haproxy "${PID[haproxy]}" "${URL[haproxy]}"; then active+=(haproxy); else failed=1; fi ;;
    nginx)
      start nginx-proxy nginx -c "$WORK/nginx-proxy/nginx.conf" -p "$WORK/nginx-proxy" \
        -e "$WORK/nginx-proxy/error.log" -g 'daemon off;'
      if wait_200 nginx-proxy "${PID[nginx-proxy]}" "${URL[nginx]}"; then active+=(nginx); else failed=1; fi ;;
    canarymesh)
      if [[ ! -x $CANARYMESH ]]; then
        echo "http_bench: WARNING: $CANARYMESH not found; canarymesh skipped" >&2
        failed=1
        continue
      fi
      start canarymesh "$CANARYMESH" proxy --config "$WORK/canarymesh.yaml"
      if wait_200 canarymesh "${PID[canarymesh]}" "http://127.0.0.1:$CM_ADMIN_PORT/ready" &&
         wait_200 canarymesh "${PID[canarymesh]}" "${URL[canarymesh]}"; then
        active+=(canarymesh)
      else
        failed=1
      fi ;;
    *) echo "http_bench: unknown target '$t'" >&2; exit 2 ;;
  esac
done
((${#active[@]})) || { echo "http_bench: no target to measure" >&2; exit 1; }

# Samples canarymesh's resident set every 200 ms; the largest sample lands in $WORK/cm-rss-max.
if [[ -n ${PID[canarymesh]:-} ]] && kill -0 "${PID[canarymesh]}" 2>/dev/null; then
  CM_RSS_IDLE=$(awk '/^VmRSS:/ {print $2}' "/proc/${PID[canarymesh]}/status")
  (
    max=0
    while kill -0 "${PID[canarymesh]}" 2>/dev/null; do
      v=$(awk '/^VmRSS:/ {print $2}' "/proc/${PID[canarymesh]}/status" 2>/dev/null || echo 0)
      if ((${v:-0} > max)); then max=$v; echo "$max" >"$WORK/cm-rss-max"; fi
      sleep 0.2
    done
  ) &
  PIDS+=($!)
fi

# parse_wrk FILE -> "req_per_s p99_ms non2xx socket_errors requests"
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /s$/) return v * 1000
      if (v ~ /m$/) return v * 60000
      return v + 0
    }
    $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(",", ""); errs = $4 + $6 + $8 + $10 }
    / requests in / { total = $1 }
    END { printf "%.2f %.3f %d %d %d\n", rps, p99, non2xx, errs, total }' "$1"
}

median() {
  sort -g | awk '{v[NR] = $1}
    END { if (NR == 0) print "nan"; else printf "%.3f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

mkdir -p "$ROOT/bench/results"
echo '*' >"$ROOT/bench/results/.gitignore"
RESULTS="$ROOT/bench/results/http-$(date -u +%Y%m%dT%H%M%SZ).tsv"
{
  echo "# canarymesh http_bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# machine: $(nproc) cpus, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r)"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# versions: $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), canarymesh $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency ${WRK_EXTRA[*]}; proxy threads $PROXY_THREADS; rounds $ROUNDS; canary policy $CANARY"
  printf "kind\ttarget\tround\treq_per_s\tp99_ms\tnon2xx\tsocket_errors\trequests\tcpu_us_per_request\n"
} >"$RESULTS"

echo "== warm-up ($WARMUP per target)"
for t in "${active[@]}"; do
  run_wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${WRK_EXTRA[@]}" "${URL[$t]}" >/dev/null
done

echo "== measuring: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS rounds, proxy threads $PROXY_THREADS"
for round in $(seq "$ROUNDS"); do
  for t in "${active[@]}"; do
    out="$WORK/wrk-$t-$round.txt"
    # The proxy's own CPU time over the run (from /proc), per request: steadier than req/s on a
    # shared machine. "-" for the backend run, which has no proxy.
    proc="${PROXY_OF[$t]:-}"
    before=0
    [[ -n $proc ]] && before=$(tree_cpu_ticks "${PID[$proc]}")
    run_wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${WRK_EXTRA[@]}" "${URL[$t]}" >"$out"
    read -r rps p99 non2xx errs total < <(parse_wrk "$out")
    cpu="-"
    if [[ -n $proc ]]; then
      cpu=$(awk -v t=$(($(tree_cpu_ticks "${PID[$proc]}") - before)) -v u="$TICK_US" -v n="$total" \
        'BEGIN { printf "%.2f", (n > 0 ? t * u / n : 0) }')
    fi
    printf "round\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n" "$t" "$round" "$rps" "$p99" "$non2xx" "$errs" "$total" "$cpu" >>"$RESULTS"
    printf "  round %d %-11s %10s req/s  p99 %8s ms  non-2xx %s  socket errors %s  proxy CPU %s us/request\n" \
      "$round" "$t" "$rps" "$p99" "$non2xx" "$errs" "$cpu"
  done
done

cm_alive="n/a"
if [[ -n ${PID[canarymesh]:-} ]]; then
  if kill -0 "${PID[canarymesh]}" 2>/dev/null; then cm_alive="yes (pid ${PID[canarymesh]})"; else cm_alive="NO: exited"; failed=1; fi
fi

declare -A MED_RPS MED_P99 SUM_NON2XX SUM_ERRS RSS MED_CPU
for t in "${active[@]}"; do
  MED_CPU[$t]=$(awk -F'\t' -v t="$t" '$1 == "round" && $2 == t && $9 != "-" {print $9}' "$RESULTS" | median)
  MED_RPS[$t]=$(awk -F'\t' -v t="$t" '$1 == "round" && $2 == t {print $4}' "$RESULTS" | median)
  MED_P99[$t]=$(awk -F'\t' -v t="$t" '$1 == "round" && $2 == t {print $5}' "$RESULTS" | median)
  SUM_NON2XX[$t]=$(awk -F'\t' -v t="$t" '$1 == "round" && $2 == t {s += $6} END {print s + 0}' "$RESULTS")
  SUM_ERRS[$t]=$(awk -F'\t' -v t="$t" '$1 == "round" && $2 == t {s += $7} END {print s + 0}' "$RESULTS")
  printf "median\t%s\t-\t%s\t%s\t%s\t%s\t-\n" "$t" "${MED_RPS[$t]}" "${MED_P99[$t]}" "${SUM_NON2XX[$t]}" "${SUM_ERRS[$t]}" >>"$RESULTS"
done
# Peak memory of each proxy (VmHWM, summed over nginx's master and workers).
[[ -n ${PID[haproxy]:-} ]] && RSS[haproxy]="$(( $(tree_hwm_kb "${PID[haproxy]}") / 1024 )) MiB"
[[ -n ${PID[nginx-proxy]:-} ]] && RSS[nginx]="$(( $(tree_hwm_kb "${PID[nginx-proxy]}") / 1024 )) MiB"
if [[ -n ${PID[canarymesh]:-} ]] && kill -0 "${PID[canarymesh]}" 2>/dev/null; then
  CM_HWM=$(awk '/^VmHWM:/ {print $2}' "/proc/${PID[canarymesh]}/status")
  CM_RSS_MAX=$(cat "$WORK/cm-rss-max" 2>/dev/null || echo 0)
  RSS[canarymesh]="$((CM_HWM / 1024)) MiB"
  {
    echo "# canarymesh memory KiB: idle VmRSS $CM_RSS_IDLE, max sampled VmRSS $CM_RSS_MAX, VmHWM $CM_HWM"
    curl -s "http://127.0.0.1:$CM_ADMIN_PORT/metrics" | grep '^canarymesh_requests_total' | sed 's/^/# /' || true
  } >>"$RESULTS"
fi

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"
echo
echo "== results: medians of $ROUNDS rounds; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; proxy threads $PROXY_THREADS; $(nproc) cpus"
printf "%-11s %12s %10s %9s %8s %12s %14s\n" target "req/s" "p99 ms" "non-2xx" "sockerr" "peak RSS" "CPU us/req"
for t in "${active[@]}"; do
  printf "%-11s %12.0f %10.3f %9s %8s %12s %14s\n" "$t" "${MED_RPS[$t]}" "${MED_P99[$t]}" "${SUM_NON2XX[$t]}" \
    "${SUM_ERRS[$t]}" "${RSS[$t]:--}" "${MED_CPU[$t]:--}"
done
if [[ -n ${MED_RPS[canarymesh]:-} && -n ${MED_RPS[haproxy]:-} ]]; then
  ratio=$(awk -v a="${MED_RPS[canarymesh]}" -v b="${MED_RPS[haproxy]}" -v c="${MED_P99[canarymesh]}" \
    -v d="${MED_P99[haproxy]}" 'BEGIN { printf "req/s %.2f, p99 %.2f", a / b, (d > 0 ? c / d : 0) }')
  echo "canarymesh / haproxy: $ratio"
  echo "# ratio canarymesh/haproxy: $ratio" >>"$RESULTS"
fi
if [[ -n ${CM_HWM:-} ]]; then
  echo "canarymesh memory: idle RSS $((CM_RSS_IDLE / 1024)) MiB, max sampled RSS $((CM_RSS_MAX / 1024)) MiB, VmHWM $((CM_HWM / 1024)) MiB"
  echo "canarymesh per-version counters:"
  grep '^# canarymesh_requests_total' "$RESULTS" | sed 's/^# /  /' || echo "  (no canarymesh_requests_total in /metrics)"
fi
echo "canarymesh alive after the run: $cm_alive"
for t in "${active[@]}"; do
  if ((SUM_NON2XX[$t] > 0)); then echo "WARNING: $t answered ${SUM_NON2XX[$t]} non-2xx responses"; failed=1; fi
done
echo "results written to ${RESULTS#"$ROOT"/}"
exit "$failed"
