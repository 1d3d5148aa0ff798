#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine (run as root, or as a user with sudo):
#   1. installs the Debian packages (deploy/install-deps.sh),
#   2. builds canarymesh in Release mode into build/,
#   3. starts a local ZooKeeper, a `canarymesh proxy` sidecar and a `canarymesh bridge` with the
#      local backend, which starts the sample service `demo` at v1 (2 instances),
#   4. sends steady traffic through the sidecar,
#   5. rolls out a good v2 (promoted), printing stages and verdicts as they happen
#      (`canarymesh rollout start --wait`),
#   6. rolls out a bad v3 that fails 30% of its requests (rolled back), then counts the requests
#      lost during both rollouts (none).
# Everything runs on free loopback ports and stops when the script exits (also on Ctrl-C).
#
# Environment: SKIP_DEPS=1 skips step 1, SKIP_BUILD=1 skips step 2, BUILD_DIR (default build),
# RATE (requests per second of the traffic generator, default 300), HOLD=1 keeps everything
# running at the end until Ctrl-C so you can try `canarymesh rollout` yourself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
RATE="${RATE:-300}"

stage() { printf '\n==== %s\n' "$*"; }
die() { echo "quickstart: $*" >&2; exit 1; }

if [[ -r /etc/os-release ]] && ! grep -q '^VERSION_ID="12"' /etc/os-release; then
  echo "quickstart: note: written for Debian 12; this is $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')"
fi

stage "[1/6] Installing Debian packages (deploy/install-deps.sh)"
if [[ ${SKIP_DEPS:-0} == 1 ]]; then echo "skipped (SKIP_DEPS=1)"; else ./deploy/install-deps.sh; fi

stage "[2/6] Building canarymesh (Release) into $BUILD_DIR/"
if [[ ${SKIP_BUILD:-0} == 1 ]]; then
  echo "skipped (SKIP_BUILD=1)"
else
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release || die "cmake configure failed (see above)"
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target canarymesh canarymesh-sample ||
    die "build failed (see the compiler errors above)"
fi
CANARYMESH="$(cd "$BUILD_DIR" && pwd)/canarymesh"
SAMPLE="$(cd "$BUILD_DIR" && pwd)/canarymesh-sample"
[[ -x $CANARYMESH ]] || die "$CANARYMESH is missing: the build did not produce it"
[[ -x $SAMPLE ]] || die "$SAMPLE is missing: the build did not produce it"

WORK="$(mktemp -d /tmp/canarymesh-quickstart.XXXXXX)"
PIDS=()
BRIDGE_PID=""

# The bridge's local backend runs the demo's instances (and their `canarymesh announce`
# companions) in their own sessions, so that they outlive a restart of the bridge. The quick
# start stops the bridge first (else its supervisor would restart what is stopped), then every
# process the backend's state file records.
stop_bridge_and_its_instances() {
  local state="$WORK/bridge-state/local-backend.json" pids pid
  if [[ -n $BRIDGE_PID ]]; then
    kill -TERM "$BRIDGE_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$BRIDGE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BRIDGE_PID" 2>/dev/null || true
  fi
  [[ -r $state ]] || return 0
  pids=$(python3 -c '
import json, sys
def walk(x):
    if isinstance(x, dict):
        if "pid" in x and "start_ticks" in x and x["pid"] > 0: print(x["pid"])
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(json.load(open(sys.argv[1])))' "$state" 2>/dev/null || true)
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $pids; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ -z $pids ]] || echo "stopped $(wc -w <<<"$pids") processes of the local backend"
}

