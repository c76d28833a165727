"""The agent's wiring on the real sample clip, without a broker."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from replens.cli.demo import demo_agent_config, sample_clip
from replens.config import MqttConfig
from replens.contract import EventKind, RepEvent, SetEvent, SetPhase
from replens.device_agent.app import Agent
from replens.errors import TransientError


def test_clip_events_form_complete_set_lifecycles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No broker on this port: every event must wait, in order, in the outbox."""
    clip = sample_clip()
    agent = Agent("cam", demo_agent_config(clip), MqttConfig(host="127.0.0.1", port=1), tmp_path)
    outbox = agent.outbox
    assert outbox is not None
    stored: list[bytes] = []
    original = outbox.append

    def recording_append(kind: EventKind, make: Callable[[int], bytes], **ledger: Any) -> int:
        seq = original(kind, make, **ledger)
        stored.append(make(seq))
        return seq

    monkeypatch.setattr(outbox, "append", recording_append)
    summary = agent.run(drain_timeout_s=0.1)
    assert [len(s.reps) for s in summary.sets] == [6, 4]
    events = [json.loads(p) for p in stored]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) == 2 * 10 + 2
    sets = [SetEvent.model_validate(e) for e in events if "event" in e]
    reps = [RepEvent.model_validate(e) for e in events if "event" not in e]
    assert [s.event for s in sets if s.set_id == sets[0].set_id] == [SetPhase.NEW] + [SetPhase.UPDATE] * 5 + [
        SetPhase.END
    ]
    assert [r.index for r in reps] == [1, 2, 3, 4, 5, 6, 1, 2, 3, 4]
    assert all(s.started_at == sets[0].started_at for s in sets if s.set_id == sets[0].set_id)


def test_events_held_in_memory_while_the_outbox_cannot_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Disk full: nothing is dropped; held events are stored, in order, once writing works again."""
    clip = sample_clip()
    agent = Agent("cam", demo_agent_config(clip), MqttConfig(host="127.0.0.1", port=1), tmp_path)
    outbox = agent.outbox
    assert outbox is not None
    original = outbox.append
    failures = {"left": 9}

    def flaky_append(kind: EventKind, make: Callable[[int], bytes], **ledger: Any) -> int:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise TransientError("database or disk is full")
        return original(kind, make, **ledger)

    monkeypatch.setattr(outbox, "append", flaky_append)
    agent.run(drain_timeout_s=0.1)
    reopened = type(outbox)(tmp_path / "outbox.sqlite3")
    payloads = [json.loads(i.payload) for i in reopened.unsent(100)]
    assert len(payloads) == 22 and failures["left"] == 0
    first_set = [p for p in payloads if p.get("event") and p["set_id"] == payloads[1]["set_id"]]
    assert [p["reps"] for p in first_set] == [1, 2, 3, 4, 5, 6, 6]


def test_unreachable_camera_is_retried_not_a_crash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A camera that is not up yet must not make the service exit (and restart in a loop)."""
    import threading

    from replens.config import AgentConfig

    config = AgentConfig.model_validate({
        "source": {"url": "rtsp://127.0.0.1:9/stream"},
        "stations": {"s": {"exercise": "chest_press"}},
    })
    agent = Agent("cam", config, None, None)
    stop = threading.Event()
    timer = threading.Timer(2.5, stop.set)
    timer.start()
    summary = agent.run(stop)
    timer.cancel()
    assert summary.frames == 0
    assert "trying again" in caplog.text and "rtsp://127.0.0.1:9/stream" in caplog.text
