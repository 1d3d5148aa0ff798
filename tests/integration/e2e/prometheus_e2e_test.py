"""Debian's Prometheus scrapes the proxy's /metrics every second while traffic runs to v1
(no errors) and v2 (sample service failing ~20% of requests); the canary error-rate query
over the HTTP API must give v1 = 0 and v2 = the error ratio the proxy itself counted."""

import json
import os
import shutil
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import harness

ERROR_RATE = 0.2
REQUESTS = 2400
QUERY = ('sum by (version) (rate(canarymesh_requests_total{result="error"}[1m])) '
         '/ sum by (version) (rate(canarymesh_requests_total[1m]))')


class PrometheusServer:
    def __init__(self, target):
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        if not os.access(binary, os.X_OK):
            raise AssertionError("prometheus not found: install Debian's 'prometheus' package")
        self.dir = tempfile.mkdtemp(prefix="prometheus-", dir=harness.WORKDIR)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            # JSON is YAML.
            json.dump({
                "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
                "scrape_configs": [{"job_name": "canarymesh", "metrics_path": "/metrics",
                                    "static_configs": [{"targets": [target]}]}],
            }, f)
        for _attempt in range(3):
            self.port = harness.free_port()
            self.process = harness.ManagedProcess("prometheus", [
                binary, f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.process.running():
                try:
                    if harness.http_get(self.port, "/-/ready", timeout=2).status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            log = self.process.log()
            self.process.kill()
            if "address already in use" not in log:
                raise AssertionError(f"prometheus did not become ready:\n{log}")
        raise AssertionError("prometheus: no free port after 3 attempts")

    def query(self, promql):
        """Instant query at the current time -> list of (labels, float)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        if body.get("status") != "success":
            raise AssertionError(f"query {promql!r} failed: {body}")
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def by_version(self, promql, versions=("v1", "v2")):
        return {labels.get("version"): value for labels, value in self.query(promql)
                if labels.get("version") in versions}

    def stop(self):
        self.process.terminate(timeout=20)


class PrometheusTest(unittest.TestCase):

    def setUp(self):
        self.v1 = harness.SampleService("v1", service="shop", instance="shop-v1")
        self.v2 = harness.SampleService("v2", service="shop", instance="shop-v2", error_rate=ERROR_RATE)
        self.proxy = harness.Proxy({
            "workers": 2,
            "listeners": [{"name": "main"}],
            "services": [{"name": "shop", "hosts": ["shop"],
                          "versions": {"v1": [self.v1.address], "v2": [self.v2.address]},
                          "route": {"weights": {"v1": 50, "v2": 50}}}],
        })
        self.prometheus = PrometheusServer(f"127.0.0.1:{self.proxy.admin_port}")

    def tearDown(self):
        self.prometheus.stop()
        self.proxy.stop()
        self.v1.stop()
        self.v2.stop()

    def test_canary_error_ratio_query(self):
        total = 'sum by (version) (canarymesh_requests_total{service="shop"})'
        # Baseline: a few scrapes of the idle proxy (its v1/v2 series exist at 0 from the start),
        # so the rate window begins before the traffic.
        harness.wait_until(
            lambda: self.prometheus.by_version(
                'count_over_time(canarymesh_requests_total{service="shop",version="v2",result="error"}[1m])'
            ).get("v2", 0) >= 3,
            60, "three idle scrapes")
        self.assertEqual(self.prometheus.by_version(total), {"v1": 0.0, "v2": 0.0})

        client = self.proxy.client()
        statuses = {}
        try:
            for _ in range(REQUESTS):
                resp = client.get("/buy", {"Host": "shop"})
                key = (resp.headers.get("x-served-by-version"), resp.status)
                statuses[key] = statuses.get(key, 0) + 1
        finally:
            client.close()
        self.assertEqual(set(statuses) - {("v1", 200), ("v2", 200), ("v2", 500)}, set(), statuses)

        # The proxy's own counters: what the query has to reproduce.
        counted = {}
        for v in ("v1", "v2"):
            counted[v] = (self.proxy.requests_total("shop", v, "error"), self.proxy.requests_total("shop", v))
        self.assertEqual(counted["v1"], (0, statuses[("v1", 200)]))
        self.assertEqual(counted["v2"], (statuses[("v2", 500)], statuses[("v2", 200)] + statuses[("v2", 500)]))
        lo, hi = harness.binomial_bounds(counted["v2"][1], ERROR_RATE)
        self.assertTrue(lo <= counted["v2"][0] <= hi, f"v2 errors {counted['v2']} vs rate {ERROR_RATE}")
        expected_v2 = counted["v2"][0] / counted["v2"][1]

        # Wait until Prometheus holds the final counter values.
        want = {"v1": counted["v1"][1], "v2": counted["v2"][1]}
        harness.wait_until(lambda: self.prometheus.by_version(total) == want, 30,
                           f"Prometheus to scrape the final counters {want}")

        ratio = self.prometheus.by_version(QUERY)
        print(f"\n    proxy counted (errors, requests) {counted}; query gave {ratio}", file=sys.stderr)
        self.assertEqual(ratio["v1"], 0.0, ratio)
        # Both v2 series start from 0 at the same scrapes, so the extrapolation of rate() cancels
        # in the ratio; the tolerance covers the rest of rate()'s arithmetic, not sampling noise.
        self.assertAlmostEqual(ratio["v2"], expected_v2, delta=0.01,
                               msg=f"query {ratio}, proxy counted {counted}")

        # The latency histogram counted every request once, per version.
        hist = self.prometheus.by_version(
            'sum by (version) (canarymesh_request_duration_seconds_count{service="shop"})')
        self.assertEqual(hist, want)


if __name__ == "__main__":
    harness.main()
