#!/usr/bin/env bash
# Chaos check: canarymesh keeps serving while its backends die and come back, and recovers
# without a restart. Two canarymesh-sample instances (v1) sit behind canarymesh; wrk loads the
# proxy for ~20 s while the script kills one instance, then the other, then restarts both.
# A curl probe every 100 ms and a wrk Lua hook that counts answers per second record when each
# error happened. wrk's socket errors are reported but not judged (wrk cannot say when they
# happened).
#
# Pass (exit 0) only if all of these hold; no throughput threshold is involved:
#   1. the proxy process is alive at the end (same pid);
#   2. no non-2xx answer, from wrk or the probe, while at least one instance was live, except
#      within GRACE seconds after a kill (an in-flight request can die with its instance);
#   3. the probe did fail while no instance was live (proves the kill took effect);
#   4. after the restart a request through the proxy answers 200 within RECOVERY_TIMEOUT
#      seconds, and both instances serve again;
#   5. at the end the proxy exits with status 0 within 10 s of SIGTERM.
# Exit 1 = a criterion failed, 2 = cannot run (missing binary or tool).
#
# Environment: BUILD_DIR (default build), CANARYMESH (default $BUILD_DIR/canarymesh),
# SAMPLE (default $BUILD_DIR/canarymesh-sample), WORKERS=2, CONNECTIONS=10, GRACE=1,
# RECOVERY_TIMEOUT=10, KEEP_LOGS=1 keeps the scratch directory for a post-mortem.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CANARYMESH="${CANARYMESH:-$BUILD_DIR/canarymesh}"
SAMPLE="${SAMPLE:-$BUILD_DIR/canarymesh-sample}"
WORKERS="${WORKERS:-2}"
CONNECTIONS="${CONNECTIONS:-10}"
GRACE="${GRACE:-1}"
RECOVERY_TIMEOUT="${RECOVERY_TIMEOUT:-10}"
# Timeline in seconds from the start of the load.
T_KILL_ONE=4
T_KILL_BOTH=9
T_RESTART=13
LOAD_SECONDS=20

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "http_chaos: '$tool' not found (run deploy/install-deps.sh)" >&2; exit 2; }
done
for bin in "$CANARYMESH" "$SAMPLE"; do
  [[ -x $bin ]] || { echo "http_chaos: $bin not found; build first" >&2; exit 2; }
done

WORK="$(mktemp -d /tmp/canarymesh-chaos.XXXXXX)"
PIDS=()  # every background process this script started
declare -A PID=()  # instance name -> pid

# Stops every process this script started (by pid) and removes the scratch directory.
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${KEEP_LOGS:-0} == 1 ]]; then echo "http_chaos: logs kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

