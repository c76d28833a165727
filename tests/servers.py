"""Real Mosquitto, InfluxDB 1.x and VictoriaMetrics servers for integration tests.

Each server runs as a subprocess on free loopback ports inside its own temporary directory, logs to
a file there, and can be stopped, crashed (SIGKILL) and restarted on the same ports with the same data.
A server that cannot start raises ``RuntimeError`` with its log tail: integration tests fail, never skip.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, ClassVar

__all__ = [
    "InfluxDB1",
    "Mosquitto",
    "ServerProcess",
    "VictoriaMetrics",
    "ensure_binary",
    "free_port",
    "http_request",
    "port_open",
    "wait_for_port",
    "wait_until",
]

LOOPBACK = "127.0.0.1"
_LOG_TAIL_BYTES = 4000
_EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin")

_ports_lock = threading.Lock()
_ports_handed_out: set[int] = set()
_apt_lock = threading.Lock()
_apt_updated = False
_live_servers: weakref.WeakSet[ServerProcess] = weakref.WeakSet()


# ---------------------------------------------------------------------------------------------------------
# helpers


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port the kernel just reported free, never the same one twice in this process.

    Remembering handed-out ports keeps two servers started in a row from racing for one port.
    """
    with _ports_lock:
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
            if port not in _ports_handed_out:
                _ports_handed_out.add(port)
                return port
    raise RuntimeError("could not find a free TCP port")


def port_open(host: str, port: int, timeout_s: float = 0.2) -> bool:
    """Whether something accepts TCP connections on host:port right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_until(
    predicate: Callable[[], bool], timeout_s: float = 10.0, interval_s: float = 0.05, message: str = ""
) -> None:
    """Poll ``predicate`` until it is true; raise ``TimeoutError`` after ``timeout_s``.

    Tests poll instead of sleeping fixed amounts so they stay fast on quick machines and robust on slow ones.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(message or f"condition not met within {timeout_s:.1f} s")
        time.sleep(interval_s)


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    """Wait until host:port accepts TCP connections."""
    wait_until(lambda: port_open(host, port), timeout_s, message=f"{host}:{port} not accepting connections")


