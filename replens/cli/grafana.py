"""``replens grafana push``: install the datasource and dashboards into an existing Grafana."""

from __future__ import annotations

import os
from pathlib import Path

from replens.config import RepLensConfig
from replens.errors import ConfigError, RepLensError

_REPO_DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def default_dashboards_dir() -> Path:
    """``./dashboards`` when run from a checkout or the image's /app, else the checkout of this install."""
    for candidate in (Path("dashboards"), _REPO_DASHBOARDS):
        if candidate.is_dir():
            return candidate
    raise RepLensError("cannot find the dashboards folder: pass --dashboards DIR (the repository's dashboards/)")


def push_to_grafana(
    config: RepLensConfig, url: str, token: str | None, *, influx_url: str | None, dashboards_dir: Path | None
) -> int:
    from grafana_client.api import GrafanaApi

    from replens.integrations.grafana.push import datasource_for, load_dashboards, push

    if config.influxdb is None:
        raise ConfigError("the config has no influxdb section: the dashboards need the InfluxDB the hub writes to")
    token = token or os.environ.get("GRAFANA_TOKEN") or None
    dashboards = load_dashboards(dashboards_dir or default_dashboards_dir())
    api = GrafanaApi.from_url(url, credential=token)
    result = push(api, datasource_for(config.influxdb, influx_url), dashboards, where=url.rsplit("@", 1)[-1])
    print(f"datasource {result.datasource}, folder RepLens {result.folder}")
    for uid, title, version in result.dashboards:
        print(f"dashboard {uid} ({title}): version {version}")
    return 0
