"""Shared harness for canarymesh's end-to-end tests: the real `canarymesh` binary, the
`canarymesh-sample` service, Debian's ZooKeeper (and Prometheus), all on free loopback ports.

Every process is started in its own process group with PR_SET_PDEATHSIG=SIGKILL, recorded,
and killed (whole group) by the test that started it, by `close_all()` at the end of the run,
by atexit, and on SIGTERM/SIGINT/SIGHUP, so nothing outlives the test run even when it fails.

Usage from a test file:
    import harness
    class MyTest(unittest.TestCase): ...
    if __name__ == "__main__":
        harness.main()        # parses --canarymesh/--sample, runs unittest
"""

import argparse
import atexit
import http.client
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

# ---- command line -------------------------------------------------------------------------

CANARYMESH = None  # path of the canarymesh binary
SAMPLE = None  # path of the canarymesh-sample binary
WORKDIR = None  # temporary directory for this run: configs, data dirs and logs

_ROOT_DIR_PREFIX = "cm-e2e-"

# kazoo warns on every dropped connection, which the outage tests cause on purpose.
logging.getLogger("kazoo").setLevel(logging.ERROR)


def main():
    """Parses the harness's own flags, runs the unittest main, cleans up, exits 0/1."""
    global CANARYMESH, SAMPLE, WORKDIR
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--canarymesh", required=True)
    parser.add_argument("--sample", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args, rest = parser.parse_known_args()
    CANARYMESH = os.path.abspath(args.canarymesh)
    SAMPLE = os.path.abspath(args.sample)
    for binary in (CANARYMESH, SAMPLE):
        if not os.access(binary, os.X_OK):
            sys.exit(f"not an executable: {binary}")
    WORKDIR = tempfile.mkdtemp(prefix=_ROOT_DIR_PREFIX)
    ok = False
    try:
        runner = unittest.TextTestRunner(verbosity=2, resultclass=_TimedResult)
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, testRunner=runner)
        ok = program.result.wasSuccessful()
    finally:
        close_all()
        if ok and not args.keep:
            shutil.rmtree(WORKDIR, ignore_errors=True)
        else:
            _print_logs()
            print(f"harness: logs and configs kept in {WORKDIR}", file=sys.stderr)
    sys.exit(0 if ok else 1)


def _print_logs():
    """On failure: the end of every canarymesh and announce log, for the CI output."""
    try:
        names = sorted(n for n in os.listdir(WORKDIR) if n.endswith(".log"))
    except OSError:
        return
    for name in names:
        if name.startswith(("proxy", "announce")):
            print(f"---- {name} (last lines)\n{log_tail(os.path.join(WORKDIR, name), 30)}", file=sys.stderr)


class _TimedResult(unittest.TextTestResult):
    """Prints each test's duration next to its verdict."""

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.stream.writeln(f"    ({time.monotonic() - self._started:.1f}s)")
        self.stream.flush()


# ---- process bookkeeping ------------------------------------------------------------------

_SETPRIV = shutil.which("setpriv")
_REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
# The ZooKeeper C client's known close-time leak (see the file); without it a sanitizer build of
# canarymesh exits non-zero at shutdown and the exit-code checks below would fail on it.
_LSAN_SUPPRESSIONS = os.path.join(_REPO, "tests", "discovery", "zookeeper_client.lsan.supp")


def _child_env():
    env = dict(os.environ)
    lsan = env.get("LSAN_OPTIONS", "")
    if os.path.exists(_LSAN_SUPPRESSIONS) and "suppressions=" not in lsan:
        env["LSAN_OPTIONS"] = ":".join(x for x in (lsan, f"suppressions={_LSAN_SUPPRESSIONS}") if x)
    return env
_live = []  # ManagedProcess objects not yet known to be dead
_closers = []  # other cleanups (kazoo clients)


def _on_signal(signum, _frame):
    # Turn the signal into SystemExit so that finally blocks and atexit run.
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(_sig, _on_signal)


def close_all():
    """Kills every process this run started and still holds; stops kazoo clients."""
    while _closers:
        closer = _closers.pop()
        try:
            closer()
        except Exception:  # noqa: BLE001 - cleanup must go on
            pass
    for proc in list(reversed(_live)):
        proc.kill()


atexit.register(close_all)


