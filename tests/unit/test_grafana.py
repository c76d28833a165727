"""The dashboards are JSON that Grafana's provisioning accepts, and ``replens grafana push`` installs them idempotently.

Grafana cannot be installed here, so the JSON is checked against what Grafana requires (schemaVersion,
uid, panels with gridPos, datasource by uid, variables defined before use), and the push runs against
``tests/fake_grafana.py``. Every query runs against a real InfluxDB in tests/integration/test_dashboards.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from replens.cli.main import main
from tests import grafana_sim
from tests.fake_grafana import FakeGrafana

ROOT = grafana_sim.ROOT
PROVISIONING = ROOT / "integrations" / "grafana" / "provisioning"
DASHBOARDS = {path.name: grafana_sim.load(path) for path in grafana_sim.DASHBOARD_FILES}
PANEL_TYPES = {"stat", "timeseries", "table", "barchart", "bargauge", "heatmap", "text", "xychart"}
NEW_DASHBOARDS = {"replens-member-progress", "replens-station-use", "replens-live-gym", "replens-set-detail"}


def datasource_uid() -> str:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "replens.yaml").read_text())
    (datasource,) = provisioned["datasources"]
    assert datasource["type"] == "influxdb"
    assert datasource["jsonData"].get("version", "InfluxQL") == "InfluxQL"
    return str(datasource["uid"])


def test_the_issue_dashboards_exist_with_unique_uids():
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert len(uids) == len(set(uids))
    assert set(uids) >= NEW_DASHBOARDS
    for uid in NEW_DASHBOARDS:
        names = {v["name"] for v in next(d for d in DASHBOARDS.values() if d["uid"] == uid)["templating"]["list"]}
        assert "station" in names
        assert uid == "replens-live-gym" or {"member", "exercise"} <= names


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_shape(name: str):
    dashboard = DASHBOARDS[name]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["title"] and dashboard["uid"] and len(dashboard["uid"]) <= 40
    assert "id" not in dashboard or dashboard["id"] is None  # provisioning assigns ids
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']} is wider than the 24-column grid"
        refs = [t["refId"] for t in panel["targets"]]
        assert panel["targets"] and len(refs) == len(set(refs))


@pytest.mark.parametrize("name", DASHBOARDS)
def test_panels_do_not_overlap(name: str):
    def cells(panel: dict[str, Any]) -> set[tuple[int, int]]:
        g = panel["gridPos"]
        return {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}

    for a, b in itertools.combinations(DASHBOARDS[name]["panels"], 2):
        assert not cells(a) & cells(b), f"{a['title']!r} overlaps {b['title']!r}"


@pytest.mark.parametrize("name", DASHBOARDS)
def test_datasource_by_uid_everywhere(name: str):
    uid = datasource_uid()
    dashboard = DASHBOARDS[name]
    for panel, target in grafana_sim.targets(dashboard):
        assert panel["datasource"] == {"type": "influxdb", "uid": uid}
        assert target.get("datasource", panel["datasource"]) == panel["datasource"]
        assert target["rawQuery"] is True
        assert target["resultFormat"] in {"time_series", "table"}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == {"type": "influxdb", "uid": uid}


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_variable_used_is_defined_before(name: str):
    """Queries, variable queries and links may only name templating variables defined earlier, or Grafana's own."""
    dashboard = DASHBOARDS[name]
    defined: set[str] = set()
    for variable in dashboard["templating"]["list"]:
        unknown = grafana_sim.variables_used(variable.get("query", "")) - defined - grafana_sim.BUILTINS
        assert not unknown, f"variable {variable['name']} uses {unknown} before they exist"
        assert variable["name"] not in defined
        defined.add(variable["name"])
    for panel, target in grafana_sim.targets(dashboard):
        unknown = grafana_sim.variables_used(target["query"]) - defined - grafana_sim.BUILTINS
        assert not unknown, f"{panel['title']}: {unknown}"
        assert "$timeFilter" in target["query"], f"{panel['title']}: every query follows the time picker"
    links = json.dumps([p.get("fieldConfig", {}) for p in dashboard["panels"]])
    assert not grafana_sim.variables_used(links) - defined - grafana_sim.BUILTINS


@pytest.mark.parametrize("name", DASHBOARDS)
def test_queries_are_plain_influxql_reads(name: str):
    """SELECT and SHOW only, and no Flux or SQL: the same query reads InfluxDB 1.x, 2.x (DBRP) and 3.x."""
    for panel, target in grafana_sim.targets(DASHBOARDS[name]):
        query = target["query"].upper()
        assert query.startswith(("SELECT ", "SHOW ")), panel["title"]
        assert " INTO " not in query and "|>" not in query, panel["title"]


