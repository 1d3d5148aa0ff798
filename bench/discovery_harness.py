"""Process harness for bench/discovery_bench.py: its own ZooKeeper (Debian's 3.8, started as
tests/integration/zk_server.cc does), the discovery_backend.py HTTP backend, canarymesh proxies
with their admin API, /proc readings and log following, and a small keep-alive HTTP client.

Every child runs in its own session under `setpriv --pdeathsig KILL` and is registered with
REAPER, which stops the process groups and removes the temp dirs at exit (atexit) or when the
caller says so. Not thread-safe: use from the main thread (pdeathsig follows the spawning thread).
"""

import atexit
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kazoo.client import KazooClient

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Processes and cleanup


class Reaper:
    """Owns every child process group and temp dir this script creates; stops them exactly once."""

    def __init__(self):
        self.procs = []
        self.dirs = []
        self.keep_dirs = False

    def spawn(self, argv, log_path=None, stdin=subprocess.DEVNULL, stdout=None, env=None):
        # setpriv --pdeathsig: the child dies with us even if we are SIGKILLed; own session so
        # that we can signal its whole process group and a terminal's Ctrl-C reaches us only.
        prefix = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            p = subprocess.Popen(prefix + list(argv), stdin=stdin,
                                 stdout=stdout if stdout is not None else out,
                                 stderr=out, start_new_session=True, env=env)
        finally:
            if log_path:
                out.close()
        self.procs.append(p)
        return p

    def stop(self, p, grace=10.0):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may hold more than the leader (it never should here, but be thorough).
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (p.stdin, p.stdout):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        if p in self.procs:
            self.procs.remove(p)

    def mkdtemp(self, prefix):
        d = tempfile.mkdtemp(prefix=prefix)
        self.dirs.append(d)
        return d

    def cleanup(self):
        for p in list(reversed(self.procs)):
            self.stop(p, grace=5.0)
        if not self.keep_dirs:
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)
        self.dirs = []


REAPER = Reaper()
atexit.register(REAPER.cleanup)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# ZooKeeper