def log_tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()[-16384:]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class ManagedProcess:
    """A child process in its own process group, output appended to a log file."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.argv = list(argv)
        # Die with the test even if it is SIGKILLed (a ctest timeout): setpriv sets
        # PR_SET_PDEATHSIG, kept across exec, with no Python code between fork and exec (kazoo
        # runs threads, which makes preexec_fn unsafe).
        launch = ([_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []) + self.argv
        self.log_path = os.path.join(WORKDIR, f"{name}.log")
        with open(self.log_path, "ab") as log:
            log.write(f"==== {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                launch,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: killpg reaches all of it
                env=env if env is not None else _child_env(),
            )
        self.pid = self.popen.pid
        self.killed = False
        _live.append(self)

    def running(self):
        return self.popen.poll() is None

    def _signal_group(self, sig):
        # Only while the leader is unreaped is the group id surely still ours.
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self, timeout=15.0):
        """SIGTERM, wait up to `timeout`; SIGKILL if still alive. Returns the exit code."""
        self._signal_group(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            code = self.popen.wait(timeout=30)
        self._forget()
        return code

    def kill(self):
        self.killed = True
        self._signal_group(signal.SIGKILL)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self._forget()

    def _forget(self):
        if self in _live:
            _live.remove(self)

    def log(self, lines=40):
        return log_tail(self.log_path, lines)

    def stop_checked(self, timeout=15.0):
        """SIGTERM; fails the test (with the log) unless the process exits 0 in time."""
        if self.killed:
            return  # killed on purpose earlier
        if not self.running():
            code = self.popen.returncode
            self._forget()
        else:
            code = self.terminate(timeout)
        if code != 0:
            raise AssertionError(f"{self.name} exited with {code} after SIGTERM:\n{self.log()}")


# ---- ports and waiting --------------------------------------------------------------------


def free_port():
    """A loopback port that was free a moment ago (callers retry if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout, what, interval=0.05):
    """Polls `condition()` until it returns a truthy value, which is returned; fails the test
    with `what` (and the last value or exception) when `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = condition()
            if last:
                return last
        except (OSError, http.client.HTTPException, ValueError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


# ---- HTTP ---------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Response({self.status}, {self.text[:200]!r})"


class HttpClient:
    """One keep-alive HTTP/1.1 connection to host:port (reopened when the server closes it)."""

    def __init__(self, port, host="127.0.0.1", timeout=20.0, source_ip=None):
        self.host, self.port, self.timeout = host, port, timeout
        self.source = (source_ip, 0) if source_ip else None  # e.g. 127.0.0.7: any loopback address
        self.conn = None
        self.used = False

    def request(self, method, path, headers=None, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                                       source_address=self.source)
                self.used = False
            reused = self.used
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                # A keep-alive connection the server closed while idle: send once more on a
                # new one. A fresh connection failing is a real error.
                if reused and attempt == 0:
                    continue
                raise
            self.used = True
            result = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
            if resp.will_close:
                self.close()
            return result
        raise AssertionError("unreachable")

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def get_repeated_headers(self, path, header_lines):
        """GET with `header_lines` [(name, value)] sent as given, repeated names included."""
        self.close()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            for name, value in header_lines:
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def http_get(port, path, headers=None, timeout=10.0):
    client = HttpClient(port, timeout=timeout)
    try:
        return client.get(path, headers)
    finally:
        client.close()


# ---- Prometheus text format ---------------------------------------------------------------

_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def _unescape(value):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse_metrics(text):
    """Prometheus text exposition -> list of (name, {label: value}, float)."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            raise ValueError(f"unparsable metrics line: {line!r}")
        labels = {}
        if m.group(3):
            pos = 0
            body = m.group(3)
            while pos < len(body):
                lm = _LABEL_RE.match(body, pos)
                if not lm:
                    raise ValueError(f"unparsable labels in: {line!r}")
                labels[lm.group(1)] = _unescape(lm.group(2))
                pos = lm.end()
        samples.append((m.group(1), labels, float(m.group(4))))
    return samples


def metric_sum(samples, name, **labels):
    """Sum of the samples named `name` whose labels include `labels`; None if none match."""
    total, found = 0.0, False
    for sname, slabels, value in samples:
        if sname == name and all(slabels.get(k) == v for k, v in labels.items()):
            total += value
            found = True
    return total if found else None


# ---- canarymesh-sample --------------------------------------------------------------------


