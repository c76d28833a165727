"""Install the RepLens datasource and dashboards into a running Grafana through its HTTP API.

Idempotent: the datasource is created or updated by its uid, the "RepLens" folder is found or created
by its uid, and dashboards are saved with ``overwrite=True`` (Grafana bumps their version, never adds
a copy). Talks to Grafana with grafana-client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from replens.config import InfluxConfig
from replens.errors import RepLensError

log = logging.getLogger(__name__)

DATASOURCE_UID = "replens-influxdb"
DATASOURCE_NAME = "RepLens InfluxDB"
FOLDER_UID = "replens"
FOLDER_TITLE = "RepLens"
_NOT_FOUND = 404


class GrafanaPushError(RepLensError):
    """Grafana refused or could not be reached; the message names the URL and what to check."""


@dataclass(frozen=True, slots=True)
class PushResult:
    datasource: str  # "created" or "updated"
    folder: str  # "created" or "found"
    dashboards: list[tuple[str, str, int]]  # (uid, title, version now in Grafana)


def load_dashboards(folder: Path) -> list[dict[str, Any]]:
    """Every ``*.json`` dashboard in ``folder``, sorted by file name."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise RepLensError(f"no dashboards (*.json) in {folder}")
    dashboards = []
    for path in files:
        try:
            dashboard = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise RepLensError(f"{path}: not a readable dashboard: {err}") from err
        if not isinstance(dashboard, dict) or not dashboard.get("uid"):
            raise RepLensError(f"{path}: a dashboard needs a uid, so pushing it twice updates it")
        dashboards.append(dashboard)
    return dashboards


def datasource_for(influx: InfluxConfig, url: str | None = None) -> dict[str, Any]:
    """The InfluxQL datasource the dashboards expect, pointing at the InfluxDB of a RepLens config.

    ``url`` overrides the address when Grafana reaches InfluxDB by another name than the hub does
    (``http://influxdb:8086`` inside docker compose). InfluxDB 2.x and 3.x are read through their
    v1-compatible ``/query`` endpoint with the token; 2.x needs a DBRP mapping named ``database``.
    """
    if url is None:
        scheme = "https" if influx.ssl else "http"
        url = f"{scheme}://{influx.host}:{influx.port}{influx.path}"
    json_data: dict[str, Any] = {"dbName": influx.database, "httpMode": "POST", "version": "InfluxQL",
                                 "tlsSkipVerify": not influx.verify_ssl}
    secure: dict[str, str] = {}
    datasource: dict[str, Any] = {"uid": DATASOURCE_UID, "name": DATASOURCE_NAME, "type": "influxdb",
                                  "access": "proxy", "url": url, "isDefault": False}
    if influx.api_version == 1:
        if influx.username:
            datasource["user"] = influx.username
        if influx.password is not None:
            secure["password"] = influx.password.get_secret_value()
    elif influx.token is not None:
        json_data["httpHeaderName1"] = "Authorization"
        secure["httpHeaderValue1"] = f"Token {influx.token.get_secret_value()}"
    datasource["jsonData"] = json_data
    datasource["secureJsonData"] = secure
    return datasource


def push(api: Any, datasource: dict[str, Any], dashboards: Iterable[dict[str, Any]], where: str) -> PushResult:
    """Create or update the datasource, the folder and the dashboards; ``where`` names Grafana in errors."""
    ds_state = _call(where, "save the datasource", lambda: _upsert_datasource(api, datasource))
    folder_state = _call(where, "find or create the RepLens folder", lambda: _ensure_folder(api))
    saved = []
    for dashboard in dashboards:
        body = {"dashboard": {**dashboard, "id": None}, "folderUid": FOLDER_UID, "overwrite": True,
                "message": "replens grafana push"}
        reply = _call(where, f"save dashboard {dashboard['uid']!r}", partial(api.dashboard.update_dashboard, body))
        saved.append((str(dashboard["uid"]), str(dashboard.get("title", "")), int(reply.get("version", 0))))
        log.info("grafana %s: dashboard %s saved (version %s)", where, dashboard["uid"], reply.get("version"))
    return PushResult(ds_state, folder_state, saved)


def _upsert_datasource(api: Any, datasource: dict[str, Any]) -> str:
    from grafana_client.client import GrafanaClientError

    try:
        api.datasource.get_datasource_by_uid(DATASOURCE_UID)
    except GrafanaClientError as err:
        if err.status_code != _NOT_FOUND:
            raise
        api.datasource.create_datasource(datasource)
        return "created"
    api.datasource.update_datasource_by_uid(DATASOURCE_UID, datasource)
    return "updated"


def _ensure_folder(api: Any) -> str:
    from grafana_client.client import GrafanaClientError

    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as err:
        if err.status_code != _NOT_FOUND:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        return "created"
    return "found"


def _call(where: str, what: str, action: Callable[[], Any]) -> Any:
    """Run one API step, turning grafana-client and connection errors into one clear message."""
    import niquests
    from grafana_client.client import GrafanaException, GrafanaUnauthorizedError

    try:
        return action()
    except GrafanaUnauthorizedError as err:
        raise GrafanaPushError(
            f"Grafana at {where} refused the credentials while trying to {what} (401): pass an admin's service "
            "account token with --token (or GRAFANA_TOKEN)"
        ) from err
    except GrafanaException as err:
        raise GrafanaPushError(f"Grafana at {where}: cannot {what}: {err}") from err
    except niquests.exceptions.RequestException as err:
        raise GrafanaPushError(f"cannot reach Grafana at {where} to {what}: {err}") from err
