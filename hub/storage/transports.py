"""Blocking writers that push line-protocol batches to InfluxDB 1.x, 2.x or 3.x, and delete single points.

The hub calls them through ``asyncio.to_thread``; each ``write`` either lands the whole batch or raises,
and the exception type tells the hub whether to retry (``TransientError``) or give the batch up
(``WriteRejected``). ``delete`` removes the one point with a key (deletes.py builds the requests) and
raises the same way; a server without the feature (501, or InfluxDB 3) refuses it for good.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from replens.errors import ConfigError, RepLensError, TransientError
from replens.hub.storage.deletes import (
    V3_NO_POINT_DELETE,
    QueryRefused,
    influxql_delete,
    influxql_outcome,
    v2_delete_request,
)
from replens.hub.storage.points import PointKey

if TYPE_CHECKING:
    from replens.config.influxdb import InfluxConfig

__all__ = [
    "InfluxSettings",
    "LineWriter",
    "V1Writer",
    "V2Writer",
    "V3Writer",
    "WriteRejected",
    "make_writer",
]

_MAX_ERROR_TEXT = 500
# 408 (request timeout) and 429 (too many requests) are 4xx but say "later", not "never".
_RETRYABLE_4XX = frozenset({408, 429})
DELETE = "a delete"
_DELETE_NEVER = frozenset({501})
"""For a delete, a 5xx that says "never" (no delete endpoint): retrying it would hold up every later point."""


class WriteRejected(RepLensError):  # noqa: N818 (name fixed by the hub's interface)
    """Permanent: the server refused the batch (bad data, unknown database, bad credentials).

    ``status`` is the HTTP status, so a caller can still choose to wait out setup problems (401/403/404)
    while setting bad points (400) aside.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LineWriter(Protocol):
    """Writes batches of line-protocol strings (precision ns); blocking, so run it in a thread."""

    def write(self, lines: Sequence[str]) -> None:
        """Write every line or raise ``TransientError`` / ``WriteRejected``."""
        ...

    def delete(self, key: PointKey) -> None:
        """Delete the one point with this key (none there is fine) or raise ``TransientError`` / ``WriteRejected``."""
        ...

    def close(self) -> None:
        """Release connections; the writer is unusable afterwards."""
        ...


@dataclass(frozen=True, kw_only=True)
class InfluxSettings:
    """Where and how to write; key names follow Home Assistant's ``influxdb`` integration.

    Secrets are kept out of ``repr`` so a logged settings object never leaks them.
    """

    api_version: Literal[1, 2, 3] = 1
    host: str = "localhost"
    port: int = 8086
    ssl: bool = False
    verify_ssl: bool = True
    ssl_ca_cert: str | None = None
    path: str = ""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str = "replens"
    retention_policy: str | None = None
    token: str | None = field(default=None, repr=False)
    organization: str | None = None
    bucket: str | None = None
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        """Fail at startup, not at the first write, when a setting can never work."""
        problems: list[str] = []
        if self.api_version not in (1, 2, 3):
            problems.append(f"api_version must be 1, 2 or 3, not {self.api_version!r}")
        if not 1 <= self.port <= 65535:
            problems.append(f"port {self.port} is out of range")
        if not self.host:
            problems.append("host is empty")
        if not self.timeout_s > 0:
            problems.append("timeout_s must be positive")
        if self.api_version in (1, 3) and not self.database:
            problems.append(f"api_version {self.api_version} needs a database")
        if self.api_version == 2:
            problems += [f"api_version 2 needs {k}" for k in ("organization", "bucket") if not getattr(self, k)]
        if problems:
            raise ConfigError("influxdb: " + "; ".join(problems))

    @classmethod
    def from_config(cls, config: InfluxConfig) -> InfluxSettings:
        """Build from the validated ``influxdb:`` config section (unwrapping its secrets)."""
        return cls(
            api_version=config.api_version,
            host=config.host,
            port=config.port,
            ssl=config.ssl,
            verify_ssl=config.verify_ssl,
            ssl_ca_cert=str(config.ssl_ca_cert) if config.ssl_ca_cert is not None else None,
            path=config.path,
            username=config.username,
            password=config.password.get_secret_value() if config.password is not None else None,
            database=config.database,
            retention_policy=config.retention_policy,
            token=config.token.get_secret_value() if config.token is not None else None,
            organization=config.organization,
            bucket=config.bucket,
            timeout_s=config.timeout_s,
        )

    @property
    def base_url(self) -> str:
        """Scheme, host, port and path prefix, without a trailing slash."""
        scheme = "https" if self.ssl else "http"
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        prefix = self.path.strip("/")
        return f"{scheme}://{host}:{self.port}" + (f"/{prefix}" if prefix else "")

    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in an error message."""
        return tuple(s for s in (self.password, self.token) if s)


def _redact(text: str, secrets: Iterable[str]) -> str:
    """Blank out secrets in text that came from a server or a library, just in case it echoes them."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _server_text(body: bytes | str | None, secrets: Iterable[str]) -> str:
    """Turn an error body into one short printable line, unwrapping InfluxDB's JSON error envelopes.

    1.x sends ``{"error": ...}``, 2.x ``{"code": ..., "message": ...}``, 3.x ``{"error": ..., "data": [...]}``
    where ``data`` lists the offending lines.
    """
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        envelope = json.loads(text)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict):
        message = envelope.get("error") or envelope.get("message")
        if isinstance(message, str):
            details = envelope.get("data")
            text = f"{message}: {json.dumps(details)}" if details else message
    text = " ".join(text.split())
    if len(text) > _MAX_ERROR_TEXT:
        text = text[:_MAX_ERROR_TEXT] + "…"
    return _redact(text, secrets)


