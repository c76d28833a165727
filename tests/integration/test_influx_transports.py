"""Write transports against real InfluxDB 1.6 and VictoriaMetrics, plus a stub for what those cannot show.

The stub HTTP server covers InfluxDB 3 (not available here), auth failures and hung servers.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from replens.config.influxdb import InfluxConfig
from replens.errors import ConfigError, TransientError
from replens.hub.storage.line_protocol import format_line
from replens.hub.storage.points import PointKey
from replens.hub.storage.transports import (
    InfluxSettings,
    V1Writer,
    V2Writer,
    V3Writer,
    WriteRejected,
    make_writer,
)
from tests.servers import InfluxDB1, VictoriaMetrics

pytestmark = pytest.mark.integration

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z in ns
SECRET = "s3cr3t-Pa55"


def _v1(server: InfluxDB1, db: str, **overrides: Any) -> InfluxSettings:
    return InfluxSettings(**{"host": server.host, "port": server.port, "database": db, "timeout_s": 5.0, **overrides})


def _v2(server: VictoriaMetrics, **overrides: Any) -> InfluxSettings:
    base = {
        "api_version": 2,
        "host": server.host,
        "port": server.port,
        "token": SECRET,
        "organization": "gym",
        "bucket": "replens",
        "timeout_s": 5.0,
    }
    return InfluxSettings(**{**base, **overrides})


def _lines(measurement: str) -> list[str]:
    return [
        format_line(measurement, {"exercise": "bench press", "station": "rack,1=a"}, {"reps": 8, "load_kg": 62.5}, T0),
        format_line(
            measurement,
            {"exercise": "squat", "station": "rack,1=a"},
            {"reps": 5, "load_kg": 100.0, "note": 'felt "heavy" \\ slow', "ok": True},
            T0 + 1_000_000,
        ),
    ]


# ---------------------------------------------------------------------------------------------------------
# InfluxDB 1.6, V1Writer


def test_v1_round_trip_with_escaping(influx_db: tuple[InfluxDB1, str]) -> None:
    server, db = influx_db
    writer = V1Writer(_v1(server, db))
    try:
        writer.write(_lines("lift sets,v1"))
    finally:
        writer.close()
    rows = server.rows('SELECT * FROM "lift sets,v1" ORDER BY time', db)
    assert rows == [
        {
            "time": T0,
            "exercise": "bench press",
            "station": "rack,1=a",
            "reps": 8,
            "load_kg": 62.5,
            "note": None,
            "ok": None,
        },
        {
            "time": T0 + 1_000_000,
            "exercise": "squat",
            "station": "rack,1=a",
            "reps": 5,
            "load_kg": 100,
            "note": 'felt "heavy" \\ slow',
            "ok": True,
        },
    ]


def test_v1_retention_policy_and_path_prefix_are_used(influx_db: tuple[InfluxDB1, str]) -> None:
    server, db = influx_db
    server.query(f'CREATE RETENTION POLICY "short" ON "{db}" DURATION 1h REPLICATION 1', db)
    writer = V1Writer(_v1(server, db, retention_policy="short", path="/"))
    writer.write([format_line("rp_probe", {}, {"v": 1}, time.time_ns())])
    writer.close()
    assert len(server.rows(f'SELECT v FROM "{db}"."short"."rp_probe"', db)) == 1
    assert server.rows("SELECT v FROM rp_probe", db) == []  # not in the default policy


def test_v1_unknown_database_is_rejected(influx_db: tuple[InfluxDB1, str]) -> None:
    server, _ = influx_db
    writer = V1Writer(_v1(server, "no_such_db", username="admin", password=SECRET))
    with pytest.raises(WriteRejected, match="database not found") as caught:
        writer.write(_lines("m"))
    assert caught.value.status == 404
    assert SECRET not in str(caught.value)


def test_v1_bad_data_is_rejected_with_server_text(influx_db: tuple[InfluxDB1, str]) -> None:
    server, db = influx_db
    writer = V1Writer(_v1(server, db))
    writer.write([format_line("typed", {}, {"v": 1.5}, T0)])
    with pytest.raises(WriteRejected, match="field type conflict") as caught:
        writer.write([format_line("typed", {}, {"v": "text"}, T0 + 1)])
    assert caught.value.status == 400
    with pytest.raises(WriteRejected, match="unable to parse"):
        writer.write(["not line protocol"])


def test_v1_unknown_retention_policy_is_transient(influx_db: tuple[InfluxDB1, str]) -> None:
    # InfluxDB 1.6 answers this with 500. Like a missing database it is a server-setup problem that an
    # operator fixes, so points wait (retried) instead of being set aside as bad.
    server, db = influx_db
    writer = V1Writer(_v1(server, db, retention_policy="nope"))
    with pytest.raises(TransientError, match="500: retention policy not found"):
        writer.write(_lines("m"))


def test_v1_stopped_server_is_transient_then_same_write_succeeds(influx_db: tuple[InfluxDB1, str]) -> None:
    server, db = influx_db
    writer = V1Writer(_v1(server, db))
    lines = _lines("outage")
    try:
        server.stop()
        started = time.monotonic()
        with pytest.raises(TransientError, match="unreachable"):
            writer.write(lines)
        assert time.monotonic() - started < 3
    finally:
        server.restart()
    writer.write(lines)
    assert [row["reps"] for row in server.rows("SELECT reps FROM outage", db)] == [8, 5]


def test_v1_delete_removes_exactly_the_one_point(influx_db: tuple[InfluxDB1, str]) -> None:
    """Same time, other tag; same tags, 1 ns later; other measurement: all stay. Deleting again is fine."""
    server, db = influx_db
    writer = V1Writer(_v1(server, db))
    tags = {"agent": "rack_1", "station": "bench", "exercise": "squat"}
    writer.write([format_line("set", tags, {"reps": 5}, T0), format_line("set", tags, {"reps": 6}, T0 + 1),
                  format_line("set", {**tags, "exercise": "lunge"}, {"reps": 7}, T0),
                  format_line("rep", tags, {"index": 1}, T0)])
    for _ in range(2):
        writer.delete(PointKey("set", tags, T0))
    writer.close()
    rows = server.rows('SELECT "exercise", "reps" FROM "set" ORDER BY time', db)
    assert sorted((r["time"], r["exercise"], r["reps"]) for r in rows) == [(T0, "lunge", 7), (T0 + 1, "squat", 6)]
    assert len(server.rows('SELECT * FROM "rep"', db)) == 1


def test_v1_delete_in_a_missing_database_waits_like_a_write(influx_db: tuple[InfluxDB1, str]) -> None:
    """InfluxDB answers 200 with the error inside: read as the 404 a write gets (set-up, retried by the hub)."""
    server, _ = influx_db
    writer = V1Writer(_v1(server, "no_such_db", username="admin", password=SECRET))
    with pytest.raises(WriteRejected, match="database not found") as caught:
        writer.delete(PointKey("set", {"agent": "a"}, T0))
    assert caught.value.status == 404 and SECRET not in str(caught.value)


# ---------------------------------------------------------------------------------------------------------
# VictoriaMetrics /api/v2/write, V2Writer (influxdb-client)


def test_v2_round_trip_through_victoria(victoria: VictoriaMetrics) -> None:
    measurement = f"lift_{uuid.uuid4().hex[:8]}"
    writer = V2Writer(_v2(victoria))
    try:
        writer.write(_lines(measurement))
    finally:
        writer.close()
    reps = victoria.export(f'{{__name__="{measurement}_reps"}}', min_samples=2)
    by_exercise = {s["metric"]["exercise"]: s for s in reps}
    assert set(by_exercise) == {"bench press", "squat"}
    assert by_exercise["squat"]["metric"] == {
        "__name__": f"{measurement}_reps",
        "exercise": "squat",
        "station": "rack,1=a",
    }
    assert by_exercise["bench press"]["values"] == [8]
    assert by_exercise["squat"]["values"] == [5]
    assert by_exercise["squat"]["timestamps"] == [(T0 + 1_000_000) // 1_000_000]  # VictoriaMetrics keeps ms
    loads = victoria.export(f'{{__name__="{measurement}_load_kg"}}', min_samples=2)
    assert sorted(v for s in loads for v in s["values"]) == [62.5, 100]
    [ok] = victoria.export(f'{{__name__="{measurement}_ok"}}')
    assert ok["values"] == [1]


def test_v2_stopped_victoria_fails_fast_then_recovers(victoria: VictoriaMetrics) -> None:
    measurement = f"outage_{uuid.uuid4().hex[:8]}"
    writer = V2Writer(_v2(victoria))
    lines = [format_line(measurement, {}, {"v": 3}, T0)]
    try:
        victoria.stop()
        started = time.monotonic()
        with pytest.raises(TransientError, match="unreachable") as caught:
            writer.write(lines)
        assert time.monotonic() - started < 3
        assert SECRET not in str(caught.value)
    finally:
        victoria.restart()
    writer.write(lines)
    writer.close()
    [series] = victoria.export(f'{{__name__="{measurement}_v"}}')
    assert series["values"] == [3]


def test_victoria_cannot_delete_points_and_says_so(victoria: VictoriaMetrics) -> None:
    """v2: 400 "unsupported path" (the hub sets the delete aside). v1: /query answers every statement with a
    list of databases; taking that for a delete done would leave the old point silently."""
    key = PointKey("set", {"agent": "a"}, T0)
    writer = V2Writer(_v2(victoria))
    with pytest.raises(WriteRejected, match="unsupported path") as refused:
        writer.delete(key)
    writer.close()
    assert refused.value.status == 400
    v1 = V1Writer(InfluxSettings(host=victoria.host, port=victoria.port, database="replens", timeout_s=5.0))
    with pytest.raises(WriteRejected, match="did not run it") as ignored:
        v1.delete(key)
    assert ignored.value.status is None


# ---------------------------------------------------------------------------------------------------------
# stub server: InfluxDB 3, auth errors, overload and hangs


@dataclass
class Reply:
    status: int = 204
    body: bytes = b""
    delay_s: float = 0.0


@dataclass
class Stub:
    """Records requests and answers each with ``reply``."""

    port: int = 0
    reply: Reply = field(default_factory=Reply)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@contextlib.contextmanager
def _serve(tls: ssl.SSLContext | None = None) -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append((self.path, dict(self.headers.items()), body))
            reply = state.reply
            if reply.delay_s:
                state.release.wait(reply.delay_s)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def stub() -> Iterator[Stub]:
    with _serve() as state:
        yield state


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made with the openssl CLI."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_stub(tls_cert: tuple[Path, Path]) -> Iterator[Stub]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    with _serve(context) as state:
        yield state


def _stub_settings(stub: Stub, **overrides: Any) -> InfluxSettings:
    base = {"host": "127.0.0.1", "port": stub.port, "timeout_s": 2.0}
    return InfluxSettings(**{**base, **overrides})


def test_v3_request_shape(stub: Stub) -> None:
    writer = make_writer(_stub_settings(stub, api_version=3, database="gym", token=SECRET, path="/influx/"))
    assert isinstance(writer, V3Writer)
    writer.write(["m f=1i 1", "m f=2i 2"])
    [(path, headers, body)] = stub.requests
    url = urlsplit(path)
    assert url.path == "/influx/api/v3/write_lp"
    assert parse_qs(url.query) == {"db": ["gym"], "precision": ["nanosecond"], "accept_partial": ["false"]}
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert body == b"m f=1i 1\nm f=2i 2"


def test_v1_sends_basic_auth_and_redacts_echoed_password(stub: Stub) -> None:
    stub.reply = Reply(401, b'{"error":"authorization failed for ' + SECRET.encode() + b'"}')
    writer = make_writer(_stub_settings(stub, database="gym", username="coach", password=SECRET))
    assert isinstance(writer, V1Writer)
    with pytest.raises(WriteRejected, match="authorization failed") as caught:
        writer.write(["m f=1i 1"])
    assert caught.value.status == 401
    assert SECRET not in str(caught.value)
    [(path, headers, _)] = stub.requests
    assert parse_qs(urlsplit(path).query) == {"db": ["gym"], "precision": ["ns"]}
    assert headers["Authorization"] == "Basic Y29hY2g6czNjcjN0LVBhNTU="  # coach:s3cr3t-Pa55


@pytest.mark.parametrize("api_version", [1, 2, 3])
@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, WriteRejected), (401, WriteRejected), (404, WriteRejected), (429, TransientError), (503, TransientError)],
)
def test_status_mapping(stub: Stub, api_version: int, status: int, expected: type[Exception]) -> None:
    stub.reply = Reply(status, b'{"code":"x","message":"server says ' + str(status).encode() + b'"}')
    settings = _stub_settings(
        stub, api_version=api_version, token=SECRET, organization="gym", bucket="replens", database="gym"
    )
    writer = make_writer(settings)
    with pytest.raises(expected, match=f"server says {status}") as caught:
        writer.write(["m f=1i 1"])
    assert SECRET not in str(caught.value)
    writer.close()


@pytest.mark.parametrize("api_version", [1, 2, 3])
def test_hung_server_times_out_as_transient(stub: Stub, api_version: int) -> None:
    stub.reply = Reply(204, delay_s=30)
    settings = _stub_settings(
        stub, api_version=api_version, token=SECRET, organization="gym", bucket="replens", timeout_s=0.5
    )
    writer = make_writer(settings)
    started = time.monotonic()
    with pytest.raises(TransientError):
        writer.write(["m f=1i 1"])
    assert time.monotonic() - started < 2.5
    assert len(stub.requests) == 1  # no hidden retries
    writer.close()


def test_v2_uses_bucket_org_and_token(stub: Stub) -> None:
    writer = make_writer(_stub_settings(stub, api_version=2, token=SECRET, organization="gym", bucket="replens"))
    assert isinstance(writer, V2Writer)
    writer.write(["m f=1i 1"])
    writer.close()
    [(path, headers, body)] = stub.requests
    url = urlsplit(path)
    assert url.path == "/api/v2/write"
    assert parse_qs(url.query) == {"org": ["gym"], "bucket": ["replens"], "precision": ["ns"]}
    assert headers["Authorization"] == f"Token {SECRET}"
    assert body == b"m f=1i 1"


def test_v2_delete_request_shape(stub: Stub) -> None:
    """VictoriaMetrics has no /api/v2/delete, so the request InfluxDB 2.x would get is checked here."""
    stub.reply = Reply(204)
    writer = make_writer(_stub_settings(stub, api_version=2, token=SECRET, organization="gym", bucket="replens"))
    writer.delete(PointKey("set", {"agent": "rack_1", "station": "bench", "exercise": "squat"}, T0 + 5))
    writer.close()
    [(path, headers, body)] = stub.requests
    url = urlsplit(path)
    assert url.path == "/api/v2/delete"
    assert parse_qs(url.query) == {"org": ["gym"], "bucket": ["replens"]}
    assert headers["Authorization"] == f"Token {SECRET}"
    assert json.loads(body) == {
        "start": "2023-11-14T22:13:20.000000005Z", "stop": "2023-11-14T22:13:20.000000006Z",
        "predicate": '_measurement="set" AND "agent"="rack_1" AND "exercise"="squat" AND "station"="bench"'}


def test_v1_delete_request_shape(stub: Stub) -> None:
    stub.reply = Reply(200, b'{"results":[{"statement_id":0}]}')
    writer = make_writer(_stub_settings(stub, database="gym", username="coach", password=SECRET, path="/influx"))
    writer.delete(PointKey("set", {"agent": "rack_1"}, T0))
    [(path, headers, body)] = stub.requests
    assert path == "/influx/query"
    assert parse_qs(body.decode()) == {"q": [f"DELETE FROM \"set\" WHERE \"agent\"='rack_1' AND time = {T0}"],
                                       "db": ["gym"]}
    assert headers["Authorization"] == "Basic Y29hY2g6czNjcjN0LVBhNTU="
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_v3_cannot_delete_a_point_and_sends_nothing(stub: Stub) -> None:
    writer = make_writer(_stub_settings(stub, api_version=3, database="gym", token=SECRET))
    with pytest.raises(WriteRejected, match="cannot delete a single point") as caught:
        writer.delete(PointKey("set", {"agent": "a"}, T0))
    assert caught.value.status is None and stub.requests == []


@pytest.mark.parametrize("api_version", [1, 2])
@pytest.mark.parametrize(("status", "expected"), [(400, WriteRejected), (401, WriteRejected),
                                                  (404, WriteRejected), (429, TransientError),
                                                  (501, WriteRejected), (503, TransientError)])
def test_delete_status_mapping(stub: Stub, api_version: int, status: int, expected: type[Exception]) -> None:
    """As for writes, except 501: a server without deletes says so for good (a write's 501 is retried)."""
    stub.reply = Reply(status, b'{"code":"x","message":"server says ' + str(status).encode() + b'"}')
    writer = make_writer(_stub_settings(stub, api_version=api_version, token=SECRET, organization="gym",
                                        bucket="replens", database="gym"))
    with pytest.raises(expected, match=f"server says {status}"):
        writer.delete(PointKey("set", {"agent": "a"}, T0))
    writer.close()


# ---------------------------------------------------------------------------------------------------------
# settings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_version": 2, "bucket": "b"}, "needs organization"),
        ({"api_version": 2, "organization": "o"}, "needs bucket"),
        ({"database": ""}, "needs a database"),
        ({"port": 0}, "out of range"),
        ({"timeout_s": 0}, "positive"),
    ],
)
def test_settings_validation(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        InfluxSettings(**overrides)


def test_settings_from_config() -> None:
    config = InfluxConfig(api_version=2, token=SECRET, organization="gym", bucket="b", ssl_ca_cert=Path("/ca.pem"))
    settings = InfluxSettings.from_config(config)
    assert (settings.api_version, settings.token, settings.organization, settings.bucket) == (2, SECRET, "gym", "b")
    assert settings.ssl_ca_cert == "/ca.pem"
    assert settings.timeout_s == config.timeout_s


def test_settings_repr_hides_secrets_and_builds_urls() -> None:
    settings = InfluxSettings(host="::1", port=8443, ssl=True, path="/db/", password=SECRET, token=SECRET)
    assert SECRET not in repr(settings)
    assert settings.base_url == "https://[::1]:8443/db"


def test_v3_partial_write_error_names_the_bad_line(stub: Stub) -> None:
    stub.reply = Reply(
        400,
        b'{"error":"parsing failed for write_lp endpoint","data":[{"original_line":"m f=","line_number":2,'
        b'"error_message":"missing field value"}]}',
    )
    writer = make_writer(_stub_settings(stub, api_version=3, database="gym", token=SECRET))
    with pytest.raises(WriteRejected, match=r"parsing failed .*line_number.*missing field value") as caught:
        writer.write(["m f=1i 1", "m f="])
    assert caught.value.status == 400


_ALL_VERSIONS: dict[str, Any] = {
    "token": SECRET,
    "organization": "gym",
    "bucket": "replens",
    "database": "gym",
    "ssl": True,
}


@pytest.mark.parametrize("api_version", [1, 2, 3])
def test_tls_with_custom_ca(tls_stub: Stub, tls_cert: tuple[Path, Path], api_version: int) -> None:
    settings = _stub_settings(tls_stub, api_version=api_version, ssl_ca_cert=str(tls_cert[0]), **_ALL_VERSIONS)
    writer = make_writer(settings)
    writer.write(["m f=1i 1"])
    writer.close()
    assert len(tls_stub.requests) == 1


@pytest.mark.parametrize("api_version", [1, 2, 3])
def test_tls_without_verification(tls_stub: Stub, api_version: int) -> None:
    writer = make_writer(_stub_settings(tls_stub, api_version=api_version, verify_ssl=False, **_ALL_VERSIONS))
    writer.write(["m f=1i 1"])  # no InsecureRequestWarning either: warnings are errors in this suite
    writer.close()
    assert len(tls_stub.requests) == 1


@pytest.mark.parametrize("api_version", [1, 2, 3])
def test_tls_untrusted_certificate_is_transient(tls_stub: Stub, api_version: int) -> None:
    writer = make_writer(_stub_settings(tls_stub, api_version=api_version, **_ALL_VERSIONS))
    with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
        writer.write(["m f=1i 1"])
    writer.close()
    assert tls_stub.requests == []


@pytest.mark.parametrize("api_version", [1, 2, 3])
def test_missing_ca_file_is_a_config_error(tmp_path: Path, api_version: int) -> None:
    options = {**_ALL_VERSIONS, "api_version": api_version, "ssl_ca_cert": str(tmp_path / "nope.pem")}
    settings = InfluxSettings(**options)
    with pytest.raises(ConfigError, match="ssl_ca_cert"):
        make_writer(settings)
