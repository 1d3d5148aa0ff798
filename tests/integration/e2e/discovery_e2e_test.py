"""ZooKeeper discovery through the real proxy: ServerSet members written by kazoo in Finagle's
JSON, changes (delete, session close, bad data, non-ALIVE status, empty sets), a ZooKeeper
outage and restart, the `canarymesh announce` subcommand and /admin/services.

Synchronisation: a change is known to be applied when /admin/services (which reads the
published route table) shows it, or when a proxy counter moved; only then are requests sent
and checked, so no assertion depends on timing."""

import collections
import json
import os
import signal
import time
import unittest

import harness
from harness import serverset_member


def served_by(resp):
    """The instance that answered (the sample's JSON body), or a failure marker."""
    if resp.status != 200:
        return f"status {resp.status}: {resp.text.strip()[:200]}"
    return resp.json()["instance"]


def count_instances(client, host, n):
    seen = collections.Counter()
    for _ in range(n):
        seen[served_by(client.get("/hello", {"Host": host}))] += 1
    return seen


def proxy_config(zk, services, session_timeout_ms=10000):
    return {
        "workers": 2,
        "listeners": [{"name": "main"}],
        "zookeeper": {"connect": zk.connect, "session_timeout_ms": session_timeout_ms},
        "services": [
            {"name": name, "hosts": [name], "serverset": {"path": f"/discovery/{name}", "endpoint": "http"}}
            for name in services
        ],
    }