# Environment proxies must not capture requests to our loopback servers.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(
    method: str,
    url: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> tuple[int, bytes]:
    """Send one HTTP request; return (status, body) for any status, raise ``OSError`` if unreachable."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), bytes(exc.read())


def _find_binary(name: str) -> str | None:
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(_EXTRA_BIN_DIRS)
    return shutil.which(name, path=path)


def ensure_binary(binary: str, package: str) -> str:
    """Path to ``binary``, installing Debian ``package`` first when missing and we may (root + apt-get).

    Debian's maintainer scripts may also start the packaged service on its default port; the tests
    never use default ports, so that does no harm.
    """
    global _apt_updated  # noqa: PLW0603 (one apt-get update per test session is enough)
    found = _find_binary(binary)
    if found:
        return found
    apt_get = _find_binary("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        raise RuntimeError(
            f"{binary} not found and cannot be installed automatically (need root and apt-get): "
            f"install the Debian package {package!r}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _apt_lock:
        found = _find_binary(binary)
        if found:
            return found
        steps: list[list[str]] = []
        if not _apt_updated:
            steps.append([apt_get, "update"])
        steps.append([apt_get, "install", "-y", "--no-install-recommends", package])
        for step in steps:
            result = subprocess.run(step, env=env, capture_output=True, text=True, timeout=600, check=False)
            if result.returncode != 0:
                tail = (result.stdout + result.stderr)[-_LOG_TAIL_BYTES:]
                raise RuntimeError(f"{' '.join(step)} failed with {result.returncode}:\n{tail}")
            if step[1] == "update":
                _apt_updated = True
    found = _find_binary(binary)
    if not found:
        raise RuntimeError(f"installed {package!r} but {binary} is still not on PATH")
    return found


@atexit.register
def _kill_leftovers() -> None:
    """Never leave servers running after the interpreter exits (a crashed session, a forgotten stop)."""
    for server in list(_live_servers):
        with contextlib.suppress(Exception):
            server.kill()


# ---------------------------------------------------------------------------------------------------------
# process base


class ServerProcess:
    """One server subprocess with start/stop/kill/restart; subclasses say how to run and probe it."""

    binary: ClassVar[str]
    package: ClassVar[str]
    start_timeout_s: ClassVar[float] = 30.0
    stop_timeout_s: ClassVar[float] = 15.0

    def __init__(self, workdir: Path, host: str = LOOPBACK) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.log_path = self.workdir / f"{type(self).__name__.lower()}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._started_once = False

    # subclass hooks -------------------------------------------------------------------------------------

    def _choose_ports(self) -> None:
        """Pick fresh ports; called before the first start only, so restarts keep them."""
        raise NotImplementedError

    def _command(self, executable: str) -> list[str]:
        """The argv to run, after writing any config file it needs."""
        raise NotImplementedError

    def _ready(self) -> bool:
        """Whether the server answers yet."""
        raise NotImplementedError

    # lifecycle -------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The subprocess id while it runs."""
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self) -> None:
        """Start and wait until ready; the first start retries on new ports if one was taken meanwhile."""
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        executable = ensure_binary(self.binary, self.package)
        attempts = 1 if self._started_once else 3
        for attempt in range(attempts):
            if not self._started_once:
                self._choose_ports()
            try:
                self._spawn_and_wait(executable)
            except _PortTakenError:
                if attempt + 1 == attempts:
                    raise RuntimeError(f"{self!r}: port taken {attempts} times:\n{self.log_tail()}") from None
                continue
            self._started_once = True
            return

    def _spawn_and_wait(self, executable: str) -> None:
        command = self._command(executable)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = self.log_path.open("ab")
        self._log.write(f"\n===== {time.strftime('%H:%M:%S')} {' '.join(command)}\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        _live_servers.add(self)
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            code = self._proc.poll()
            if code is not None:
                self._close_log()
                fresh = self._log_since(log_offset)
                if not self._started_once and "address already in use" in fresh.lower():
                    raise _PortTakenError
                raise RuntimeError(f"{self!r} exited with status {code} while starting; log tail:\n{fresh}")
            if self._ready():
                return
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError(
                    f"{self!r} not ready after {self.start_timeout_s:.0f} s; log tail:\n{self._log_since(log_offset)}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Graceful stop (SIGTERM, then wait; SIGKILL if it hangs). A stopped server is left alone."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=self.stop_timeout_s)
        self._after_exit()

    def kill(self) -> None:
        """Crash it (SIGKILL): no shutdown, no final flush; simulates power loss of the server."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=self.stop_timeout_s)
        self._after_exit()

    def restart(self) -> None:
        """Stop if running, then start again on the same ports with the same data."""
        self.stop()
        self.start()

    def _after_exit(self) -> None:
        self._close_log()
        _live_servers.discard(self)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                data = log.read()
        except OSError as exc:
            return f"(log unreadable: {exc})"
        return data[-_LOG_TAIL_BYTES:].decode("utf-8", "replace")

    def log_tail(self, size: int = _LOG_TAIL_BYTES) -> str:
        """The last ``size`` bytes of the server log, for failure messages."""
        try:
            total = self.log_path.stat().st_size
        except OSError:
            return "(no log)"
        return self._log_since(max(0, total - size))

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self._where()} {state} in {self.workdir}>"

    def _where(self) -> str:
        return self.host


class _PortTakenError(Exception):
    """The port picked for a first start was grabbed by someone else before the server bound it."""


# ---------------------------------------------------------------------------------------------------------
# Mosquitto


class Mosquitto(ServerProcess):
    """Mosquitto 2.x broker with a generated config; ``extra_config`` lines are appended verbatim.

    ``extra_config`` may be changed between stops and starts (password files, ACLs): the config file is
    rewritten on every start. With ``persistence=True`` the broker saves to its directory on a graceful
    stop; after ``kill()`` only what the last autosave wrote survives (add ``autosave_interval 1``).
    """

    binary = "mosquitto"
    package = "mosquitto"

    def __init__(
        self,
        workdir: Path,
        *,
        persistence: bool = False,
        extra_config: Sequence[str] = (),
        host: str = LOOPBACK,
    ) -> None:
        super().__init__(workdir, host)
        self.persistence = persistence
        self.extra_config = list(extra_config)
        self.config_path = self.workdir / "mosquitto.conf"
        self.persistence_dir = self.workdir / "persistence"
        self.port = 0

    def _choose_ports(self) -> None:
        self.port = free_port(self.host)

    def config_text(self) -> str:
        """The mosquitto.conf the next start will use."""
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            # Started as root, mosquitto would switch to user "mosquitto", who cannot write our temp dir.
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        if self.persistence:
            self.persistence_dir.mkdir(exist_ok=True)
            lines += ["persistence true", f"persistence_location {self.persistence_dir}/"]
        else:
            lines.append("persistence false")
        lines += self.extra_config
        return "\n".join(lines) + "\n"

    def _command(self, executable: str) -> list[str]:
        self.config_path.write_text(self.config_text())
        return [executable, "-c", str(self.config_path)]

    def _ready(self) -> bool:
        return port_open(self.host, self.port)

    def _where(self) -> str:
        return f"{self.host}:{self.port}"


# ---------------------------------------------------------------------------------------------------------
# InfluxDB 1.x


def quote_ident(name: str) -> str:
    """Quote an InfluxQL identifier (database, measurement) so any name is safe in a statement."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InfluxDB1(ServerProcess):
    """InfluxDB 1.x (Debian's influxd 1.6) with meta, data and WAL inside its temp directory."""

    binary = "influxd"
    package = "influxdb"

    def __init__(self, workdir: Path, host: str = LOOPBACK) -> None:
        super().__init__(workdir, host)
        self.config_path = self.workdir / "influxdb.conf"
        self.port = 0
        self.rpc_port = 0

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.port}"

    def _choose_ports(self) -> None:
        self.port = free_port(self.host)
        self.rpc_port = free_port(self.host)

    def config_text(self) -> str:
        """A minimal influxdb.conf: HTTP only, no reporting, no self-monitoring database, quiet logs."""
        return f"""\
reporting-disabled = true
bind-address = "{self.host}:{self.rpc_port}"

[meta]
  dir = "{self.workdir / "meta"}"
  logging-enabled = false

[data]
  dir = "{self.workdir / "data"}"
  wal-dir = "{self.workdir / "wal"}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{self.host}:{self.port}"
  log-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[ifql]
  enabled = false
"""

    def _command(self, executable: str) -> list[str]:
        self.config_path.write_text(self.config_text())
        return [executable, "-config", str(self.config_path)]

    def _ready(self) -> bool:
        try:
            status, _ = http_request("GET", f"{self.url}/ping", timeout_s=1.0)
        except OSError:
            return False
        return status == 204

    def _where(self) -> str:
        return self.url

    def query(self, influxql: str, db: str | None = None, *, epoch: str | None = None) -> dict[str, Any]:
        """Run InfluxQL via POST /query and return the parsed JSON; raise with the server's error text.

        ``epoch="ns"`` returns integer timestamps instead of RFC 3339 strings.
        """
        form = {"q": influxql}
        if db is not None:
            form["db"] = db
        if epoch is not None:
            form["epoch"] = epoch
        status, body = http_request(
            "POST",
            f"{self.url}/query",
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        text = body.decode("utf-8", "replace")
        if status != 200:
            raise RuntimeError(f"InfluxDB query {influxql!r} failed with {status}: {text}")
        result: dict[str, Any] = json.loads(text)
        errors = [result["error"]] if "error" in result else []
        errors += [r["error"] for r in result.get("results", []) if "error" in r]
        if errors:
            raise RuntimeError(f"InfluxDB query {influxql!r} failed: {'; '.join(map(str, errors))}")
        return result

    def create_database(self, name: str) -> None:
        """Create a database (a no-op when it exists)."""
        self.query(f"CREATE DATABASE {quote_ident(name)}")

    def drop_database(self, name: str) -> None:
        """Drop a database and its data."""
        self.query(f"DROP DATABASE {quote_ident(name)}")

    def rows(self, influxql: str, db: str, *, epoch: str | None = "ns") -> list[dict[str, Any]]:
        """Run a SELECT and return one dict per row (column name to value), across all series."""
        rows: list[dict[str, Any]] = []
        for result in self.query(influxql, db, epoch=epoch).get("results", []):
            for series in result.get("series", []):
                tags = series.get("tags", {})
                for values in series["values"]:
                    rows.append({**tags, **dict(zip(series["columns"], values, strict=True))})
        return rows


# ---------------------------------------------------------------------------------------------------------
# VictoriaMetrics


class VictoriaMetrics(ServerProcess):
    """Single-node VictoriaMetrics; takes InfluxDB line protocol at /write and /api/v2/write.

    Retention is 100 years so tests may write old fixed timestamps (the default, one month, silently
    drops them). Freshly written samples only become searchable after about a second: use ``export``,
    which polls.
    """

    binary = "victoria-metrics"
    package = "victoria-metrics"

    def __init__(self, workdir: Path, host: str = LOOPBACK, extra_args: Sequence[str] = ()) -> None:
        super().__init__(workdir, host)
        self.data_path = self.workdir / "data"
        self.extra_args = list(extra_args)
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.port}"

    def _choose_ports(self) -> None:
        self.port = free_port(self.host)

    def _command(self, executable: str) -> list[str]:
        return [
            executable,
            f"-httpListenAddr={self.host}:{self.port}",
            f"-storageDataPath={self.data_path}",
            "-retentionPeriod=100y",
            "-search.disableCache",
            "-search.latencyOffset=1s",
            *self.extra_args,
        ]

    def _ready(self) -> bool:
        try:
            status, _ = http_request("GET", f"{self.url}/health", timeout_s=1.0)
        except OSError:
            return False
        return status == 200

    def _where(self) -> str:
        return self.url

    def force_flush(self) -> None:
        """Ask VictoriaMetrics to flush buffered rows (not enough on its own in 1.79, see ``export``)."""
        status, body = http_request("GET", f"{self.url}/internal/force_flush")
        if status != 200:
            raise RuntimeError(f"force_flush failed with {status}: {body.decode('utf-8', 'replace')}")

    def export_once(self, match: str) -> list[dict[str, Any]]:
        """One /api/v1/export call: a dict per series with ``metric``, ``values`` and ``timestamps`` (ms)."""
        query = urllib.parse.urlencode({"match[]": match})
        status, body = http_request("GET", f"{self.url}/api/v1/export?{query}")
        text = body.decode("utf-8", "replace")
        if status != 200:
            raise RuntimeError(f"export {match!r} failed with {status}: {text}")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def export(self, match: str, *, min_samples: int = 1, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Export series matching a selector, waiting until at least ``min_samples`` samples are visible.

        VictoriaMetrics 1.79 makes new samples searchable only about one second after the write, even
        after /internal/force_flush, so this flushes and polls. After ``timeout_s`` it returns what it
        has, so the test's assertion shows the actual data. ``min_samples=0`` exports once.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self.force_flush()
            series = self.export_once(match)
            if sum(len(s.get("values", [])) for s in series) >= min_samples or time.monotonic() >= deadline:
                return series
            time.sleep(0.1)
