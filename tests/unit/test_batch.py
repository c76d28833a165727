"""Several events in one message: the agent joins payloads, the hub keeps every good one and says why not the rest."""

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from replens.config import MqttConfig
from replens.contract import (
    DecodedBatch,
    EventKind,
    Exercise,
    RepEvent,
    SetEvent,
    SetPhase,
    Topics,
    decode_incoming,
    encode_batch,
)
from replens.contract.codec import MAX_PAYLOAD_BYTES
from replens.contract.schema import contract_schema
from replens.device_agent.outbox import OutboxItem
from replens.device_agent.publisher import BATCH_MAX_BYTES, Publisher
from replens.errors import ContractError

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TOPICS = Topics("gym")


def rep(seq: int, agent: str = "a1", **overrides: object) -> RepEvent:
    fields = {"agent_id": agent, "seq": seq, "set_id": f"{agent}.bench.1", "station": "bench",
              "exercise": Exercise.BENCH_PRESS, "index": seq, "started_at": NOW, "turned_at": NOW, "ended_at": NOW,
              "concentric_s": 1.0, "eccentric_s": 1.0, "rom": 50.0, "confidence": 0.9, **overrides}
    return RepEvent.model_validate(fields)


def set_new(seq: int, agent: str = "a1") -> SetEvent:
    return SetEvent(agent_id=agent, seq=seq, set_id=f"{agent}.bench.1", station="bench",
                    exercise=Exercise.BENCH_PRESS, event=SetPhase.NEW, reps=1, started_at=NOW)


def decoded(payload: bytes, agent: str = "a1") -> DecodedBatch:
    item = decode_incoming(TOPICS, TOPICS.agent_batch(agent), payload)
    assert isinstance(item, DecodedBatch)
    return item


def test_joined_payloads_decode_to_the_same_events_in_sequence_order():
    events = [rep(3), set_new(2), rep(1)]
    kinds = [EventKind.REPS if isinstance(e, RepEvent) else EventKind.SETS for e in events]
    payload = encode_batch("a1", [(kind, e.to_json()) for kind, e in zip(kinds, events, strict=True)])
    result = decoded(payload)
    assert result.rejected == []
    assert [e.seq for e in result.events] == [1, 2, 3]
    assert result.events == sorted(events, key=lambda e: e.seq)
    jsonschema.validate(json.loads(payload), contract_schema()["topics"]["agent_batch"])


def test_a_bad_event_costs_only_itself_and_is_named_by_position():
    good = [rep(1).to_json(), rep(2).to_json(), rep(4).to_json()]
    broken = json.loads(rep(3).to_json())
    broken["rom"] = "far"
    payloads = [good[0], good[1], json.dumps(broken).encode(), good[2]]
    payload = encode_batch("a1", [(EventKind.REPS, p) for p in payloads])
    result = decoded(payload)
    assert [e.seq for e in result.events] == [1, 2, 4]
    assert len(result.rejected) == 1
    assert "gym/agent/a1/batch: reps[2].rom:" in result.rejected[0]


def test_an_event_naming_another_agent_is_rejected_the_rest_kept():
    payload = encode_batch("a1", [(EventKind.REPS, rep(1).to_json()), (EventKind.REPS, rep(2, agent="a2").to_json())])
    result = decoded(payload)
    assert [e.agent_id for e in result.events] == ["a1"]
    assert result.rejected == ["gym/agent/a1/batch: reps[1]: event says agent 'a2', the topic says 'a1'"]


@pytest.mark.parametrize(("payload", "reason"), [
    (b"[1, 2]", "expected a JSON object, got list"),
    (b"{nope", "not JSON"),
    (b'{"agent_id": "a1", "reps": []}', "unsupported schema version None"),
    (b'{"schema": 2, "agent_id": "a1"}', "unsupported schema version 2"),
    (b'{"schema": 1, "agent_id": "a2", "reps": []}', "payload says agent 'a2', the topic says 'a1'"),
    (b'{"schema": 1, "agent_id": "a1", "presses": []}', "unknown keys 'presses'"),
])
def test_an_untrustworthy_envelope_is_rejected_whole(payload, reason):
    with pytest.raises(ContractError, match=reason):
        decode_incoming(TOPICS, TOPICS.agent_batch("a1"), payload)


def test_a_list_of_the_wrong_type_is_named():
    result = decoded(b'{"schema": 1, "agent_id": "a1", "reps": {"index": 1}, "sets": []}')
    assert result.events == [] and result.rejected == ["gym/agent/a1/batch: reps: expected a list, got dict"]


def test_oversized_batches_are_rejected_before_parsing():
    with pytest.raises(ContractError, match="exceeds"):
        decode_incoming(TOPICS, TOPICS.agent_batch("a1"), b"{" + b" " * MAX_PAYLOAD_BYTES + b"}")


def test_hub_subscribes_to_batches():
    assert "gym/agent/+/batch" in TOPICS.hub_subscriptions()


def _publisher(tmp_path, **mqtt: object) -> Publisher:
    from replens.device_agent.outbox import Outbox

    config = MqttConfig.model_validate({"prefix": "gym", **mqtt})
    return Publisher(config, "a1", Outbox(tmp_path / "outbox.sqlite3"))


def test_publisher_groups_consecutive_events_within_the_count_and_size_caps(tmp_path):
    publisher = _publisher(tmp_path, batch_max_events=3)
    items = [OutboxItem(i, EventKind.REPS if i % 2 else EventKind.SETS, b"x" * 10, 0.0) for i in range(1, 8)]
    items.insert(3, OutboxItem(99, EventKind.VISITS, b"x" * BATCH_MAX_BYTES, 0.0))  # too big to share a message
    groups = [[item.seq for item in group] for group in publisher._messages(items)]
    assert groups == [[1, 2, 3], [99], [4, 5, 6], [7]]
    big = [OutboxItem(i, EventKind.REPS, b"x" * (BATCH_MAX_BYTES // 3), 0.0) for i in range(1, 6)]
    sizes = [len(group) for group in _publisher(tmp_path / "b")._messages(big)]
    assert sizes == [2, 2, 1]
    single = _publisher(tmp_path / "c", batch_max_events=1)._messages(items)
    assert all(len(group) == 1 for group in single)
    resent = _publisher(tmp_path / "d")._messages(items, single=True)  # after the resend timer: no batches
    assert all(len(group) == 1 for group in resent)