# Stops every process the demo started (by pid) and removes its scratch directory.
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_bridge_and_its_instances
  if ((${#PIDS[@]})); then
    stage "Stopping the demo"
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
    echo "stopped ${#PIDS[@]} processes"
  fi
  if ((rc != 0 && rc != 130 && rc != 143)) && [[ -d $WORK ]]; then
    for log in "$WORK"/*.log; do
      [[ -s $log ]] && { echo "--- ${log##*/} (last lines)"; tail -5 "$log"; }
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

source "$ROOT/deploy/lib/free_ports.sh"  # free_ports N

# wait_200 NAME PID URL [SECONDS]: waits (default 10 s) for URL to answer 200 while PID lives.
wait_200() {
  local name=$1 pid=$2 url=$3
  for _ in $(seq $((${4:-10} * 10))); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (log: $(tail -3 "$WORK/$name.log"))"
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  die "$name did not answer 200 at $url"
}

read -r ZK_PORT PROXY_PORT ADMIN_PORT BRIDGE_PORT <<<"$(free_ports 4)"
# The demo's instances get their ports from a range the bridge's local backend hands out.
INSTANCE_PORTS="$(python3 -c '
import socket
for base in range(32000, 60000, 100):
    socks = [socket.socket() for _ in range(20)]
    try:
        for i, s in enumerate(socks): s.bind(("127.0.0.1", base + i))
        print(f"{base}-{base + 19}")
        break
    except OSError:
        pass
    finally:
        for s in socks: s.close()')"
TOKEN="quickstart-$RANDOM$RANDOM"
export CANARYMESH_BRIDGE="http://127.0.0.1:$BRIDGE_PORT" CANARYMESH_BRIDGE_TOKEN="$TOKEN"

stage "[3/6] Starting ZooKeeper, the sidecar and the bridge (local backend)"
mkdir -p "$WORK/zk/data"
cat >"$WORK/zk/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$WORK/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr
CFG
ZK_JAR=/usr/share/java/zookeeper.jar
[[ -r $ZK_JAR ]] || die "$ZK_JAR is missing: install Debian's zookeeper package (deploy/install-deps.sh)"
java -Xmx256m -XX:+UseSerialGC -Dzookeeper.admin.enableServer=false \
  -cp "$WORK/zk:$ZK_JAR:/usr/share/java/slf4j-simple.jar" \
  org.apache.zookeeper.server.ZooKeeperServerMain "$WORK/zk/zoo.cfg" >"$WORK/zookeeper.log" 2>&1 &
PIDS+=($!)
ZK_PID=$!
zk_ok=0
for _ in $(seq 300); do
  kill -0 "$ZK_PID" 2>/dev/null || die "ZooKeeper exited during start-up"
  if [[ $( (exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" && printf ruok >&3 && cat <&3) 2>/dev/null || true) == imok ]]; then
    zk_ok=1
    break
  fi
  sleep 0.1
done
((zk_ok)) || die "ZooKeeper did not answer on 127.0.0.1:$ZK_PORT"
echo "ZooKeeper on 127.0.0.1:$ZK_PORT, pid $ZK_PID"

cat >"$WORK/proxy.yaml" <<CFG
# Generated by deploy/quickstart.sh; deploy/examples/proxy.yaml documents every field.
workers: 1
admin: {listen: "127.0.0.1:$ADMIN_PORT"}
listeners:
  - {name: edge, listen: "127.0.0.1:$PROXY_PORT"}
# Route policies come from /canarymesh/routes/<service>; the sidecar announces its admin
# endpoint under /canarymesh/sidecars so that the bridge can read its per-version counts.
zookeeper: {connect: "127.0.0.1:$ZK_PORT"}
services:
  - {name: demo, hosts: [demo], serverset: {path: /discovery/demo}}
CFG
"$CANARYMESH" proxy --config "$WORK/proxy.yaml" >"$WORK/sidecar.log" 2>&1 &
PIDS+=($!)
PROXY_PID=$!
wait_200 sidecar "$PROXY_PID" "http://127.0.0.1:$ADMIN_PORT/ready" 30
echo "sidecar on 127.0.0.1:$PROXY_PORT (admin 127.0.0.1:$ADMIN_PORT), pid $PROXY_PID"

cat >"$WORK/bridge.yaml" <<CFG
# Generated by deploy/quickstart.sh; deploy/examples/bridge.yaml documents every field.
listen: "127.0.0.1:$BRIDGE_PORT"
token: "$TOKEN"
zookeeper: {connect: "127.0.0.1:$ZK_PORT", session_timeout_ms: 4000}
proxy: "127.0.0.1:$PROXY_PORT"
tick_interval_ms: 500
rollout: {drain_ms: 1500}
backend:
  kind: local
  local: {state_dir: "$WORK/bridge-state", port_range: "$INSTANCE_PORTS", drain_delay_ms: 500}
services:
  - name: demo
    serverset_path: /discovery/demo
    stable_version: v1
    instances: 2
    artifact: "$SAMPLE --listen 127.0.0.1:{port} --service demo --version {version} --instance {version}-{instance}"
    health: {path: /health, interval_ms: 500, grace_period_ms: 10000}
    stop_grace_period_ms: 3000
    steps: [10, 50]
    step_timeout_ms: 120000
CFG
"$CANARYMESH" bridge --config "$WORK/bridge.yaml" >"$WORK/bridge.log" 2>&1 &
PIDS+=($!)
BRIDGE_PID=$!
wait_200 bridge "$BRIDGE_PID" "http://127.0.0.1:$BRIDGE_PORT/health" 30
echo "bridge on 127.0.0.1:$BRIDGE_PORT, pid $BRIDGE_PID (state in $WORK/bridge-state)"
echo "waiting for the bridge to start demo v1 (2 instances) and the sidecar to route to it ..."
routed=0
for _ in $(seq 600); do
  kill -0 "$BRIDGE_PID" 2>/dev/null || die "the bridge exited (log: $(tail -3 "$WORK/bridge.log"))"
  if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H 'Host: demo' "http://127.0.0.1:$PROXY_PORT/" || true) == 200 ]]; then
    routed=1
    break
  fi
  sleep 0.1
done
((routed)) || die "demo v1 did not become reachable through the sidecar"
echo "one answer: $(curl -s -H 'Host: demo' "http://127.0.0.1:$PROXY_PORT/")"

stage "[4/6] Generating traffic: $RATE requests/s through the sidecar (Host: demo)"
# A small keep-alive load generator; on SIGTERM it prints how every request ended.
cat >"$WORK/traffic.py" <<'PY'
import collections, http.client, json, signal, sys, threading, time
port, rate = int(sys.argv[1]), float(sys.argv[2])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
counts = collections.Counter()
lock = threading.Lock()
def worker(share):
    conn, next_at = None, time.monotonic()
    while not stop.is_set():
        next_at += 1.0 / share
        time.sleep(max(0.0, next_at - time.monotonic()))
        try:
            conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/", headers={"Host": "demo"})
            resp = conn.getresponse()
            resp.read()
            version = resp.getheader("x-served-by-version")
            # The sample's answers (2xx, or its deliberate 500s) name their version; any other
            # answer came from the sidecar itself: a lost request.
            key = f"{version} {resp.status}" if version else f"lost {resp.status}"
        except (OSError, http.client.HTTPException) as e:
            conn, key = None, f"lost {type(e).__name__}"
        with lock:
            counts[key] += 1
threads = [threading.Thread(target=worker, args=(rate / 4,), daemon=True) for _ in range(4)]
for t in threads: t.start()
while not stop.is_set(): stop.wait(0.2)
for t in threads: t.join(timeout=15)
print(json.dumps(dict(counts)))
PY
python3 "$WORK/traffic.py" "$PROXY_PORT" "$RATE" >"$WORK/traffic.out" 2>"$WORK/traffic.log" &
PIDS+=($!)
TRAFFIC_PID=$!
sleep 2

rollout() {  # rollout VERSION [more `rollout start` options]: starts it and follows it
  local version=$1
  shift
  echo "\$ canarymesh rollout start --service demo --version $version${*:+ $*} --wait"
  "$CANARYMESH" rollout start --service demo --version "$version" "$@" --wait
}

stage "[5/6] Rolling out a good v2: test at weight 0 -> canary 10% -> 50% -> promote"
rollout v2 || die "the good rollout of v2 was not promoted"

stage "[6/6] Rolling out a bad v3 that fails 30% of its requests"
set +e
rollout v3 --artifact "$SAMPLE --listen 127.0.0.1:{port} --service demo --version {version} --instance {version}-{instance} --error-rate 0.3"
bad_rc=$?
set -e
((bad_rc == 1)) || die "the bad rollout of v3 should have been rolled back (exit 1), got exit $bad_rc"
echo "(exit code $bad_rc: a CI job gating on 'rollout start --wait' stops here)"

echo
echo "\$ canarymesh rollout status"
"$CANARYMESH" rollout status
echo
echo "bridge metrics (curl http://127.0.0.1:$BRIDGE_PORT/metrics, non-zero lines):"
curl -s "http://127.0.0.1:$BRIDGE_PORT/metrics" | grep -E '^canarymesh_bridge_(rollouts|verdicts_total|leader)' |
  grep -v ' 0$' | sed 's/^/    /'

sleep 2
kill -TERM "$TRAFFIC_PID"
wait "$TRAFFIC_PID" || true
echo
echo "traffic during both rollouts, by answering version and status:"
traffic_ok=0
python3 - "$WORK/traffic.out" <<'PY' || traffic_ok=1
import json, sys
counts = json.load(open(sys.argv[1]))
for key in sorted(counts):
    print(f"    {key:<28} {counts[key]:>7}")
lost = sum(n for k, n in counts.items() if k.startswith("lost"))
print(f"    sent {sum(counts.values())}, lost {lost}")
sys.exit(1 if lost else 0)
PY

if [[ ${HOLD:-0} == 1 ]]; then
  stage "Running; press Ctrl-C to stop everything"
  echo "try: CANARYMESH_BRIDGE=$CANARYMESH_BRIDGE CANARYMESH_BRIDGE_TOKEN=$TOKEN $CANARYMESH rollout status"
  while kill -0 "$BRIDGE_PID" 2>/dev/null; do sleep 1; done
  die "the bridge exited"
fi
((traffic_ok == 0)) || die "requests were lost during the rollouts"
echo
echo "quickstart: OK. Next: deploy/examples/bridge.yaml documents every bridge field."
