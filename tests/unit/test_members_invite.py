"""``replens members invite`` and ``revoke``: a personal link to the members' page, stored only as a hash."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from replens.cli.main import main
from replens.hub.web.access import AccessStore, access_path, token_hash
from replens.members import MembersStore


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "data_dir": str(tmp_path / "data"),
                                    "hub": {"web": {"public_url": "https://gym.example.lan"}}}))
    with MembersStore(tmp_path / "data" / "hub" / "members.sqlite3") as members:
        members.add("Ann Lee", [np.ones(128)], consent=True)
    return path


def link_in(out: str) -> str:
    (link,) = [line for line in out.splitlines() if line.startswith("https://")]
    return link


def test_invite_prints_a_link_and_a_qr_code_and_stores_only_a_hash(config_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["members", "invite", "ann lee", "--days", "2", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    link = link_in(out)
    token = link.removeprefix("https://gym.example.lan/i/")
    assert len(token) >= 40 and ("█" in out or "▀" in out)  # the QR code, drawn in block characters
    path = access_path(config_path.parent / "data" / "hub")
    assert path.stat().st_mode & 0o077 == 0
    with sqlite3.connect(path) as db:
        (stored, expires), = db.execute("SELECT token_hash, expires_at FROM invites").fetchall()
    assert stored == token_hash(token) and token not in path.read_bytes().decode("latin-1")
    assert abs(expires - (datetime.now(UTC) + timedelta(days=2)).timestamp()) < 60
    store = AccessStore(path)
    assert store.redeem(token, timedelta(hours=1)) is not None
    store.close()


def test_revoke_and_a_new_invite_end_the_old_link(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(config_path)]
    main(["members", "invite", "Ann Lee", "--no-qr", *cfg])
    first = link_in(capsys.readouterr().out).rsplit("/", 1)[1]
    main(["members", "invite", "Ann Lee", "--no-qr", *cfg])
    second = link_in(capsys.readouterr().out).rsplit("/", 1)[1]
    store = AccessStore(access_path(config_path.parent / "data" / "hub"))
    assert store.redeem(first, timedelta(hours=1)) is None and store.redeem(second, timedelta(hours=1)) is not None
    assert main(["members", "revoke", "Ann Lee", *cfg]) == 0
    assert store.redeem(second, timedelta(hours=1)) is None
    store.close()


def test_invite_needs_the_page_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "data_dir": str(tmp_path / "data")}))
    assert main(["members", "invite", "Ann", "--config", str(path)]) != 0
    assert "hub.web" in capsys.readouterr().err