class DiscoveryTest(unittest.TestCase):
    """One ZooKeeper and one proxy; every test works on its own ServerSet path."""

    SERVICES = ["user", "churn", "churny", "bad", "status", "empty", "drained", "announced", "listed"]

    @classmethod
    def setUpClass(cls):
        cls.zk = harness.ZooKeeper()
        cls.zk.start()
        cls.kz = cls.zk.client()
        for name in cls.SERVICES:
            cls.kz.ensure_path(f"/discovery/{name}")
        cls.proxy = harness.Proxy(proxy_config(cls.zk, cls.SERVICES))
        cls.client = cls.proxy.client()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.proxy.stop()
        cls.zk.close()

    def add_member(self, service, payload, kz=None, ephemeral=True):
        return (kz or self.kz).create(f"/discovery/{service}/member_", payload,
                                      ephemeral=ephemeral, sequence=True)

    def wait_instances(self, service, expected):
        """Waits until the published route table holds exactly `expected` ({version: [addr]})."""
        want = {v: sorted(a) for v, a in expected.items()}
        harness.wait_until(lambda: self.proxy.service_instances(service) == want, 20,
                           f"{service} instances == {want}")

    def test_member_from_kazoo_reaches_its_http_endpoint(self):
        # serviceEndpoint and additionalEndpoints.http point at different samples: the config's
        # `endpoint: http` must pick the http one.
        http_sample = harness.SampleService("v1", service="user", instance="user-http-endpoint")
        thrift_sample = harness.SampleService("v1", service="user", instance="user-service-endpoint")
        try:
            self.add_member("user", serverset_member(http_sample.port, version="v1",
                                                     service_port=thrift_sample.port))
            self.wait_instances("user", {"v1": [http_sample.address]})
            seen = count_instances(self.client, "user", 50)
            self.assertEqual(seen, {"user-http-endpoint": 50})
            resp = self.client.get("/hello", {"Host": "user"})
            self.assertEqual(resp.headers.get("x-served-by-version"), "v1")
        finally:
            http_sample.stop()
            thrift_sample.stop()

    def test_deleted_member_and_closed_session_are_no_longer_routed(self):
        a = harness.SampleService("v1", service="churn", instance="churn-a")
        b = harness.SampleService("v1", service="churn", instance="churn-b")
        c = harness.SampleService("v1", service="churn", instance="churn-c")
        other_session = self.zk.client()
        try:
            self.add_member("churn", serverset_member(a.port, version="v1"))
            path_b = self.add_member("churn", serverset_member(b.port, version="v1"))
            self.add_member("churn", serverset_member(c.port, version="v1"), kz=other_session)
            self.wait_instances("churn", {"v1": [a.address, b.address, c.address]})
            seen = count_instances(self.client, "churn", 90)
            self.assertEqual(set(seen), {"churn-a", "churn-b", "churn-c"}, seen)

            self.kz.delete(path_b)
            self.wait_instances("churn", {"v1": [a.address, c.address]})
            seen = count_instances(self.client, "churn", 60)
            self.assertEqual(set(seen), {"churn-a", "churn-c"}, seen)

            # Closing the owning session removes its ephemeral member.
            other_session.stop()
            other_session.close()
            self.wait_instances("churn", {"v1": [a.address]})
            self.assertEqual(count_instances(self.client, "churn", 40), {"churn-a": 40})
        finally:
            for s in (a, b, c):
                s.stop()

    def test_member_with_bad_json_is_skipped_and_counted(self):
        good = harness.SampleService("v1", service="bad", instance="bad-good")
        try:
            self.add_member("bad", serverset_member(good.port, version="v1"))
            self.wait_instances("bad", {"v1": [good.address]})
            before = self.proxy.metric("canarymesh_serverset_bad_members_total")
            self.assertIsNotNone(before, "canarymesh_serverset_bad_members_total not exported")
            self.add_member("bad", b'{"serviceEndpoint": {"host": "127.0.0.1", "port": ')
            # Valid JSON but no usable endpoint: also a bad member.
            self.add_member("bad", json.dumps({"serviceEndpoint": {"host": "127.0.0.1", "port": 0},
                                               "status": "ALIVE"}).encode())
            harness.wait_until(
                lambda: self.proxy.metric("canarymesh_serverset_bad_members_total") >= before + 2,
                20, "bad_members_total to grow by 2")
            self.assertEqual(self.proxy.metric("canarymesh_serverset_members", service="bad"), 3)
            self.assertEqual(self.proxy.service_instances("bad"), {"v1": [good.address]})
            self.assertEqual(count_instances(self.client, "bad", 30), {"bad-good": 30})
            services = {s["service"]: s for s in self.proxy.admin_json("/admin/services")["services"]}
            self.assertEqual(services["bad"]["zookeeper"]["bad_members"], 2)

            # A routed member whose data turns into garbage stops being routed, and is counted.
            spoiled = harness.SampleService("v1", service="bad", instance="bad-spoiled")
            try:
                path = self.add_member("bad", serverset_member(spoiled.port, version="v1"))
                self.wait_instances("bad", {"v1": [good.address, spoiled.address]})
                before = self.proxy.metric("canarymesh_serverset_bad_members_total")
                self.kz.set(path, b"\x00\xffgarbage")
                self.wait_instances("bad", {"v1": [good.address]})
                self.assertEqual(self.proxy.metric("canarymesh_serverset_bad_members_total"), before + 1)
                self.assertEqual(count_instances(self.client, "bad", 30), {"bad-good": 30})
            finally:
                spoiled.stop()
        finally:
            good.stop()

    def test_rapid_member_churn_settles_on_the_final_set(self):
        # Members created and deleted faster than the proxy reads them: listings name children
        # that are gone by the time their data is read (the NoNode race that crashed other
        # watchers). The proxy must settle on exactly what is left.
        keep = harness.SampleService("v1", service="churny", instance="churny-keep")
        gone = harness.SampleService("v1", service="churny", instance="churny-gone")
        try:
            self.kz.ensure_path("/discovery/churny")
            for i in range(5):
                paths = [self.add_member("churny", serverset_member(gone.port, version="v1"))
                         for _ in range(20)]
                if i == 2:
                    kept = self.add_member("churny", serverset_member(keep.port, version="v1"))
                for path in paths:
                    self.kz.delete(path)
            # Not ServerSet members: ignored however they look.
            self.kz.create("/discovery/churny/vector_0000000001", serverset_member(gone.port, version="v1"))
            self.kz.create("/discovery/churny/notes", b"not json")
            self.wait_instances("churny", {"v1": [keep.address]})
            self.assertTrue(self.kz.exists(kept))
            self.assertEqual(count_instances(self.client, "churny", 30), {"churny-keep": 30})
            self.assertEqual(self.proxy.metric("canarymesh_serverset_members", service="churny"), 1)
            self.assertEqual(harness.http_get(self.proxy.admin_port, "/ready").status, 200)
        finally:
            keep.stop()
            gone.stop()

    def test_non_alive_members_are_not_routed(self):
        alive = harness.SampleService("v1", service="status", instance="status-alive")
        others = {st: harness.SampleService("v1", service="status", instance=f"status-{st.lower()}")
                  for st in ("STARTING", "STOPPING", "DEAD", "WARNING")}
        try:
            self.add_member("status", serverset_member(alive.port, version="v1"))
            for st, sample in others.items():
                self.add_member("status", serverset_member(sample.port, version="v1", status=st))
            # The gauge counts member znodes read, usable or not: all five were read.
            harness.wait_until(
                lambda: self.proxy.metric("canarymesh_serverset_members", service="status") == 5,
                20, "5 status members read")
            self.assertEqual(self.proxy.service_instances("status"), {"v1": [alive.address]})
            self.assertEqual(count_instances(self.client, "status", 60), {"status-alive": 60})

            # STARTING -> ALIVE in place (data change on an existing member) makes it routable.
            starting = others["STARTING"]
            for child in self.kz.get_children("/discovery/status"):
                data, _ = self.kz.get(f"/discovery/status/{child}")
                if json.loads(data)["additionalEndpoints"]["http"]["port"] == starting.port:
                    self.kz.set(f"/discovery/status/{child}",
                                serverset_member(starting.port, version="v1"))
            self.wait_instances("status", {"v1": [alive.address, starting.address]})
            seen = count_instances(self.client, "status", 60)
            self.assertEqual(set(seen), {"status-alive", "status-starting"}, seen)
        finally:
            alive.stop()
            for s in others.values():
                s.stop()

    def test_empty_serverset_answers_503_naming_the_service(self):
        # Never had a member.
        resp = self.client.get("/hello", {"Host": "empty"})
        self.assertEqual(resp.status, 503, resp)
        self.assertIn("no live instance", resp.text)
        self.assertIn("empty", resp.text)
        # Had one, lost it while ZooKeeper is healthy: Finagle reports an empty set as empty.
        sample = harness.SampleService("v1", service="drained", instance="drained-only")
        try:
            path = self.add_member("drained", serverset_member(sample.port, version="v1"))
            self.wait_instances("drained", {"v1": [sample.address]})
            self.assertEqual(count_instances(self.client, "drained", 5), {"drained-only": 5})
            self.kz.delete(path)
            self.wait_instances("drained", {})
            resp = self.client.get("/hello", {"Host": "drained"})
            self.assertEqual(resp.status, 503, resp)
            self.assertIn("no live instance", resp.text)
            self.assertIn("drained", resp.text)
        finally:
            sample.stop()

    def test_announce_subcommand_writes_valid_member_and_deletes_it_on_sigterm(self):
        sample = harness.SampleService("v3", service="announced", instance="announced-v3")
        announcer = None
        try:
            announcer = harness.ManagedProcess("announce", [
                harness.CANARYMESH, "announce", "--zookeeper", self.zk.connect,
                "--session-timeout-ms", "30000", "--path", "/discovery/announced",
                "--host", "127.0.0.1", "--port", str(sample.port),
                "--endpoint", f"http={sample.port}", "--version", "v3", "--shard", "2",
                "--check", "http", "--check-path", "/health", "--check-interval-ms", "200"])
            children = harness.wait_until(
                lambda: self.kz.get_children("/discovery/announced"), 20, "announced member")
            self.assertEqual(len(children), 1, children)
            self.assertRegex(children[0], r"^member_\d{10}$")
            data, stat = self.kz.get(f"/discovery/announced/{children[0]}")
            self.assertNotEqual(stat.ephemeralOwner, 0, "member must be ephemeral")
            member = json.loads(data)
            self.assertEqual(member["serviceEndpoint"], {"host": "127.0.0.1", "port": sample.port})
            self.assertEqual(member["additionalEndpoints"], {"http": {"host": "127.0.0.1", "port": sample.port}})
            self.assertEqual(member["status"], "ALIVE")
            self.assertEqual(member["shard"], 2)
            self.assertEqual(member["metadata"], {"version": "v3"})

            # The proxy watching the same path routes to it.
            self.wait_instances("announced", {"v3": [sample.address]})
            self.assertEqual(count_instances(self.client, "announced", 10), {"announced-v3": 10})

            code = announcer.terminate(timeout=20)
            self.assertEqual(code, 0, announcer.log())
            # Gone at once, not after the 30 s session timeout.
            self.assertEqual(self.kz.get_children("/discovery/announced"), [])
            self.wait_instances("announced", {})
        finally:
            if announcer:
                announcer.kill()
            sample.stop()

    def test_announce_withdraws_member_when_health_check_fails(self):
        sample = harness.SampleService("v4", service="announced", instance="announced-v4")
        announcer = harness.ManagedProcess("announce-health", [
            harness.CANARYMESH, "announce", "--zookeeper", self.zk.connect,
            "--path", "/discovery/announced-health", "--host", "127.0.0.1",
            "--port", str(sample.port), "--version", "v4", "--check-interval-ms", "100"])
        try:
            harness.wait_until(lambda: self.kz.exists("/discovery/announced-health")
                               and self.kz.get_children("/discovery/announced-health"),
                               20, "health-checked member announced")
            sample.kill()
            harness.wait_until(lambda: self.kz.get_children("/discovery/announced-health") == [],
                               20, "member withdrawn after the health check fails")
            self.assertTrue(announcer.running(), "announce must keep running while unhealthy")
        finally:
            announcer.kill()
            sample.stop()

    def test_admin_services_lists_instances_with_state(self):
        a = harness.SampleService("v1", service="listed", instance="listed-a")
        b = harness.SampleService("v2", service="listed", instance="listed-b")
        try:
            self.add_member("listed", serverset_member(a.port, version="v1"))
            self.add_member("listed", serverset_member(b.port, version="v2"))
            self.wait_instances("listed", {"v1": [a.address], "v2": [b.address]})
            body = self.proxy.admin_json("/admin/services")
            self.assertEqual(body["zookeeper"]["connected"], True)
            self.assertEqual(body["zookeeper"]["connect"], self.zk.connect)
            entry = next(s for s in body["services"] if s["service"] == "listed")
            self.assertEqual(entry["live_instances"], 2)
            self.assertEqual(entry["source"], "zookeeper:/discovery/listed")
            for version, sample in (("v1", a), ("v2", b)):
                self.assertEqual(len(entry["versions"][version]), 1)
                inst = entry["versions"][version][0]
                self.assertEqual(inst["address"], sample.address)
                self.assertEqual(inst["state"], "live")
                self.assertIn("ejections", inst)
            zk = entry["zookeeper"]
            self.assertEqual(zk["paths"], ["/discovery/listed"])
            self.assertTrue(zk["synced"])
            self.assertEqual(zk["members"], 2)
            self.assertEqual(zk["bad_members"], 0)

            # A dead instance that stays in ZooKeeper is ejected after failures, and the listing
            # says so.
            b_address = b.address
            b.kill()

            def ejected():
                # Overridden to v2 so that every request tries the dead instance.
                self.client.get("/hello", {"Host": "listed", "x-canary-version": "listed=v2"})
                entry = next(s for s in self.proxy.admin_json("/admin/services")["services"]
                             if s["service"] == "listed")
                states = {i["address"]: i["state"] for i in entry["versions"].get("v2", [])}
                return states.get(b_address) == "ejected"

            harness.wait_until(ejected, 30, f"{b_address} shown as ejected")
            self.assertGreaterEqual(self.proxy.metric("canarymesh_outlier_ejections_total"), 1)
            live = next(s for s in self.proxy.admin_json("/admin/services")["services"]
                        if s["service"] == "listed")["versions"]["v1"][0]
            self.assertEqual(live["state"], "live")
        finally:
            a.stop()
            b.stop()