class ZooKeeper:
    def __init__(self):
        self.dir = REAPER.mkdtemp("cm-dbench-zk-")
        self.port = 0
        self.proc = None

    def _classpath(self):
        jars = [j for j in ("/usr/share/java/zookeeper.jar", "/usr/share/zookeeper/zookeeper.jar")
                if os.access(j, os.R_OK)]
        if not jars:
            raise HarnessError("zookeeper.jar not found; install the 'zookeeper' package")
        cp = [self.dir, jars[0]]
        for binding in ("/usr/share/java/slf4j-simple.jar", "/usr/share/java/slf4j-nop.jar",
                        "/usr/share/java/slf4j-jdk14.jar"):
            if os.access(binding, os.R_OK):
                cp.append(binding)
                break
        return ":".join(cp)

    def _four(self, word):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(word.encode())
                out = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        return out.decode(errors="replace")
                    out += chunk
        except OSError:
            return ""

    def start(self, timeout=60):
        for _attempt in range(3):
            self.port = free_port()
            with open(os.path.join(self.dir, "zoo.cfg"), "w") as f:
                f.write(f"tickTime=500\nminSessionTimeout=1000\nmaxSessionTimeout=60000\n"
                        f"dataDir={self.dir}/data\nclientPort={self.port}\n"
                        f"clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                        f"4lw.commands.whitelist=ruok,srvr,mntr,cons\nmaxClientCnxns=0\n")
            java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
            argv = [java, "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.net.preferIPv4Stack=true",
                    "-Dzookeeper.admin.enableServer=false",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp", self._classpath(), "org.apache.zookeeper.server.ZooKeeperServerMain",
                    os.path.join(self.dir, "zoo.cfg")]
            self.proc = REAPER.spawn(argv, log_path=os.path.join(self.dir, "zookeeper.log"))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self._four("ruok") == "imok" and "Mode: standalone" in self._four("srvr"):
                    return
                time.sleep(0.1)
            tail = self.log_tail()
            REAPER.stop(self.proc)
            if "Address already in use" not in tail:
                raise HarnessError("ZooKeeper did not start; log tail:\n" + tail)
        raise HarnessError("ZooKeeper: no free port after 3 attempts")

    def log_tail(self, n=3000):
        try:
            with open(os.path.join(self.dir, "zookeeper.log"), "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def requests_received(self):
        """Requests the server has received on its open client connections (4lw `cons`)."""
        total = 0
        for m in re.finditer(r"\(queued=\d+,recved=(\d+),", self._four("cons")):
            total += int(m.group(1))
        return total

    def wait_quiet(self, timeout, window=1.0, noise=10):
        """Waits until clients send fewer than `noise` requests per `window` (pings only), twice
        in a row; returns the request count then (None on timeout)."""
        deadline = time.monotonic() + timeout
        last = self.requests_received()
        calm = 0
        while time.monotonic() < deadline:
            time.sleep(window)
            now = self.requests_received()
            calm = calm + 1 if now - last < noise else 0
            last = now
            if calm >= 2:
                return now
        return None

    @property
    def connect(self):
        return f"127.0.0.1:{self.port}"

    def client(self):
        zk = KazooClient(hosts=self.connect, timeout=10)
        zk.start(timeout=30)
        return zk


# ---------------------------------------------------------------------------------------------
# Backend


def member_address(group, idx):
    """A distinct loopback address per member: 127.<group + idx/62500>.<..>.<1..250>."""
    return f"127.{group + idx // 62500}.{(idx // 250) % 250 + 1}.{idx % 250 + 1}"


TTR_GROUP = 10
SCALE_GROUP = 20


class Backend:
    def __init__(self, addresses):
        self.dir = REAPER.mkdtemp("cm-dbench-backend-")
        self.addresses = addresses
        self.port = 0
        self.proc = None

    def start(self):
        path = os.path.join(self.dir, "addresses")
        with open(path, "w") as f:
            f.write("\n".join(self.addresses) + "\n")
        for _attempt in range(5):
            port = free_port()
            self.proc = REAPER.spawn(
                [sys.executable, str(HERE / "discovery_backend.py"), "--port", str(port),
                 "--addresses", path],
                log_path=os.path.join(self.dir, "backend.log"), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE)
            line = self.proc.stdout.readline().decode().strip()
            if line.startswith("ready"):
                self.port = port
                return
            REAPER.stop(self.proc)
            if not line.startswith("bind-failed"):
                raise HarnessError(f"backend failed to start: {line!r}")
        raise HarnessError("backend: could not bind every address on one port")


# ---------------------------------------------------------------------------------------------
# Proxy


def read_proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads", "RssAnon", "RssFile"):
                    out[k] = int(v.split()[0])  # kB, or a count for Threads
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Anonymous", "Private_Dirty"):
                    out["smaps_" + k] = int(v.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def set_dotted(config, key, value):
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def session_pid(leader, comm):
    """The pid of the process named `comm` in the session `leader` started (for wrappers)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if name == comm and int(fields[3]) == leader:  # fields[3]: session id
            return int(entry)
    return None


def thread_cpu(pid, prefix="cm-worker"):
    """CPU seconds per thread name starting with `prefix` (to see which workers served traffic)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            if name.startswith(prefix):
                out[name] = out.get(name, 0.0) + cpu_seconds(f"{pid}/task/{tid}")
        except OSError:
            pass
    return out


class Proxy:
    # Applied to every proxy: --proxy-set overrides, --proxy-env, --proxy-wrapper.
    overrides = {}
    env = {}
    wrapper = []

    def __init__(self, binary, name, zk_connect, services, workers, log_level):
        self.binary = binary
        self.name = name
        self.dir = REAPER.mkdtemp(f"cm-dbench-proxy-{name}-")
        self.listen_port = free_port()
        self.admin_port = free_port()
        self.config = {
            "workers": workers,
            "log_level": log_level,
            "admin": {"listen": f"127.0.0.1:{self.admin_port}"},
            "listeners": [{"name": "bench", "listen": f"127.0.0.1:{self.listen_port}"}],
            "zookeeper": {"connect": zk_connect, "session_timeout_ms": 10000},
            "services": services,
        }
        for key, value in Proxy.overrides.items():
            set_dotted(self.config, key, value)
        self.proc = None
        self.pid = None
        self.log_path = os.path.join(self.dir, "proxy.log")

    def start(self):
        path = os.path.join(self.dir, "proxy.yaml")
        with open(path, "w") as f:  # JSON is YAML flow style
            json.dump(self.config, f, indent=1)
        env = dict(os.environ, **Proxy.env) if Proxy.env else None
        self.started_at = time.perf_counter()
        self.proc = REAPER.spawn(Proxy.wrapper + [self.binary, "proxy", "--config", path],
                                 log_path=self.log_path, env=env)
        self.pid = self.proc.pid
        if Proxy.wrapper:  # measure and signal the proxy itself, not the wrapper
            deadline = time.monotonic() + 30
            self.pid = None
            while self.pid is None and time.monotonic() < deadline:
                self.check_alive()
                self.pid = session_pid(self.proc.pid, Path(self.binary).name[:15])
                time.sleep(0.05)
            if self.pid is None:
                raise HarnessError("wrapped proxy process not found")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            raise HarnessError(f"proxy {self.name} exited with {self.proc.returncode}; log tail:\n"
                               + self.log_tail())

    def admin_get(self, path, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if self.admin_get("/ready", timeout=2)[0] == 200:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.02)
        raise HarnessError(f"proxy {self.name} not ready after {timeout}s")

    def services(self):
        status, body = self.admin_get("/admin/services")
        if status != 200:
            raise HarnessError(f"/admin/services answered {status}")
        return json.loads(body)

    def metric(self, name):
        _, body = self.admin_get("/metrics")
        total = 0.0
        found = False
        for line in body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
                found = True
        return total if found else None

    def memory(self):
        return read_proc_status(self.pid)

    def cpu(self):
        return cpu_seconds(self.pid)

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def count_log(self, pattern):
        rx = re.compile(pattern)
        with open(self.log_path, errors="replace") as f:
            return sum(1 for line in f if rx.search(line))

    def stop(self):
        if not self.proc:
            return
        if Proxy.wrapper and self.alive():
            # Let the proxy exit cleanly so that a wrapper (heaptrack, perf) can finish its output.
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(timeout=300)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        REAPER.stop(self.proc, grace=15)


class PerfRecorder:
    """`perf record -e cpu-clock` on the proxy during one phase; a flat profile by thread and symbol."""

    def __init__(self, proxy, phase, enabled):
        self.proc = None
        self.phase = phase
        self.data = os.path.join(proxy.dir, f"perf-{phase}.data")
        if enabled:
            self.proc = REAPER.spawn(["perf", "record", "-e", "cpu-clock", "-F", "1999", "-p",
                                      str(proxy.pid), "-o", self.data],
                                     log_path=os.path.join(proxy.dir, "perf.log"))
            time.sleep(1.0)  # perf needs a moment to attach

    def finish(self, results):
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        REAPER.stop(self.proc)
        out = {}
        for sort in ("comm", "comm,dso,symbol"):
            report = subprocess.run(["perf", "report", "-i", self.data, "--stdio", "--sort", sort,
                                     "--percent-limit", "0.7"],
                                    capture_output=True, text=True, timeout=600).stdout
            lines = [" ".join(l.split())[:160] for l in report.splitlines()
                     if l.strip() and not l.startswith("#")]
            out[sort] = [l.rstrip(" -") for l in lines][:45]
        results.setdefault("perf", {})[self.phase] = out


MEMBERS_RX = re.compile(r'^canarymesh_serverset_members\{service="([^"]+)"\} (\S+)$', re.M)
PUBLISH_RX = re.compile(r"^(\S+Z) INFO .*\] serverset (\S+): (.*)$")


def services_complete(proxy, wanted, live):
    """Whether /admin/services shows every wanted service synced with `live` live instances."""
    ok = 0
    for s in proxy.services().get("services", []):
        if s["service"] in wanted and s.get("zookeeper", {}).get("synced") and s["live_instances"] == live:
            ok += 1
    return ok == len(wanted), len(wanted) - ok


class PublishLog:
    """Follows the proxy's log for the watcher's "serverset <svc>: v1=10, v2=10" lines (written
    just before each host set is handed to the route table): free for the proxy, ms timestamps."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = ""
        self.live = {}  # service -> (live instances, unix time of the line)
        # perf_counter() = unix time - skew
        self.skew = time.time() - time.perf_counter()

    def poll(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.offset)
                chunk = f.read()
                self.offset = f.tell()
        except OSError:
            return
        lines = (self.partial + chunk).split("\n")
        self.partial = lines.pop()
        for line in lines:
            m = PUBLISH_RX.match(line)
            if not m:
                continue
            count = sum(int(x) for x in re.findall(r"=(\d+)", m.group(3)))
            stamp = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=dt.timezone.utc).timestamp()
            self.live[m.group(2)] = (count, stamp - self.skew)


def wait_services(proxy, names, live, timeout, poll_s):
    """Waits until /admin/services shows every name synced with `live` live (routable) instances.

    /admin/services costs the proxy 0.1-0.6 s of CPU per call at 10,000 instances and /metrics
    tens of ms, so polling either would steal CPU from the discovery thread being measured. The
    gate is the watcher's publish lines in the proxy log (info level; else /metrics member
    counts); once every service shows `live`, one /admin/services call confirms that the route
    table has them. Returns a dict with times in time.perf_counter(): "lower" (the last publish
    line needed, or the /metrics poll) and "done" (the confirming reply), plus poll counts."""
    wanted = set(names)
    deadline = time.monotonic() + timeout
    out = {"gate": None, "metrics_polls": 0, "admin_polls": 0, "metrics_poll_s": 0.0,
           "admin_poll_s": 0.0}
    use_log = live > 0 and proxy.config.get("log_level", "info") in ("debug", "info")
    publish_log = PublishLog(proxy.log_path) if use_log else None
    missing = None
    gate_at = None
    while time.monotonic() < deadline:
        proxy.check_alive()
        t = time.perf_counter()
        try:
            if live > 0 and gate_at is None:
                if publish_log:
                    publish_log.poll()
                    done = [publish_log.live.get(n) for n in wanted]
                    missing = sum(1 for d in done if d is None or d[0] != live)
                    if missing == 0:
                        gate_at = max(d[1] for d in done)
                        out["gate"] = "log"
                        continue
                    time.sleep(0.02)
                    continue
                _, body = proxy.admin_get("/metrics")
                now = time.perf_counter()
                out["metrics_polls"] += 1
                out["metrics_poll_s"] = now - t
                counts = {m.group(1): float(m.group(2)) for m in MEMBERS_RX.finditer(body.decode())}
                missing = sum(1 for n in wanted if counts.get(n) != live)
                if missing == 0:
                    gate_at = now
                    out["gate"] = "metrics"
                    continue  # confirm right away
            else:
                complete, missing = services_complete(proxy, wanted, live)
                now = time.perf_counter()
                out["admin_polls"] += 1
                out["admin_poll_s"] = now - t
                if complete:
                    confirmed_first_try = gate_at is not None and out["admin_polls"] == 1
                    out["lower"] = gate_at if confirmed_first_try else t
                    out["done"] = now
                    return out
        except (OSError, ValueError):
            pass
        time.sleep(max(0.0, poll_s - (time.perf_counter() - t)))
    raise HarnessError(f"proxy {proxy.name}: {missing} of {len(wanted)} services not synced "
                       f"with {live} live instances after {timeout}s")


# ---------------------------------------------------------------------------------------------
# Request path


class HttpConn:
    """A keep-alive HTTP/1.1 client on a raw socket: small, predictable per-request cost."""

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by peer")
        self.buf += chunk

    def request(self, raw):
        for attempt in range(2):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(raw)
                while b"\r\n\r\n" not in self.buf:
                    self._recv()
                head, _, rest = self.buf.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                status = int(lines[0].split()[1])
                length = 0
                close = False
                for line in lines[1:]:
                    k, _, v = line.partition(b":")
                    k = k.strip().lower()
                    if k == b"content-length":
                        length = int(v)
                    elif k == b"connection" and b"close" in v.lower():
                        close = True
                self.buf = rest
                while len(self.buf) < length:
                    self._recv()
                body, self.buf = self.buf[:length], self.buf[length:]
                if close:
                    self.close()
                return status, body
            except (ConnectionError, socket.timeout, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")
