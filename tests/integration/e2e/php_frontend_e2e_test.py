"""The PHP frontend as it really calls: frontend.php (php-curl, one reused handle) asks the
local canarymesh for `user` with and without `x-canary-version: user=v2`; v2 is a test version
(weight 0), so only the calls carrying the header may reach it, and all of them must."""

import collections
import json
import os
import shutil
import subprocess
import unittest

import harness

FRONTEND = os.path.join(os.path.dirname(os.path.abspath(__file__)), "frontend.php")
CALLS = 25


class PhpFrontendTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.php = shutil.which("php")
        if cls.php is None:
            raise AssertionError("php CLI not found: install Debian's php-cli and php-curl")
        cls.v1 = harness.SampleService("v1", service="user", instance="user-v1")
        cls.v2 = harness.SampleService("v2", service="user", instance="user-v2")
        cls.proxy = harness.Proxy({
            "workers": 2,
            "listeners": [{"name": "main"}, {"name": "edge", "strip_overrides": True}],
            "services": [{"name": "user", "path_prefix": "/user",
                          "versions": {"v1": [cls.v1.address], "v2": [cls.v2.address]},
                          "route": {"weights": {"v1": 100, "v2": 0}}}],
        })

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.v1.stop()
        cls.v2.stop()

    def run_frontend(self, port, override=None):
        argv = [self.php, FRONTEND, f"http://127.0.0.1:{port}/user/profile?id=42", str(CALLS)]
        if override is not None:
            argv.append(override)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, f"php failed:\n{done.stdout}\n{done.stderr}")
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        self.assertEqual(len(lines), 2 * CALLS, done.stdout)
        return lines

    def test_php_curl_with_and_without_override(self):
        before = {v: self.proxy.requests_total("user", v) for v in ("v1", "v2")}
        lines = self.run_frontend(self.proxy.port)
        answered = collections.Counter()
        for line in lines:
            self.assertEqual(line["status"], 200, line)
            self.assertEqual(line["header_version"], line["body_version"], line)
            answered[(line["override"], line["header_version"])] += 1
        self.assertEqual(answered, {(None, "v1"): CALLS, ("user=v2", "v2"): CALLS})
        after = {v: self.proxy.requests_total("user", v) for v in ("v1", "v2")}
        self.assertEqual(after["v1"] - before["v1"], CALLS)
        self.assertEqual(after["v2"] - before["v2"], CALLS)

    def test_php_sees_503_for_a_version_without_instances(self):
        lines = self.run_frontend(self.proxy.port, override="user=v7")
        for line in lines:
            if line["override"] is None:
                self.assertEqual((line["status"], line["header_version"]), (200, "v1"), line)
            else:
                self.assertEqual(line["status"], 503, line)
                self.assertIn("user", line["error"])
                self.assertIn("v7", line["error"])

    def test_override_ignored_on_a_listener_that_strips_it(self):
        for line in self.run_frontend(self.proxy.ports["edge"]):
            self.assertEqual((line["status"], line["header_version"]), (200, "v1"), line)


if __name__ == "__main__":
    harness.main()