class SampleService:
    """canarymesh-sample on a kernel-chosen loopback port (it prints the port it bound)."""

    _counter = 0

    def __init__(self, version, *, service="sample", instance=None, error_rate=None,
                 latency_ms=None, forward=None, seed=None):
        SampleService._counter += 1
        self.version = version
        self.instance = instance or f"{service}-{version}-{SampleService._counter}"
        argv = [SAMPLE, "--listen", "127.0.0.1:0", "--version", version, "--service", service,
                "--instance", self.instance]
        if error_rate is not None:
            argv += ["--error-rate", str(error_rate)]
        if latency_ms is not None:
            argv += ["--latency-ms", str(latency_ms)]
        if forward is not None:
            argv += ["--forward", forward]
        if seed is not None:
            argv += ["--seed", str(seed)]
        self.process = ManagedProcess(f"sample-{self.instance}", argv)
        found = wait_until(self._bound_port, 20, f"sample {self.instance} to listen")
        self.port = found
        self.address = f"127.0.0.1:{self.port}"

    def _bound_port(self):
        if not self.process.running():
            raise AssertionError(f"sample {self.instance} exited:\n{self.process.log()}")
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.process.log())
        return int(m.group(1)) if m else None

    def stop(self):
        """Graceful stop; fails unless the sample exits 0 (a sanitizer build reports leaks)."""
        self.process.stop_checked()

    def kill(self):
        """A crash: SIGKILL."""
        self.process.kill()


# ---- ZooKeeper ----------------------------------------------------------------------------

_ZK_JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/zookeeper/zookeeper.jar"]
_SLF4J = ["/usr/share/java/slf4j-simple.jar", "/usr/share/java/slf4j-nop.jar"]


def _four_letter_word(port, word):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(word.encode())
            chunks = []
            while True:
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return ""


class ZooKeeper:
    """Debian's ZooKeeper (standalone) on a free loopback port with its own data dir. stop()
    and start() again keep the port and the data, like a server restart."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="zk-", dir=WORKDIR)
        self.port = None
        self.process = None
        self.starts = 0
        self.clients = []

    @property
    def connect(self):
        return f"127.0.0.1:{self.port}"

    def _classpath(self):
        jar = next((j for j in _ZK_JARS if os.path.exists(j)), None)
        if jar is None:
            raise AssertionError("zookeeper.jar not found: install Debian's 'zookeeper' package")
        parts = [self.dir, jar]
        binding = next((j for j in _SLF4J if os.path.exists(j)), None)
        if binding:
            parts.append(binding)
        return ":".join(parts)

    def _write_config(self):
        with open(os.path.join(self.dir, "zoo.cfg"), "w") as f:
            f.write(
                "tickTime=500\n"
                "minSessionTimeout=1000\n"
                "maxSessionTimeout=60000\n"
                f"dataDir={self.dir}/data\n"
                f"clientPort={self.port}\n"
                "clientPortAddress=127.0.0.1\n"
                "admin.enableServer=false\n"
                "4lw.commands.whitelist=ruok,srvr,mntr\n"
                "maxClientCnxns=0\n"
            )

    def serving(self):
        return (_four_letter_word(self.port, "ruok") == "imok"
                and "Mode: standalone" in _four_letter_word(self.port, "srvr"))

    def start(self, timeout=60.0):
        first = self.port is None
        for _attempt in range(3):
            if first:
                self.port = free_port()
            self._write_config()
            self.starts += 1
            java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") \
                if os.environ.get("JAVA_HOME") else "java"
            argv = [java, "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Djava.net.preferIPv4Stack=true", "-Dzookeeper.admin.enableServer=false",
                    "-cp", self._classpath(),
                    "org.apache.zookeeper.server.ZooKeeperServerMain",
                    os.path.join(self.dir, "zoo.cfg")]
            self.process = ManagedProcess(f"zookeeper-{self.starts}", argv)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.running():
                if self.serving():
                    return
                time.sleep(0.1)
            tail = self.process.log()
            self.process.kill()
            if not (first and "Address already in use" in tail):
                raise AssertionError(f"ZooKeeper did not start on port {self.port}:\n{tail}")
        raise AssertionError("ZooKeeper: no free port after 3 attempts")

    def stop(self):
        if self.process is not None:
            self.process.terminate(timeout=10)
            self.process = None

    def restart(self):
        self.stop()
        self.start()

    def client(self, timeout=10.0):
        """A started kazoo client, stopped and closed at the end of the run at the latest."""
        from kazoo.client import KazooClient

        client = KazooClient(hosts=self.connect, timeout=timeout)
        client.start(timeout=30)

        def close():
            try:
                client.stop()
            finally:
                client.close()

        _closers.append(close)
        self.clients.append(close)
        return client

    def close(self):
        """Stops this server's kazoo clients (while it still answers), then the server."""
        while self.clients:
            closer = self.clients.pop()
            try:
                closer()
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass
            if closer in _closers:
                _closers.remove(closer)
        self.stop()