def _classify(where: str, status: int, text: str, what: str) -> RepLensError:
    """Retry later (5xx, 408, 429, no status) or give up (other 4xx; and 501 for a delete)."""
    never = _DELETE_NEVER if what == DELETE else frozenset()
    if status not in never and (status >= 500 or status in _RETRYABLE_4XX or status == 0):
        return TransientError(f"InfluxDB at {where} answered {status}: {text}")
    return WriteRejected(f"InfluxDB at {where} rejected {what} ({status}): {text}", status=status)


def _ssl_context(settings: InfluxSettings) -> ssl.SSLContext | None:
    """TLS context honouring ``verify_ssl`` and ``ssl_ca_cert``; None for plain http."""
    if not settings.ssl:
        return None
    try:
        context = ssl.create_default_context(cafile=settings.ssl_ca_cert)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"influxdb: cannot load ssl_ca_cert {settings.ssl_ca_cert!r}: {exc}") from exc
    if not settings.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _body(lines: Sequence[str]) -> str:
    """One request body, one point per line (a trailing newline on a line is tolerated)."""
    return "\n".join(line.rstrip("\n") for line in lines)


class _HttpLineWriter:
    """Shared urllib plumbing for the v1 and v3 HTTP endpoints (stdlib only, no connection pool)."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self._secrets = settings.secrets()
        # No ProxyHandler from the environment: the database usually sits on the LAN, and a stray
        # http_proxy variable would otherwise route writes (and credentials) through a proxy.
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        context = _ssl_context(settings)
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self._closed = False

    def _url(self, endpoint: str, query: dict[str, str]) -> str:
        return f"{self._settings.base_url}{endpoint}?{urllib.parse.urlencode(query)}"

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _classify(self, status: int, text: str, what: str = "the batch") -> RepLensError:
        """Map an HTTP error status to retry-later or give-up."""
        return _classify(self._settings.base_url, status, text, what)

    def _post(self, url: str, data: bytes, headers: dict[str, str] | None = None, what: str = "the batch") -> bytes:
        if self._closed:
            raise RuntimeError("writer is closed")
        # S310: the URL is always http(s), built from settings by base_url.
        request = urllib.request.Request(url, data=data, method="POST",  # noqa: S310
                                         headers={**self._headers(), **(headers or {})})
        where = self._settings.base_url
        try:
            with self._opener.open(request, timeout=self._settings.timeout_s) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                text = _server_text(exc.read(), self._secrets) or exc.reason
            raise self._classify(exc.code, text, what) from None
        except urllib.error.URLError as exc:
            reason = _redact(str(exc.reason), self._secrets)
            raise TransientError(f"InfluxDB at {where} unreachable: {reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            # TimeoutError, ConnectionResetError, RemoteDisconnected, IncompleteRead, ...
            reason = _redact(f"{type(exc).__name__}: {exc}", self._secrets)
            raise TransientError(f"InfluxDB at {where} failed mid-request: {reason}") from None

    def close(self) -> None:
        """Nothing pooled to release; just refuse further writes."""
        self._closed = True


class V1Writer(_HttpLineWriter):
    """InfluxDB 1.x ``/write`` (also served by 2.x/3.x compatibility endpoints and VictoriaMetrics)."""

    def __init__(self, settings: InfluxSettings) -> None:
        super().__init__(settings)
        query = {"db": settings.database, "precision": "ns"}
        if settings.retention_policy:
            query["rp"] = settings.retention_policy
        self._write_url = self._url("/write", query)
        self._query_url = f"{settings.base_url}/query"  # the statement and database go in the form body

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self._settings.username:
            pair = f"{self._settings.username}:{self._settings.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    def write(self, lines: Sequence[str]) -> None:
        """POST the batch; 204 means every point was stored."""
        if lines:
            self._post(self._write_url, _body(lines).encode("utf-8"))

    def delete(self, key: PointKey) -> None:
        """InfluxQL ``DELETE … AND time = <ns>`` on ``/query``; its errors come inside a 200 answer."""
        statement = influxql_delete(key)
        form = urllib.parse.urlencode({"q": statement, "db": self._settings.database}).encode()
        body = self._post(self._query_url, form, {"Content-Type": "application/x-www-form-urlencoded"}, DELETE)
        try:
            influxql_outcome(body)
        except QueryRefused as err:
            where, text = self._settings.base_url, _redact(str(err), self._secrets)
            status = 404 if err.setup else None  # a missing database is set-up, like a write's 404
            raise WriteRejected(f"InfluxDB at {where} refused {statement}: {text}", status=status) from None


class V3Writer(_HttpLineWriter):
    """InfluxDB 3 Core/Enterprise ``/api/v3/write_lp`` with a Bearer token.

    Not tested against a real InfluxDB 3 here (no server package available); the tests check the
    request it sends and its error mapping against a stub HTTP server only.
    """

    def __init__(self, settings: InfluxSettings) -> None:
        super().__init__(settings)
        # accept_partial=false: a bad line fails the whole batch instead of silently dropping that line.
        query = {"db": settings.database, "precision": "nanosecond", "accept_partial": "false"}
        self._write_url = self._url("/api/v3/write_lp", query)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self._settings.token:
            headers["Authorization"] = f"Bearer {self._settings.token}"
        return headers

    def write(self, lines: Sequence[str]) -> None:
        """POST the batch; any 2xx means it was stored."""
        if lines:
            self._post(self._write_url, _body(lines).encode("utf-8"))

    def delete(self, key: PointKey) -> None:
        """InfluxDB 3 Core cannot delete a point: refused for good, without a request."""
        raise WriteRejected(f"{V3_NO_POINT_DELETE} ({key.measurement} at {key.time_ns}, tags {key.tags})")


class V2Writer:
    """InfluxDB 2.x through the official ``influxdb-client``, synchronous, without internal retries."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self._secrets = settings.secrets()
        _ssl_context(settings)  # fail now, as V1/V3 do, if ssl_ca_cert cannot be loaded
        if settings.ssl and not settings.verify_ssl:
            # The user turned checks off on purpose; urllib3 would otherwise warn on every single write.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self._bucket = settings.bucket or ""
        self._org = settings.organization or ""
        self._client: Any = InfluxDBClient(
            url=settings.base_url,
            token=settings.token or "",
            org=self._org,
            timeout=int(settings.timeout_s * 1000),
            verify_ssl=settings.verify_ssl,
            ssl_ca_cert=settings.ssl_ca_cert,
            retries=False,  # the hub owns retrying; urllib3 retries would hide outages and stall writes
            enable_gzip=False,
        )
        self._write_api: Any = self._client.write_api(write_options=SYNCHRONOUS)
        self._delete_api: Any = self._client.delete_api()
        self._closed = False

    def write(self, lines: Sequence[str]) -> None:
        """Write the batch with precision ns; raise promptly (within ``timeout_s``) on any failure."""
        if self._closed:
            raise RuntimeError("writer is closed")
        if not lines:
            return
        body = _body(lines)
        self._call(lambda: self._write_api.write(bucket=self._bucket, org=self._org, record=body,
                                                 write_precision=WritePrecision.NS), "the batch")

    def delete(self, key: PointKey) -> None:
        """``POST /api/v2/delete``: the point's time range (see deletes.py) and a predicate on its tags."""
        if self._closed:
            raise RuntimeError("writer is closed")
        request = v2_delete_request(key)
        self._call(lambda: self._delete_api.delete(request["start"], request["stop"], request["predicate"],
                                                   bucket=self._bucket, org=self._org), DELETE)

    def _call(self, send: Any, what: str) -> None:
        where = self._settings.base_url
        try:
            send()
        except ApiException as exc:
            text = _server_text(exc.body, self._secrets) or _server_text(exc.reason, self._secrets)
            raise _classify(where, int(exc.status or 0), text, what) from None
        except (urllib3.exceptions.HTTPError, OSError, http.client.HTTPException) as exc:
            reason = _redact(f"{type(exc).__name__}: {exc}", self._secrets)
            raise TransientError(f"InfluxDB at {where} unreachable: {reason}") from None

    def close(self) -> None:
        """Close the write API and the client's connection pool."""
        if self._closed:
            return
        self._closed = True
        self._write_api.close()
        self._client.close()


def make_writer(settings: InfluxSettings) -> LineWriter:
    """Pick the writer for ``settings.api_version``."""
    if settings.api_version == 1:
        return V1Writer(settings)
    if settings.api_version == 2:
        return V2Writer(settings)
    return V3Writer(settings)