def test_member_is_filtered_as_a_field_and_names_never_queried():
    for dashboard in DASHBOARDS.values():
        for panel, target in grafana_sim.targets(dashboard):
            assert "GROUP BY \"member\"" not in target["query"], f"{panel['title']}: member is a field, not a tag"
            assert "\"name\"" not in target["query"]


def test_provisioning_matches_compose():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    volumes = compose["services"]["grafana"]["volumes"]
    assert "./integrations/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    mounted = next(v.split(":")[1] for v in volumes if v.startswith("./dashboards:"))
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "replens.yaml").read_text())["providers"]
    assert providers[0]["options"]["path"] == mounted
    assert providers[0]["folder"] == "RepLens"


# replens grafana push ---------------------------------------------------------------------------------


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1, "data_dir": str(tmp_path / "data"),
        "influxdb": {"api_version": 1, "host": "influx.local", "port": 8086, "database": "gym",
                     "username": "grafana", "password": "s3cret"},
    }))
    return path


def test_push_twice_installs_once(config_path: Path, capsys: pytest.CaptureFixture[str]):
    with FakeGrafana(token="tok") as grafana:
        argv = ["grafana", "push", "--url", grafana.url, "--token", "tok", "--config", str(config_path)]
        assert main(argv) == 0
        assert "datasource created, folder RepLens created" in capsys.readouterr().out
        assert main([*argv, "--influx-url", "http://influxdb:8086"]) == 0
        assert "datasource updated, folder RepLens found" in capsys.readouterr().out

    assert len(grafana.datasources) == 1
    (datasource,) = grafana.datasources
    assert datasource["uid"] == datasource_uid()
    assert datasource["url"] == "http://influxdb:8086"
    assert datasource["jsonData"]["dbName"] == "gym"
    assert datasource["user"] == "grafana"
    assert datasource["secureJsonData"] == {"password": "s3cret"}
    assert [f["title"] for f in grafana.folders] == ["RepLens"]
    assert set(grafana.dashboards) == {d["uid"] for d in DASHBOARDS.values()}
    for stored in grafana.dashboards.values():
        assert stored["version"] == 2 and stored["folderUid"] == "replens"
        assert stored["dashboard"]["id"] is None


def test_push_with_influxdb2_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "influxdb": {
        "api_version": 2, "host": "db", "ssl": True, "token": "t0k", "organization": "o", "bucket": "replens"}}))
    with FakeGrafana(token="tok") as grafana:
        assert main(["grafana", "push", "--url", grafana.url, "--token", "tok", "--config", str(path)]) == 0
    (datasource,) = grafana.datasources
    assert datasource["url"] == "https://db:8086"
    assert datasource["jsonData"]["httpHeaderName1"] == "Authorization"
    assert datasource["secureJsonData"] == {"httpHeaderValue1": "Token t0k"}


def test_push_refused_token_is_a_clear_error(config_path: Path, capsys: pytest.CaptureFixture[str]):
    with FakeGrafana(token="right") as grafana:
        status = main(["grafana", "push", "--url", grafana.url, "--token", "wrong", "--config", str(config_path)])
    assert status == 1
    err = capsys.readouterr().err
    assert "refused the credentials" in err and "--token" in err
    assert grafana.datasources == [] and grafana.dashboards == {}


def test_push_to_nothing_is_a_clear_error(config_path: Path, capsys: pytest.CaptureFixture[str]):
    from tests.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert main(["grafana", "push", "--url", url, "--token", "x", "--config", str(config_path)]) == 1
    assert "cannot reach Grafana at" in capsys.readouterr().err


def test_grafana_sim_interpolates_like_grafana():
    variable = {"name": "station", "multi": True, "includeAll": True, "_options": ["rack", "leg-press"]}
    assert grafana_sim.variable_text(variable, ["$__all"]) == r"(rack|leg\-press)"
    assert grafana_sim.variable_text({**variable, "allValue": ".*"}, ["$__all"]) == ".*"
    query = "SELECT 1 FROM x WHERE $timeFilter AND \"s\" =~ /^$station$/ GROUP BY time($__interval)"
    text = grafana_sim.interpolate(query, {"station": "(a|b)"}, time_from="now-7d", backend=False)
    assert text == "SELECT 1 FROM x WHERE time >= now() - 7d AND \"s\" =~ /^(a|b)$/ GROUP BY time(30m)"
    with pytest.raises(AssertionError, match="unknown variables"):
        grafana_sim.interpolate("SELECT $nope", {}, time_from="now-1h", backend=True)