def serverset_member(http_port, *, version=None, status="ALIVE", host="127.0.0.1",
                     service_port=None, shard=None):
    """A Finagle ServerSet member (Thrift ServiceInstance as JSON), as bytes."""
    member = {
        "serviceEndpoint": {"host": host, "port": service_port or http_port},
        "additionalEndpoints": {"http": {"host": host, "port": http_port}},
        "status": status,
    }
    if shard is not None:
        member["shard"] = shard
    if version is not None:
        member["metadata"] = {"version": version}
    return json.dumps(member).encode()


# ---- the proxy ----------------------------------------------------------------------------


class Proxy:
    """`canarymesh proxy` with a generated config. `config` is the YAML document as a dict,
    without ports: listeners are given as [{"name": ..., other fields}] and get free ports,
    admin gets a free port. JSON is valid YAML, so the file is written as JSON."""

    def __init__(self, config, name="proxy", ready_timeout=30.0):
        self.name = name
        self.process = None
        self.token = config.get("admin", {}).get("token")
        for attempt in range(3):
            cfg = json.loads(json.dumps(config))
            cfg.setdefault("admin", {})
            self.admin_port = free_port()
            cfg["admin"]["listen"] = f"127.0.0.1:{self.admin_port}"
            self.ports = {}
            for listener in cfg["listeners"]:
                if "listen" not in listener:  # a caller may fix a port it had to know first
                    listener["listen"] = f"127.0.0.1:{free_port()}"
                self.ports[listener.get("name", "listener")] = int(listener["listen"].rsplit(":", 1)[1])
            self.config_path = os.path.join(WORKDIR, f"{name}.yaml")
            with open(self.config_path, "w") as f:
                json.dump(cfg, f, indent=2)
            self.process = ManagedProcess(name, [CANARYMESH, "proxy", "--config", self.config_path])
            deadline = time.monotonic() + ready_timeout
            while time.monotonic() < deadline and self.process.running():
                try:
                    if http_get(self.admin_port, "/ready", timeout=2).status == 200:
                        return
                except (OSError, http.client.HTTPException):
                    pass
                time.sleep(0.05)
            tail = self.process.log()
            self.process.kill()
            if "cannot listen" not in tail and "in use" not in tail:
                raise AssertionError(f"proxy {name} did not become ready:\n{tail}")
        raise AssertionError(f"proxy {name}: no free ports after 3 attempts")

    @property
    def port(self):
        """The port of the first listener."""
        return next(iter(self.ports.values()))

    def client(self, listener=None, source_ip=None):
        return HttpClient(self.ports[listener] if listener else self.port, source_ip=source_ip)

    def admin(self, method, path, body=None, token=None):
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        client = HttpClient(self.admin_port, timeout=10)
        try:
            return client.request(method, path, headers=headers, body=body)
        finally:
            client.close()

    def admin_json(self, path):
        resp = self.admin("GET", path)
        if resp.status != 200:
            raise AssertionError(f"GET {path}: {resp}")
        return resp.json()

    def metrics(self):
        resp = self.admin("GET", "/metrics")
        if resp.status != 200:
            raise AssertionError(f"GET /metrics: {resp}")
        return parse_metrics(resp.text)

    def metric(self, name, **labels):
        return metric_sum(self.metrics(), name, **labels)

    def requests_total(self, service, version, result=None):
        labels = {"service": service, "version": version}
        if result:
            labels["result"] = result
        return self.metric("canarymesh_requests_total", **labels) or 0.0

    def service_instances(self, service):
        """{version: sorted [address]} from /admin/services (the published route table)."""
        for entry in self.admin_json("/admin/services")["services"]:
            if entry["service"] == service:
                return {v: sorted(i["address"] for i in insts)
                        for v, insts in entry["versions"].items()}
        raise AssertionError(f"service {service} not in /admin/services")

    def stop(self):
        """SIGTERM: the proxy drains and must exit 0 (a sanitizer build also checks for leaks)."""
        if self.process:
            self.process.stop_checked(timeout=30)


# ---- statistics ---------------------------------------------------------------------------


def binomial_bounds(n, p, sigmas=5.0):
    """[lo, hi] containing a Binomial(n, p) count except with probability ~ 6e-7 (5 sigma)."""
    mean = n * p
    sd = (n * p * (1 - p)) ** 0.5
    return mean - sigmas * sd, mean + sigmas * sd