class ZooKeeperOutageTest(unittest.TestCase):
    """ZooKeeper stops: the proxy keeps the last good set. It restarts (same port, same data):
    the proxy reconnects and sees changes made after the restart."""

    def test_outage_keeps_last_good_set_and_restart_resumes_watching(self):
        zk = harness.ZooKeeper()
        zk.start()
        kz = zk.client()
        kz.ensure_path("/discovery/user")
        samples = [harness.SampleService("v1", service="user", instance=f"outage-{i}") for i in range(3)]
        session_timeout_ms = 2000
        proxy = harness.Proxy(proxy_config(zk, ["user"], session_timeout_ms), name="proxy-outage")
        client = proxy.client()
        try:
            for s in samples[:2]:
                kz.create("/discovery/user/member_", serverset_member(s.port, version="v1"),
                          ephemeral=True, sequence=True)
            want = sorted(s.address for s in samples[:2])
            harness.wait_until(lambda: proxy.service_instances("user") == {"v1": want}, 20,
                               "two members routed")
            self.assertEqual(proxy.metric("canarymesh_zookeeper_connected"), 1)

            zk.stop()
            harness.wait_until(lambda: proxy.metric("canarymesh_zookeeper_connected") == 0, 30,
                               "canarymesh_zookeeper_connected == 0")
            # Traffic keeps flowing to the last good set for longer than the session timeout.
            seen = collections.Counter()
            deadline = time.monotonic() + 2.5 * session_timeout_ms / 1000
            while time.monotonic() < deadline or sum(seen.values()) < 300:
                seen[served_by(client.get("/hello", {"Host": "user"}))] += 1
            self.assertEqual(set(seen), {"outage-0", "outage-1"}, seen)
            self.assertEqual(proxy.service_instances("user"), {"v1": want})
            self.assertEqual(proxy.metric("canarymesh_zookeeper_connected"), 0)
            body = proxy.admin_json("/admin/services")
            self.assertEqual(body["zookeeper"]["connected"], False)

            zk.start()  # same port, same data directory
            harness.wait_until(lambda: proxy.metric("canarymesh_zookeeper_connected") == 1, 60,
                               "canarymesh_zookeeper_connected == 1 after the restart")
            kz2 = zk.client()
            kz2.create("/discovery/user/member_", serverset_member(samples[2].port, version="v1"),
                       ephemeral=True, sequence=True)
            # The watch must survive the restart: the new member shows up without a proxy restart.
            harness.wait_until(lambda: samples[2].address in proxy.service_instances("user").get("v1", []),
                               30, "member added after the restart routed")
            seen = count_instances(client, "user", 90)
            self.assertIn("outage-2", seen)
            self.assertTrue(all(k.startswith("outage-") for k in seen), seen)
        finally:
            client.close()
            proxy.stop()
            for s in samples:
                s.stop()
            zk.close()

    def test_proxy_started_before_zookeeper_catches_up(self):
        """Resolution must not stay 'pending' when ZooKeeper comes up after the proxy."""
        zk = harness.ZooKeeper()
        zk.port = harness.free_port()  # not listening yet
        sample = harness.SampleService("v1", service="user", instance="late-zk")
        proxy = harness.Proxy(proxy_config(zk, ["user"], 2000), name="proxy-early")
        client = proxy.client()
        try:
            resp = client.get("/hello", {"Host": "user"})
            self.assertEqual(resp.status, 503, resp)
            self.assertEqual(proxy.metric("canarymesh_zookeeper_connected"), 0)
            zk.start()
            zk.client().create("/discovery/user/member_", serverset_member(sample.port, version="v1"),
                               makepath=True, ephemeral=True, sequence=True)
            harness.wait_until(lambda: proxy.service_instances("user") == {"v1": [sample.address]}, 30,
                               "member routed once ZooKeeper is up")
            self.assertEqual(count_instances(client, "user", 20), {"late-zk": 20})
            self.assertEqual(proxy.metric("canarymesh_zookeeper_connected"), 1)
        finally:
            client.close()
            proxy.stop()
            sample.stop()
            zk.close()

    def test_session_expiry_rebuilds_session_resyncs_and_reannounces(self):
        """The proxy is frozen (SIGSTOP) until ZooKeeper expires its session. Meanwhile a member
        goes and another comes. Thawed, the proxy must build a new session, drop the member
        that went (no dead node kept until restart), add the new one, and announce itself
        again (its old ephemeral member died with the session)."""
        zk = harness.ZooKeeper()
        zk.start()
        kz = zk.client()
        kz.ensure_path("/discovery/user")
        a, b, c = (harness.SampleService("v1", service="user", instance=f"expiry-{n}") for n in "abc")
        listen_port = harness.free_port()
        proxy = harness.Proxy({
            "workers": 1,
            "listeners": [{"name": "main", "listen": f"127.0.0.1:{listen_port}"}],
            "zookeeper": {"connect": zk.connect, "session_timeout_ms": 2000},
            "services": [{"name": "user", "hosts": ["user"],
                          "serverset": {"path": "/discovery/user", "endpoint": "http"}}],
            "announce": {"path": "/discovery/proxies", "host": "127.0.0.1", "port": listen_port,
                         "version": "edge", "health_check": {"kind": "tcp", "interval_ms": 100}},
        }, name="proxy-expiry")
        client = proxy.client()
        frozen = False
        try:
            kz.create("/discovery/user/member_", serverset_member(a.port, version="v1"), ephemeral=True, sequence=True)
            path_b = kz.create("/discovery/user/member_", serverset_member(b.port, version="v1"),
                               ephemeral=True, sequence=True)
            harness.wait_until(lambda: proxy.service_instances("user") == {"v1": sorted([a.address, b.address])},
                               20, "a and b routed")

            def own_member():
                children = kz.get_children("/discovery/proxies") if kz.exists("/discovery/proxies") else []
                if len(children) != 1:
                    return None
                return kz.get(f"/discovery/proxies/{children[0]}")[1].ephemeralOwner

            first_owner = harness.wait_until(own_member, 20, "the proxy's own member")
            self.assertEqual(proxy.metric("canarymesh_zookeeper_session_expiries_total"), 0)

            os.kill(proxy.process.pid, signal.SIGSTOP)
            frozen = True
            kz.delete(path_b)
            kz.create("/discovery/user/member_", serverset_member(c.port, version="v1"), ephemeral=True, sequence=True)
            # The server expired the frozen proxy's session when its ephemeral member is gone.
            harness.wait_until(lambda: not kz.get_children("/discovery/proxies"), 30,
                               "ZooKeeper to expire the frozen proxy's session")
            os.kill(proxy.process.pid, signal.SIGCONT)
            frozen = False

            harness.wait_until(lambda: proxy.metric("canarymesh_zookeeper_session_expiries_total") >= 1
                               and proxy.metric("canarymesh_zookeeper_connected") == 1, 30,
                               "a new session after the expiry")
            harness.wait_until(lambda: proxy.service_instances("user") == {"v1": sorted([a.address, c.address])},
                               30, "the set re-read with the new session: a and c")
            seen = count_instances(client, "user", 60)
            self.assertEqual(set(seen), {"expiry-a", "expiry-c"}, seen)
            new_owner = harness.wait_until(own_member, 30, "the proxy announced again")
            self.assertNotEqual(new_owner, first_owner)
            # Watches belong to the new session: later changes still arrive.
            kz.create("/discovery/user/member_", serverset_member(b.port, version="v1"), ephemeral=True, sequence=True)
            harness.wait_until(lambda: proxy.service_instances("user")
                               == {"v1": sorted([a.address, b.address, c.address])}, 30, "b back")
        finally:
            if frozen:
                os.kill(proxy.process.pid, signal.SIGCONT)
            client.close()
            proxy.stop()
            for s in (a, b, c):
                s.stop()
            zk.close()


if __name__ == "__main__":
    harness.main()