source "$ROOT/deploy/lib/free_ports.sh"  # free_ports N

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_200 PID URL SECONDS: true once URL answers 200 (while PID lives).
wait_200() {
  local pid=$1 url=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

start_instance() {  # start_instance a|b PORT
  "$SAMPLE" --listen "127.0.0.1:$2" --version v1 --service chaos --instance "$1" >>"$WORK/sample-$1.log" 2>&1 &
  PIDS+=($!)
  PID[$1]=$!
  wait_200 "$!" "http://127.0.0.1:$2/health" 5 || { echo "http_chaos: instance $1 did not start" >&2; exit 2; }
}

read -r PORT_A PORT_B PROXY_PORT ADMIN_PORT <<<"$(free_ports 4)"
URL="http://127.0.0.1:$PROXY_PORT/chaos"

cat >"$WORK/proxy.yaml" <<EOF
workers: $WORKERS
log_level: warn
admin: {listen: "127.0.0.1:$ADMIN_PORT"}
listeners:
  - {name: edge, listen: "127.0.0.1:$PROXY_PORT"}
timeouts: {connect_ms: 500, request_ms: 2000}
outlier: {consecutive_failures: 5, base_ejection_ms: 1000, max_ejection_ms: 2000}
services:
  - name: chaos
    hosts: [chaos, "127.0.0.1"]
    versions:
      v1: ["127.0.0.1:$PORT_A", "127.0.0.1:$PORT_B"]
EOF

# Counts answers per wall-clock second in each wrk thread; done() prints them for the analysis.
cat >"$WORK/buckets.lua" <<'EOF'
totals, errors = {}, {}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  local s = os.time()
  totals[s] = (totals[s] or 0) + 1
  if status < 200 or status > 299 then errors[s] = (errors[s] or 0) + 1 end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local tot, err = t:get("totals"), t:get("errors")
    for s, n in pairs(tot) do print(string.format("bucket %d %d %d", s, n, err[s] or 0)) end
  end
end
EOF

echo "== starting two v1 instances and canarymesh ($WORKERS workers)"
start_instance a "$PORT_A"
start_instance b "$PORT_B"
"$CANARYMESH" proxy --config "$WORK/proxy.yaml" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
if ! wait_200 "$PROXY_PID" "http://127.0.0.1:$ADMIN_PORT/ready" 10 || ! wait_200 "$PROXY_PID" "$URL" 5; then
  echo "http_chaos: canarymesh did not become ready; its log:" >&2
  tail -20 "$WORK/proxy.log" >&2
  exit 2
fi
echo "proxy pid $PROXY_PID on :$PROXY_PORT, instances a=:$PORT_A b=:$PORT_B"

echo "== load: wrk -t1 -c$CONNECTIONS -d${LOAD_SECONDS}s, probe every 100 ms"
T0=$(now)
wrk -t1 -c"$CONNECTIONS" -d"${LOAD_SECONDS}s" --timeout 2s -s "$WORK/buckets.lua" "$URL" >"$WORK/wrk.txt" 2>&1 &
WRK_PID=$!
PIDS+=("$WRK_PID")
(
  while [[ ! -e $WORK/stop-probe ]]; do
    sent=$EPOCHREALTIME
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL" || true)
    echo "$sent $EPOCHREALTIME ${code:-000}"
    sleep 0.1
  done
) >"$WORK/probes.txt" &
PROBE_PID=$!
PIDS+=("$PROBE_PID")

sleep_until() { local t; t=$(awk -v t0="$T0" -v d="$1" -v n="$(now)" 'BEGIN { s = t0 + d - n; printf "%.3f", (s > 0 ? s : 0) }'); sleep "$t"; }

sleep_until "$T_KILL_ONE"
T_KILL_A=$(now)
kill -KILL "${PID[a]}"; wait "${PID[a]}" 2>/dev/null || true
echo "t=$(elapsed "$T0")s killed instance a (SIGKILL); b still live"

sleep_until "$T_KILL_BOTH"
T_KILL_B=$(now)
kill -KILL "${PID[b]}"; wait "${PID[b]}" 2>/dev/null || true
echo "t=$(elapsed "$T0")s killed instance b (SIGKILL); no instance live"

sleep_until "$T_RESTART"
T_RESTART_AT=$(now)
start_instance a "$PORT_A"
start_instance b "$PORT_B"
T_LIVE_AGAIN=$(now)
echo "t=$(elapsed "$T0")s restarted both instances (same ports)"

# Recovery: the first 200 through the proxy after the instances are back.
T_RECOVERED=""
deadline=$((SECONDS + RECOVERY_TIMEOUT))
while ((SECONDS < deadline)); do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL" || true) == 200 ]]; then
    T_RECOVERED=$(now)
    break
  fi
  sleep 0.05
done
if [[ -n $T_RECOVERED ]]; then
  echo "t=$(elapsed "$T0")s first 200 through the proxy after the restart"
fi

wait "$WRK_PID" || true
T_END=$(now)
touch "$WORK/stop-probe"
wait "$PROBE_PID" || true

# After the load: both instances must serve again (no instance left ejected for good).
declare -A served=()
final_ok=0
if [[ -n $T_RECOVERED ]]; then
  deadline=$((SECONDS + RECOVERY_TIMEOUT))
  while ((SECONDS < deadline)); do
    body=$(curl -s --max-time 2 "$URL" || true)
    if [[ $body =~ \"instance\":\"([ab])\" ]]; then
      served[${BASH_REMATCH[1]}]=1
      final_ok=$((final_ok + 1))
    fi
    [[ -n ${served[a]:-} && -n ${served[b]:-} && $final_ok -ge 10 ]] && break
    sleep 0.05
  done
fi

proxy_alive=0
kill -0 "$PROXY_PID" 2>/dev/null && proxy_alive=1
# The proxy's own account of the run, shown if a criterion fails.
curl -s --max-time 2 "http://127.0.0.1:$ADMIN_PORT/metrics" |
  grep -E '^canarymesh_(retries|retry_budget|outlier|local_responses|upstream_connect)' \
    >"$WORK/metrics.txt" || true

# A clean shutdown is part of surviving: SIGTERM must end the proxy with status 0 (under
# AddressSanitizer this also catches leaks and late memory errors).
proxy_exit="not stopped"
if ((proxy_alive)); then
  kill -TERM "$PROXY_PID"
  for _ in $(seq 100); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PROXY_PID" 2>/dev/null; then
    proxy_exit="still running 10 s after SIGTERM"
  else
    proxy_exit=0
    wait "$PROXY_PID" || proxy_exit=$?
  fi
fi

echo "== analysis"
grep -E "requests in|Socket errors|Non-2xx|Requests/sec" "$WORK/wrk.txt" | sed 's/^ */wrk: /' || true
set +e
python3 - "$WORK/wrk.txt" "$WORK/probes.txt" "$T0" "$T_KILL_A" "$T_KILL_B" "$T_RESTART_AT" \
  "${T_RECOVERED:-0}" "$T_END" "$GRACE" <<'EOF'
import sys

wrk_file, probe_file = sys.argv[1], sys.argv[2]
t0, kill_a, kill_b, restart, recovered, end, grace = map(float, sys.argv[3:10])
if recovered == 0:
    recovered = end  # never recovered: the whole tail is "recovering"

# Windows where every answer must be 2xx: at least one instance live, not just after a kill,
# and (after the restart) only once the proxy has served its first 200 again.
windows = [("both live", t0, kill_a), ("one live", kill_a + grace, kill_b),
           ("recovered", recovered + grace, end),
           # where every probe must fail:
           ("no instance live", kill_b + grace, restart)]
strict_names = {"both live", "one live", "recovered"}
# wrk stamps answers with os.time(), a coarse clock that may lag the shell's by a few
# milliseconds: a one-second bucket belongs to a window only with this much room either side.
BUCKET_MARGIN = 0.25


def classify(start, stop):
    """The window holding all of [start, stop], or the tolerated transitions."""
    for name, lo, hi in windows:
        if lo <= start and stop <= hi:
            return name
    return "transitions (tolerated)"



failures = []
buckets = []
for line in open(wrk_file):
    f = line.split()
    if len(f) == 4 and f[0] == "bucket":
        buckets.append((int(f[1]), int(f[2]), int(f[3])))
rows = {name: [0, 0] for name, _, _ in windows}
rows["transitions (tolerated)"] = [0, 0]
for sec, total, errors in sorted(buckets):
    where = classify(sec - BUCKET_MARGIN, sec + 1 + BUCKET_MARGIN)
    rows[where][0] += total
    rows[where][1] += errors
    if where in strict_names and errors:
        failures.append(f"wrk: {errors} non-2xx between t={sec - t0:.2f}s and t={sec + 1 - t0:.2f}s"
                        f" ({where})")

probes = {name: [0, 0] for name in rows}
for line in open(probe_file):
    f = line.split()
    if len(f) != 3:
        continue
    sent, done, ok = float(f[0]), float(f[1]), f[2].startswith("2")
    where = classify(sent, done)
    probes[where][0] += 1
    probes[where][1] += 0 if ok else 1
    span = f"t={sent - t0:.3f}..{done - t0:.3f}s"
    if where in strict_names and not ok:
        failures.append(f"probe: status {f[2]} at {span} ({where})")
    if where == "no instance live" and ok:
        failures.append(f"probe: status {f[2]} at {span} while no instance was live")

print(f"{'window':<26}{'wrk answers':>12}{'wrk non-2xx':>12}{'probes':>8}{'probe fails':>12}")
for name in rows:
    print(f"{name:<26}{rows[name][0]:>12}{rows[name][1]:>12}{probes[name][0]:>8}{probes[name][1]:>12}")
if probes["no instance live"][0] == 0:
    failures.append("no probe ran while no instance was live")
elif probes["no instance live"][1] == 0:
    failures.append("probes did not fail while no instance was live: were the instances killed?")
if failures:
    print(f"timeline: kill a t={kill_a - t0:.3f}s, kill b t={kill_b - t0:.3f}s, restart "
          f"t={restart - t0:.3f}s, first 200 t={recovered - t0:.3f}s, end t={end - t0:.3f}s")
for f in failures[:20]:
    print("FAIL " + f)
if len(failures) > 20:
    print(f"FAIL ... and {len(failures) - 20} more")
sys.exit(1 if failures else 0)
EOF
analysis_rc=$?
set -e

echo "== verdict"
rc=0
if ((proxy_alive)); then echo "ok   proxy alive after the run (pid $PROXY_PID, never restarted)"
else echo "FAIL proxy died (pid $PROXY_PID); log tail:"; tail -20 "$WORK/proxy.log"; rc=1; fi
if [[ $proxy_exit == 0 ]]; then echo "ok   proxy exited with status 0 on SIGTERM"
else echo "FAIL proxy on SIGTERM: $proxy_exit; log tail:"; tail -20 "$WORK/proxy.log"; rc=1; fi
if ((analysis_rc == 0)); then echo "ok   errors only where no instance was live (or within ${GRACE}s of a kill)"
else echo "FAIL errors outside the no-instance window (see above)"; rc=1; fi
if [[ -n $T_RECOVERED ]]; then
  echo "ok   recovered $(awk -v a="$T_LIVE_AGAIN" -v b="$T_RECOVERED" 'BEGIN { printf "%.2f", b - a }')s after the instances came back, without restarting the proxy"
else echo "FAIL no 200 through the proxy within ${RECOVERY_TIMEOUT}s of the restart"; rc=1; fi
if [[ -n ${served[a]:-} && -n ${served[b]:-} ]]; then echo "ok   both instances serve again after the restart"
else echo "FAIL after the restart only instance(s) '${!served[*]}' served"; rc=1; fi
if ((rc == 0)); then
  echo "PASS"
else
  echo "proxy counters at the end:"
  sed 's/^/  /' "$WORK/metrics.txt"
  echo "CHAOS TEST FAILED"
fi
exit "$rc"
