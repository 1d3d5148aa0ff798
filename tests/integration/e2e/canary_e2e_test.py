"""Canary steering through the real proxy: the x-canary-version override across two hops,
weighted splits, sticky and monotone slices, route policies from ZooKeeper and from the admin
API (with its bearer token), override errors, and a listener that strips overrides.

Statistical checks use 5-sigma binomial bounds (a false alarm about once in 1.7 million runs).
Policy changes are known to be applied when /admin/routes/<svc> shows them (it reads the
published route table) or a proxy counter moved; only then is traffic checked."""

import collections
import json
import unittest

import harness

TOKEN = "e2e-admin-token-7d1c"
STICKY_USERS = 1000


def version_of(resp):
    if resp.status != 200:
        return f"status {resp.status}: {resp.text.strip()[:200]}"
    version = resp.json()["version"]
    assert resp.headers.get("x-served-by-version") == version, resp.headers
    return version


def count_versions(client, host, n, headers=None):
    seen = collections.Counter()
    for _ in range(n):
        seen[version_of(client.get("/", dict(headers or {}, Host=host)))] += 1
    return seen


class CanaryTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.zk = harness.ZooKeeper()
        cls.zk.start()
        cls.kz = cls.zk.client()
        cls.v1 = harness.SampleService("v1", service="backend", instance="backend-v1")
        cls.v2 = harness.SampleService("v2", service="backend", instance="backend-v2")
        # The front service calls the proxy for `user`, so it must know the proxy's port first.
        main_port = harness.free_port()
        cls.front = harness.SampleService("f1", service="front", instance="front-f1",
                                          forward=f"http://127.0.0.1:{main_port}/user/profile")
        both = {"v1": [cls.v1.address], "v2": [cls.v2.address]}

        def svc(name, route, **extra):
            entry = {"name": name, "hosts": [name], "versions": both, "route": route}
            entry.update(extra)
            return entry

        cls.proxy = harness.Proxy({
            "workers": 2,
            "admin": {"token": TOKEN},
            "listeners": [{"name": "main", "listen": f"127.0.0.1:{main_port}"},
                          {"name": "untrusted", "strip_overrides": True}],
            "zookeeper": {"connect": cls.zk.connect},
            "services": [
                {"name": "front", "hosts": ["front"], "versions": {"f1": [cls.front.address]}},
                # v2 has weight 0: a test version that only override traffic reaches.
                {"name": "user", "path_prefix": "/user", "versions": both,
                 "route": {"weights": {"v1": 100, "v2": 0}}},
                svc("weighted", {"weights": {"v1": 90, "v2": 10}}),
                svc("sticky", {"weights": {"v1": 95, "v2": 5}, "sticky_header": "x-user-id"}),
                svc("zkpolicy", {"weights": {"v1": 100}}),
                svc("adminpolicy", {"weights": {"v1": 100}}),
                svc("byip", {"weights": {"v1": 50, "v2": 50}, "sticky_client_ip": True}),
                svc("typo", {"weights": {"v1": 90, "v2": 10}}),
            ],
        })
        cls.client = cls.proxy.client()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.proxy.stop()
        for s in (cls.front, cls.v1, cls.v2):
            s.stop()
        cls.zk.close()

    def route(self, service):
        return self.proxy.admin_json(f"/admin/routes/{service}")

    # (a) -----------------------------------------------------------------------------------

    def test_override_reaches_named_version_across_two_hops(self):
        front_direct = harness.HttpClient(self.front.port)
        try:
            for _ in range(100):
                # Straight to the front service: its outbound call goes through the proxy.
                resp = front_direct.get("/", {"x-canary-version": "user=v2"})
                self.assertEqual(resp.status, 200, resp)
                down = resp.json()["downstream"]
                self.assertEqual(down["status"], 200, down)
                self.assertEqual(down["body"]["version"], "v2", down)
                self.assertEqual(down["body"]["override"], "user=v2", down)
                # Both hops through the proxy; the override for `front` is honoured too.
                resp = self.client.get("/", {"Host": "front", "x-canary-version": "front=f1, user=v2"})
                self.assertEqual(resp.status, 200, resp)
                body = resp.json()
                self.assertEqual(body["version"], "f1")
                self.assertEqual(body["downstream"]["body"]["version"], "v2", body)
        finally:
            front_direct.close()
        # Without the header the test version (weight 0) is never chosen.
        chain = collections.Counter()
        for _ in range(300):
            resp = self.client.get("/", {"Host": "front"})
            self.assertEqual(resp.status, 200, resp)
            chain[resp.json()["downstream"]["body"]["version"]] += 1
        self.assertEqual(chain, {"v1": 300})
        # An override for another service leaves `user` to its policy.
        resp = self.client.get("/", {"Host": "front", "x-canary-version": "billing=v2"})
        self.assertEqual(resp.json()["downstream"]["body"]["version"], "v1")
        # The second hop's 503 for a version without instances reaches the caller, readable.
        resp = self.client.get("/", {"Host": "front", "x-canary-version": "user=v9"})
        self.assertEqual(resp.status, 502, resp)
        down = resp.json()["downstream"]
        self.assertEqual(down["status"], 503, down)
        self.assertIn("v9", down["body"])

    # (b) -----------------------------------------------------------------------------------

    def test_weights_90_10_within_5_sigma(self):
        n = 3000
        before = {v: self.proxy.requests_total("weighted", v) for v in ("v1", "v2")}
        clients = [self.proxy.client() for _ in range(2)]  # likely two workers
        seen = collections.Counter()
        try:
            for i in range(n):
                seen[version_of(clients[i % 2].get("/", {"Host": "weighted"}))] += 1
        finally:
            for c in clients:
                c.close()
        self.assertEqual(set(seen), {"v1", "v2"}, seen)
        lo, hi = harness.binomial_bounds(n, 0.10)
        self.assertTrue(lo <= seen["v2"] <= hi, f"v2 got {seen['v2']} of {n}, 5-sigma [{lo:.0f}, {hi:.0f}]")
        # The proxy's own counters saw the same split.
        for v in ("v1", "v2"):
            self.assertEqual(self.proxy.requests_total("weighted", v) - before[v], seen[v], v)
        shares = {v: d["traffic_share"] for v, d in self.route("weighted")["versions"].items()}
        self.assertAlmostEqual(shares["v1"], 0.9)
        self.assertAlmostEqual(shares["v2"], 0.1)
        # So did the canary summary (only this test sends traffic to `weighted`).
        summary = self.proxy.admin_json("/admin/canary/weighted")
        for v in ("v1", "v2"):
            self.assertEqual(summary["versions"][v]["requests"], seen[v], v)
            self.assertEqual(summary["versions"][v]["errors"], 0, v)
        self.assertAlmostEqual(summary["traffic_share"]["v2"], 0.1)

    # (c) -----------------------------------------------------------------------------------

    def sticky_pass(self, clients, expected_share):
        """Every user once, and every 4th user again on the other connection (maybe the other
        worker): one version per user. Returns the users in v2."""
        assignment = {}
        for rnd in range(2):
            for i in range(0, STICKY_USERS, 1 if rnd == 0 else 4):
                user = f"user-{i}"
                resp = clients[(i + rnd) % 2].get("/", {"Host": "sticky", "x-user-id": user})
                version = version_of(resp)
                self.assertIn(version, ("v1", "v2"))
                if rnd == 0:
                    assignment[user] = version
                else:
                    self.assertEqual(assignment[user], version, f"{user} moved between requests")
        in_v2 = {u for u, v in assignment.items() if v == "v2"}
        lo, hi = harness.binomial_bounds(STICKY_USERS, expected_share)
        self.assertTrue(lo <= len(in_v2) <= hi,
                        f"{len(in_v2)} of {STICKY_USERS} users in v2 at {expected_share}, 5-sigma [{lo:.0f}, {hi:.0f}]")
        return in_v2

    def test_sticky_slices_are_stable_and_grow_monotonically(self):
        clients = [self.proxy.client() for _ in range(2)]
        try:
            at5 = self.sticky_pass(clients, 0.05)

            resp = self.proxy.admin("PUT", "/admin/routes/sticky", token=TOKEN,
                                    body={"weights": {"v1": 90, "v2": 10}, "sticky": {"header": "x-user-id"}})
            self.assertEqual(resp.status, 200, resp)
            at10 = self.sticky_pass(clients, 0.10)
            self.assertLessEqual(at5, at10, f"users that left v2 going 5% -> 10%: {sorted(at5 - at10)[:10]}")

            self.kz.create("/canarymesh/routes/sticky", makepath=True, value=json.dumps(
                {"weights": {"v1": 50, "v2": 50}, "sticky": {"header": "x-user-id"}}).encode())
            harness.wait_until(lambda: self.route("sticky")["policy"]["weights"].get("v2") == 50, 20,
                               "the 50/50 policy from ZooKeeper applied")
            at50 = self.sticky_pass(clients, 0.50)
            self.assertLessEqual(at10, at50, f"users that left v2 going 10% -> 50%: {sorted(at10 - at50)[:10]}")
        finally:
            for c in clients:
                c.close()

    def test_sticky_by_client_ip(self):
        # Any 127.0.0.0/8 address is a distinct loopback client.
        assignment = {}
        for i in range(2, 42):
            client = self.proxy.client(source_ip=f"127.0.0.{i}")
            try:
                seen = count_versions(client, "byip", 10)
            finally:
                client.close()
            self.assertEqual(len(seen), 1, f"client 127.0.0.{i} was split: {seen}")
            assignment[i] = next(iter(seen))
        # 40 clients at 50/50 all on one side: probability 2^-39.
        self.assertEqual(set(assignment.values()), {"v1", "v2"}, assignment)

    def test_override_beats_sticky_assignment(self):
        for i in range(200):
            user = f"override-user-{i}"
            resp = self.client.get("/", {"Host": "sticky", "x-user-id": user, "x-canary-version": "sticky=v2"})
            self.assertEqual(version_of(resp), "v2", user)

    # (d) -----------------------------------------------------------------------------------

    def test_zookeeper_policy_reaches_running_proxy_and_malformed_one_is_refused(self):
        self.assertEqual(count_versions(self.client, "zkpolicy", 50), {"v1": 50})
        updates = self.proxy.metric("canarymesh_route_policy_updates_total")
        self.kz.create("/canarymesh/routes/zkpolicy", makepath=True,
                       value=b'{"weights":{"v1":0,"v2":100}}')
        # Poll until traffic follows, then check that all of it does.
        harness.wait_until(lambda: version_of(self.client.get("/", {"Host": "zkpolicy"})) == "v2", 20,
                           "traffic to follow the ZooKeeper policy")
        self.assertEqual(count_versions(self.client, "zkpolicy", 100), {"v2": 100})
        self.assertEqual(self.proxy.metric("canarymesh_route_policy_updates_total"), updates + 1)
        policy = self.route("zkpolicy")["policy"]
        self.assertEqual(policy["provenance"]["source"], "zookeeper")

        malformed = [
            b"not json at all",
            b'{"weights":{"v1":"ninety","v2":10}}',
            b'{"weights":{"v1":0,"v2":0}}',
            b'{"weights":{"v1":-5,"v2":100}}',
            b'{"weights":{"v1":1.5,"v2":100}}',
            b'{"wieghts":{"v1":100}}',
            b'{"weights":{"v2":5,"v2":100}}',
            b'{"weights":{"v1":1},"sticky":{"header":"x-user-id","client_ip":true}}',
            b'[]',
        ]
        for doc in malformed:
            rejected = self.proxy.metric("canarymesh_route_policy_rejected_total")
            self.kz.set("/canarymesh/routes/zkpolicy", doc)
            harness.wait_until(
                lambda: self.proxy.metric("canarymesh_route_policy_rejected_total") == rejected + 1,
                20, f"rejection of {doc!r}")
            self.assertEqual(count_versions(self.client, "zkpolicy", 30), {"v2": 30}, doc)
            self.assertEqual(self.route("zkpolicy")["policy"]["weights"].get("v2"), 100, doc)

        # Deleting the znode hands the service back to the config's policy.
        self.kz.delete("/canarymesh/routes/zkpolicy")
        harness.wait_until(lambda: self.route("zkpolicy")["policy"]["provenance"]["source"] == "config",
                           20, "config policy back after the znode is deleted")
        self.assertEqual(count_versions(self.client, "zkpolicy", 50), {"v1": 50})

    # (e) -----------------------------------------------------------------------------------

    def test_admin_put_requires_the_token(self):
        before = self.route("adminpolicy")
        to_v2 = {"weights": {"v1": 0, "v2": 100}}
        for token, what in ((None, "no token"), ("wrong-token", "wrong token"), (TOKEN + "x", "longer token"),
                            ("", "empty token")):
            resp = self.proxy.admin("PUT", "/admin/routes/adminpolicy", body=to_v2, token=token)
            self.assertEqual(resp.status, 401, f"{what}: {resp}")
            self.assertEqual(self.route("adminpolicy"), before, what)
            self.assertEqual(count_versions(self.client, "adminpolicy", 20), {"v1": 20}, what)
        resp = self.proxy.admin("DELETE", "/admin/routes/adminpolicy")
        self.assertEqual(resp.status, 401, resp)
        # A malformed body with the right token: 400, nothing changes.
        resp = self.proxy.admin("PUT", "/admin/routes/adminpolicy", body=b'{"weights":{"v1":"x"}}', token=TOKEN)
        self.assertEqual(resp.status, 400, resp)
        self.assertIn("weights.v1", resp.text)
        self.assertEqual(self.route("adminpolicy"), before)

        resp = self.proxy.admin("PUT", "/admin/routes/adminpolicy", body=to_v2, token=TOKEN)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["policy"]["provenance"]["source"], "admin")
        # The PUT returns after the new table is published: the very next requests follow it.
        self.assertEqual(count_versions(self.client, "adminpolicy", 50), {"v2": 50})
        resp = self.proxy.admin("PUT", "/admin/routes/nosuchservice", body=to_v2, token=TOKEN)
        self.assertEqual(resp.status, 404, resp)

        resp = self.proxy.admin("DELETE", "/admin/routes/adminpolicy", token=TOKEN)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(count_versions(self.client, "adminpolicy", 50), {"v1": 50})

    # (f) -----------------------------------------------------------------------------------

    def test_override_errors(self):
        resp = self.client.get("/user/x", {"x-canary-version": "user=v9"})
        self.assertEqual(resp.status, 503, resp)
        self.assertIn("user", resp.text)
        self.assertIn("v9", resp.text)
        # The connection stays usable after a local 503.
        self.assertEqual(version_of(self.client.get("/user/x")), "v1")
        for bad in ("user", "user=v2=v3", "=v2", "user=", "user=v1,user=v2", "us er=v2", "user=v 2"):
            resp = self.client.get("/user/x", {"x-canary-version": bad})
            self.assertEqual(resp.status, 400, f"{bad!r}: {resp}")
            self.assertIn("x-canary-version", resp.text, bad)
        self.assertEqual(version_of(self.client.get("/user/x")), "v1")
        # Local errors are counted.
        self.assertGreaterEqual(self.proxy.metric("canarymesh_local_responses_total", code="400"), 7)
        self.assertGreaterEqual(self.proxy.metric("canarymesh_local_responses_total", code="503"), 1)

    def test_override_on_two_header_lines_is_sent_upstream(self):
        resp = self.client.get_repeated_headers("/user/x", [
            ("Host", "anything"), ("x-canary-version", "front=f1"), ("x-canary-version", "user=v2")])
        self.assertEqual(resp.status, 200, resp)
        self.assertIn(resp.json()["version"], ("v1", "v2"))

    def test_override_on_two_header_lines_is_honoured(self):
        # x-canary-version is a comma-separated list, so (RFC 9110 section 5.3) two field lines
        # mean the same as one line "front=f1, user=v2".
        resp = self.client.get_repeated_headers("/user/x", [
            ("Host", "anything"), ("x-canary-version", "front=f1"), ("x-canary-version", "user=v2")])
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["version"], "v2")

    def test_policy_naming_no_live_version_does_not_blackhole_the_service(self):
        # "V2" for "v2": the policy gives every live version weight 0. Either refuse it or keep
        # serving; answering 503 "no live instance" for a service with live instances is neither.
        resp = self.proxy.admin("PUT", "/admin/routes/typo", token=TOKEN, body={"weights": {"V2": 100}})
        try:
            if resp.status == 200:
                seen = count_versions(self.client, "typo", 20)
                self.assertEqual(set(seen) - {"v1", "v2"}, set(), seen)
            else:
                self.assertIn(resp.status, (400, 409), resp)
        finally:
            self.proxy.admin("DELETE", "/admin/routes/typo", token=TOKEN)

    # (g) -----------------------------------------------------------------------------------

    def test_strip_overrides_listener_ignores_and_drops_the_header(self):
        untrusted = self.proxy.client("untrusted")
        try:
            for header in ("user=v2", "user=v9", "not a valid override"):
                for _ in range(30):
                    resp = untrusted.get("/user/x", {"x-canary-version": header})
                    self.assertEqual(version_of(resp), "v1", header)
                    # The header never reaches the service either (the sample echoes it).
                    self.assertNotIn("override", resp.json(), header)
        finally:
            untrusted.close()
        # The same request on the trusted listener is steered.
        resp = self.client.get("/user/x", {"x-canary-version": "user=v2"})
        self.assertEqual(version_of(resp), "v2")
        self.assertEqual(resp.json()["override"], "user=v2")


if __name__ == "__main__":
    harness.main()
