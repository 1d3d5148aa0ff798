"""Automated rollouts end to end: a real ZooKeeper, a real `canarymesh proxy` sidecar, the
`canarymesh bridge` with its local backend starting real `canarymesh-sample` instances, and real
traffic through the sidecar while the rollouts run.

- a good canary is promoted, and no request is lost across the promotion;
- a bad canary (5x the baseline's error rate) is rolled back, and no request is lost;
- a failing integration check stops the rollout before any ordinary traffic reaches the new
  version: the sidecar counts exactly the check's own header requests for it;
- the bridge is SIGKILLed mid-canary and a second bridge (waiting in the election) takes over
  and finishes the rollout from the recorded stage.

"Lost" means an answer that did not come from a sample instance (the sidecar's own 5xx, or a
broken connection); the samples' deliberate 500s carry their version and count as answered."""

import collections
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import unittest

import harness

TOKEN = "rollout-e2e-token"
SERVICES = ["good", "bad", "check", "kill"]


class Traffic:
    """Keep-alive GETs through the sidecar at about `rate` per second from 4 threads, counted
    by (answering version, status) or as lost."""

    def __init__(self, port, service, rate=300):
        self.port, self.service, self.rate = port, service, rate
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(4)]
        for t in self.threads:
            t.start()

    def _run(self):
        conn, next_at, share = None, time.monotonic(), self.rate / len(self.threads)
        while not self.stop_event.is_set():
            next_at += 1.0 / share
            time.sleep(max(0.0, next_at - time.monotonic()))
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/", headers={"Host": self.service})
                resp = conn.getresponse()
                resp.read()
                version = resp.getheader("x-served-by-version")
                key = (version, resp.status) if version else ("lost", resp.status)
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                if conn is not None:
                    conn.close()
                conn, key = None, ("lost", type(e).__name__)
            with self.lock:
                self.counts[key] += 1

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=20)
        return dict(self.counts)

    def by_version(self):
        with self.lock:
            out = collections.Counter()
            for (version, _status), n in self.counts.items():
                out[version] += n
            return out


class Bridge:
    """`canarymesh bridge` with the local backend; its instances outlive it (by design), so
    stop_instances() stops them through the backend's state file."""

    def __init__(self, name, zk, proxy_port, state_dir, service, *, election="/canarymesh/bridge/leader",
                 rollouts="/canarymesh/rollouts", ports, judge=None):
        self.port = harness.free_port()
        self.state_dir = state_dir
        cfg = {
            "listen": f"127.0.0.1:{self.port}",
            "token": TOKEN,
            "zookeeper": {"connect": zk.connect, "session_timeout_ms": 4000},
            "state_path": rollouts,
            "election_path": election,
            "proxy": f"127.0.0.1:{proxy_port}",
            "tick_interval_ms": 300,
            "rollout": {"drain_ms": 1500, "ready_timeout_ms": 60000},
            "backend": {"kind": "local", "local": {"state_dir": state_dir, "port_range": ports,
                                                   "drain_delay_ms": 500}},
            "judge": judge or {},
            "services": [{
                "name": service,
                "serverset_path": f"/discovery/{service}",
                "stable_version": "v1",
                "instances": 2,
                "artifact": f"{harness.SAMPLE} --listen 127.0.0.1:{{port}} --service {service} "
                            f"--version {{version}} --instance {{version}}-{{instance}} --error-rate 0.01",
                "health": {"path": "/health", "interval_ms": 300, "grace_period_ms": 10000},
                "stop_grace_period_ms": 3000,
                "steps": [10, 50],
                "step_timeout_ms": 120000,
            }],
        }
        self.config_path = os.path.join(harness.WORKDIR, f"{name}.yaml")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        self.process = harness.ManagedProcess(name, [harness.CANARYMESH, "bridge", "--config", self.config_path])
        harness.wait_until(lambda: self._healthy(), 30, f"{name} to serve its API")

    def _healthy(self):
        if not self.process.running():
            raise AssertionError(f"bridge exited:\n{self.process.log()}")
        return harness.http_get(self.port, "/health", timeout=2).status == 200

    def api(self, method, path, body=None, token=TOKEN):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        client = harness.HttpClient(self.port, timeout=30)
        try:
            return client.request(method, path, headers=headers, body=data)
        finally:
            client.close()

    def is_leader(self):
        return self.api("GET", "/v1/leader").json()["is_leader"]

    def record(self, rollout_id):
        resp = self.api("GET", f"/v1/rollouts/{rollout_id}")
        if resp.status != 200:
            raise AssertionError(f"GET rollout {rollout_id}: {resp}")
        return resp.json()

    def cli(self, *args, timeout=300):
        """`canarymesh rollout ...` against this bridge; returns (exit code, output)."""
        env = dict(os.environ, CANARYMESH_BRIDGE=f"http://127.0.0.1:{self.port}", CANARYMESH_BRIDGE_TOKEN=TOKEN)
        done = subprocess.run([harness.CANARYMESH, "rollout", *args], env=env, capture_output=True, text=True,
                              timeout=timeout)
        return done.returncode, done.stdout + done.stderr

    def stop(self):
        self.process.stop_checked(timeout=30)

    def stop_instances(self):
        """SIGTERM, then SIGKILL, every instance and announcer the local backend recorded."""
        path = os.path.join(self.state_dir, "local-backend.json")
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            return
        pids = []

        def walk(x):
            if isinstance(x, dict):
                if "pid" in x and "start_ticks" in x and x["pid"] > 0:
                    pids.append(x["pid"])
                for v in x.values():
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)

        walk(state)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(1.0 if sig == signal.SIGTERM else 0)


def free_port_range(n=20):
    """A block of n consecutive loopback ports that were free a moment ago."""
    import socket
    for base in range(33000, 60000, 100 + os.getpid() % 50):
        socks = [socket.socket() for _ in range(n)]
        try:
            for i, s in enumerate(socks):
                s.bind(("127.0.0.1", base + i))
            return f"{base}-{base + n - 1}"
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port block")


class RolloutTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.zk = harness.ZooKeeper()
        cls.zk.start()
        cls.proxy = harness.Proxy({
            "workers": 2,
            "listeners": [{"name": "main"}],
            "zookeeper": {"connect": cls.zk.connect},
            "services": [{"name": s, "hosts": [s], "serverset": {"path": f"/discovery/{s}"}} for s in SERVICES],
        })

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.zk.close()

    def setUp(self):
        self.bridges = []
        self.traffic = None

    def tearDown(self):
        if self.traffic:
            self.traffic.stop()
        for b in self.bridges:
            if b.process.running():
                b.process.kill()
        for b in self.bridges:
            b.stop_instances()

    def start_bridge(self, service, name=None, state_dir=None, **kwargs):
        name = name or f"bridge-{service}-{len(self.bridges)}"
        state_dir = state_dir or os.path.join(harness.WORKDIR, f"state-{service}")
        bridge = Bridge(name, self.zk, self.proxy.port, state_dir, service,
                        election=f"/canarymesh/bridge/leader-{service}", rollouts=f"/canarymesh/rollouts-{service}",
                        ports=kwargs.pop("ports", None) or free_port_range(), **kwargs)
        self.bridges.append(bridge)
        return bridge

    def wait_routed(self, service, version, timeout=60):
        """Until an ordinary request to `service` is answered by `version`."""
        def answered():
            resp = harness.http_get(self.proxy.port, "/", headers={"Host": service}, timeout=5)
            return resp.status == 200 and resp.headers.get("x-served-by-version") == version
        harness.wait_until(answered, timeout, f"{service} {version} to answer through the sidecar")

    def assert_nothing_lost(self, counts):
        lost = {k: n for k, n in counts.items() if k[0] == "lost"}
        self.assertEqual(lost, {}, f"lost requests: {counts}")

    def test_good_canary_is_promoted_without_losing_requests(self):
        bridge = self.start_bridge("good")
        harness.wait_until(bridge.is_leader, 30, "the bridge to lead")
        self.wait_routed("good", "v1")
        self.traffic = Traffic(self.proxy.port, "good")
        code, out = bridge.cli("start", "--service", "good", "--version", "v2", "--wait")
        self.assertEqual(code, 0, out)
        for line in ("test_starting", "canary step 1", "canary step 2", "verdict PASS", "promoting", "promoted"):
            self.assertIn(line, out)
        time.sleep(2)  # traffic on the promoted version alone
        counts = self.traffic.stop()
        self.traffic = None
        self.assert_nothing_lost(counts)
        by_version = collections.Counter()
        for (version, _), n in counts.items():
            by_version[version] += n
        self.assertGreater(by_version["v1"], 0)
        self.assertGreater(by_version["v2"], 400)
        # The old version is gone and the sidecar routes everything to v2.
        self.assertEqual(set(self.proxy.service_instances("good")), {"v2"})
        status = bridge.api("GET", "/v1/rollouts").json()["rollouts"][0]
        self.assertEqual(status["stage"], "promoted")
        metrics = harness.parse_metrics(bridge.api("GET", "/metrics").text)
        self.assertEqual(harness.metric_sum(metrics, "canarymesh_bridge_rollouts", stage="promoted"), 1)
        self.assertEqual(harness.metric_sum(metrics, "canarymesh_bridge_verdicts_total", verdict="PASS"), 2)
        bridge.stop()

    def test_bad_canary_is_rolled_back_without_losing_requests(self):
        bridge = self.start_bridge("bad")
        harness.wait_until(bridge.is_leader, 30, "the bridge to lead")
        self.wait_routed("bad", "v1")
        self.traffic = Traffic(self.proxy.port, "bad", rate=400)
        artifact = (f"{harness.SAMPLE} --listen 127.0.0.1:{{port}} --service bad --version {{version}} "
                    f"--instance {{version}}-{{instance}} --error-rate 0.05")  # 5x the baseline's 1%
        code, out = bridge.cli("start", "--service", "bad", "--version", "v2", "--artifact", artifact, "--wait")
        self.assertEqual(code, 1, out)
        self.assertIn("verdict FAIL", out)
        self.assertIn("rolled_back", out)
        time.sleep(2)
        counts = self.traffic.stop()
        self.traffic = None
        self.assert_nothing_lost(counts)
        self.assertGreater(counts.get(("v2", 500), 0), 0)  # the canary did get (and fail) traffic
        self.assertEqual(set(self.proxy.service_instances("bad")), {"v1"})
        rollout = bridge.api("GET", "/v1/rollouts").json()["rollouts"][0]
        record = bridge.record(rollout["id"])
        fail = record["verdicts"][-1]
        self.assertEqual(fail["verdict"], "FAIL")
        self.assertGreater(fail["report"]["input"]["canary"]["errors"], 0)
        self.assertIn("judge FAIL", record["final_reason"])
        bridge.stop()

    def test_failing_integration_check_stops_before_ordinary_traffic(self):
        bridge = self.start_bridge("check")
        harness.wait_until(bridge.is_leader, 30, "the bridge to lead")
        self.wait_routed("check", "v1")
        self.traffic = Traffic(self.proxy.port, "check")
        count_file = os.path.join(harness.WORKDIR, "check-requests")
        # The check sends requests with the override header through the sidecar until v2 has
        # answered 25 of them (the sidecar may learn of v2's instances a moment after the engine
        # calls them ready), records how many it sent and how many v2 answered, then fails.
        check = ("sent=0; ok=0; for i in $(seq 300); do "
                 "v=$(curl -s -o /dev/null -w '%{http_code}' -H \"Host: $CANARYMESH_SERVICE\" "
                 "-H \"x-canary-version: $CANARYMESH_SERVICE=$CANARYMESH_VERSION\" http://$CANARYMESH_PROXY/); "
                 "sent=$((sent+1)); if [ \"$v\" = 200 ]; then ok=$((ok+1)); [ $ok -ge 25 ] && break; "
                 "else sleep 0.1; fi; done; "
                 f"echo \"$sent $ok\" > {count_file}; echo \"$ok of $sent answered\"; exit 1")
        code, out = bridge.cli("start", "--service", "check", "--version", "v2", "--integration-check", check,
                               "--wait")
        self.assertEqual(code, 1, out)
        self.assertIn("integration_check", out)
        self.assertIn("integration check failed (exit 1)", out)
        with open(count_file) as f:
            sent, answered = (int(x) for x in f.read().split())
        self.assertEqual(answered, 25, "the check's header requests should reach v2")
        time.sleep(1)
        counts = self.traffic.stop()
        self.traffic = None
        self.assert_nothing_lost(counts)
        # Ordinary traffic never reached v2: no ordinary request was answered by it, and the
        # sidecar counted for v2 no more requests than the check sent with the header.
        self.assertEqual(sum(n for (v, _), n in counts.items() if v == "v2"), 0, counts)
        self.assertGreater(sum(counts.values()), 300)
        v2_total = self.proxy.requests_total("check", "v2")
        self.assertGreaterEqual(v2_total, answered)
        self.assertLessEqual(v2_total, sent)
        record = bridge.record(bridge.api("GET", "/v1/rollouts").json()["rollouts"][0]["id"])
        self.assertEqual(record["stage"], "rolled_back")
        self.assertEqual(record["verdicts"], [])
        self.assertRegex(record["check_output"], r"^25 of \d+ answered")
        bridge.stop()

    def test_second_bridge_resumes_after_the_leader_is_killed_mid_canary(self):
        state_dir = os.path.join(harness.WORKDIR, "state-kill")
        ports = free_port_range()
        # Slow steps so that the kill lands mid-canary.
        first = self.start_bridge("kill", name="bridge-kill-a", state_dir=state_dir, ports=ports,
                                  judge={"min_canary_requests": 400, "min_baseline_requests": 400})
        harness.wait_until(first.is_leader, 30, "the first bridge to lead")
        second = self.start_bridge("kill", name="bridge-kill-b", state_dir=state_dir, ports=ports,
                                   judge={"min_canary_requests": 400, "min_baseline_requests": 400})
        self.assertFalse(second.is_leader())
        self.wait_routed("kill", "v1")
        self.traffic = Traffic(self.proxy.port, "kill")
        resp = first.api("POST", "/v1/rollouts", {"service": "kill", "version": "v2", "steps": [10, 30, 60]})
        self.assertEqual(resp.status, 201, resp)
        rollout_id = resp.json()["id"]
        # A follower refuses changes and names the leader.
        refused = second.api("POST", f"/v1/rollouts/{rollout_id}/promote")
        self.assertEqual(refused.status, 503)
        self.assertIn(f"127.0.0.1:{first.port}", refused.json()["leader"])
        harness.wait_until(lambda: first.record(rollout_id)["stage"] == "canary"
                           and first.record(rollout_id)["step_index"] >= 1, 120, "canary step 2")
        first.process.kill()  # SIGKILL mid-canary
        harness.wait_until(second.is_leader, 30, "the second bridge to take over")
        code, out = second.cli("start", "--service", "kill", "--version", "v3", timeout=30)
        self.assertEqual(code, 1, out)  # one rollout per service: v2's is still in progress
        self.assertIn("in progress", out)
        harness.wait_until(lambda: second.record(rollout_id)["stage"] == "promoted", 180, "the rollout to finish")
        record = second.record(rollout_id)
        stages = [(h["stage"], h["step"]) for h in record["history"]]
        self.assertEqual(stages, [("test_starting", -1), ("canary", 0), ("canary", 1), ("canary", 2),
                                  ("promoting", -1), ("promoted", -1)])
        counts = self.traffic.stop()
        self.traffic = None
        self.assert_nothing_lost(counts)
        self.assertEqual(set(self.proxy.service_instances("kill")), {"v2"})
        second.stop()


if __name__ == "__main__":
    harness.main()
