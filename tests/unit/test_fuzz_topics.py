"""Fuzzing of every topic the hub subscribes to (visits, claims included) and of what agents accept.

A bad payload is a ContractError naming its topic, never another exception; a payload that decodes is
one the hub's journal can record without raising anything but TransientError.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replens.contract import (
    Ack,
    ClaimCommand,
    ClaimLastCommand,
    DecodedBatch,
    EnrolCommand,
    RepEvent,
    SetEvent,
    StationCommand,
    Topics,
    VisitEvent,
    decode,
    decode_incoming,
)
from replens.errors import ContractError
from replens.hub.journal import Inbound, Journal

TOPICS = Topics("fuzz")
HUB_TOPICS = [t.replace("+", "a1") for t in TOPICS.hub_subscriptions()]
AGENT_MODELS = [(TOPICS.agent_command("a1"), StationCommand), (TOPICS.agent_enrol("a1"), EnrolCommand),
                (TOPICS.agent_ack("a1"), Ack)]

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**53 - 2, max_value=2**70)
           | st.floats(allow_nan=True) | st.text() | st.sampled_from(["2026-11-26T10:00:00Z", "2026-11-26T10:00:00",
                                                                     "9999-12-31T23:59:59+14:00", "\u202e\ud7ff"]))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
KEYS = ["schema", "agent_id", "seq", "set_id", "visit_id", "camera", "role", "station", "exercise", "event", "member",
        "reps", "score", "frames", "seen_at", "started_at", "ended_at", "index", "turned_at", "concentric_s",
        "eccentric_s", "rom", "confidence", "by", "command", "ranges", "source", "id", "at", "uptime_s", "counters"]
near_valid = st.fixed_dictionaries({"schema": st.sampled_from([1, 1, 1, 0, 2, "1", None, 1.0])}).flatmap(
    lambda base: st.dictionaries(st.sampled_from(KEYS), json_values, max_size=len(KEYS)).map(lambda d: {**d, **base})
)


def hub_check(topic: str, payload: bytes) -> object:
    try:
        return decode_incoming(TOPICS, topic, payload)
    except ContractError as err:
        assert str(err).startswith(topic), err
        return None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(HUB_TOPICS), st.binary(max_size=3000))
def test_arbitrary_bytes_on_every_hub_topic(topic: str, payload: bytes) -> None:
    hub_check(topic, payload)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(HUB_TOPICS), near_valid)
def test_schema_shaped_json_on_every_hub_topic(topic: str, document: dict[str, object]) -> None:
    hub_check(topic, json.dumps(document).encode())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(AGENT_MODELS), st.one_of(near_valid.map(lambda d: json.dumps(d).encode()), st.binary()))
def test_agent_command_enrol_and_ack_topics(topic_model: tuple[str, type], payload: bytes) -> None:
    topic, model = topic_model
    try:
        decode(model, topic, payload)
    except ContractError as err:
        assert str(err).startswith(topic), err


batch_lists = st.lists(st.one_of(near_valid, json_values), max_size=4)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({"schema": st.sampled_from([1, 1, 1, 2, None]),
                              "agent_id": st.sampled_from(["a1", "a1", "a2", 7])},
                             optional={"sets": batch_lists, "reps": batch_lists, "visits": batch_lists,
                                       "extra": json_values}))
def test_batches_of_schema_shaped_events(document: dict[str, object]) -> None:
    """A batch decodes to events of the topic's agent plus reasons naming the topic, or is rejected whole."""
    topic = TOPICS.agent_batch("a1")
    item = hub_check(topic, json.dumps(document).encode())
    if item is not None:
        assert isinstance(item, DecodedBatch)
        assert all(event.agent_id == "a1" for event in item.events)
        assert all(reason.startswith(topic) for reason in item.rejected)
        assert [e.seq for e in item.events] == sorted(e.seq for e in item.events)


def test_huge_payload_and_wrong_versions_rejected_with_reasons() -> None:
    reasons = []
    for topic in HUB_TOPICS:
        for payload in (b"{" * 300_000, b'{"schema": 2}', b'{"schema": "1"}', b'{"schema": true}',
                        "{\"schema\": 1, \"agent_id\": \"\u0430\u0433\u0435\u043d\u0442\"}".encode()):
            try:
                decode_incoming(TOPICS, topic, payload)
            except ContractError as err:
                reasons.append(str(err))
    assert len(reasons) == 5 * len(HUB_TOPICS)
    assert any("exceeds" in r for r in reasons) and any("unsupported schema version 2" in r for r in reasons)


EDGE = {"agent_id": "a1", "seq": 2**53 - 1, "station": "s" * 63, "exercise": "squat", "started_at":
        "0001-01-01T00:00:00+14:00", "set_id": "x" * 128}
sequenced = st.one_of(
    st.builds(lambda reps, when: SetEvent.model_validate({**EDGE, "event": "update", "reps": reps,
                                                          "started_at": when, "member": None}),
              st.integers(0, 100_000), st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])),
    st.builds(lambda idx: RepEvent.model_validate({**EDGE, "index": idx, "started_at": "9999-12-31T23:00:00Z",
                                                   "turned_at": "9999-12-31T23:00:01Z",
                                                   "ended_at": "9999-12-31T23:59:59Z", "concentric_s": 86_400.0,
                                                   "eccentric_s": 0.0, "rom": -1e9, "confidence": 1.0}),
              st.integers(1, 100_000)),
    st.builds(lambda score: VisitEvent.model_validate({"agent_id": "a1", "seq": 1, "started_at": EDGE["started_at"],
                                                       "visit_id": "v" * 128, "camera": "door",
                                                       "role": "entrance", "event": "new", "score": score,
                                                       "frames": 100_000, "seen_at": "9999-12-31T23:59:59Z"}),
              st.floats(0.0, 1.0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(sequenced, st.integers(0, 3)), min_size=1, max_size=6))
def test_extreme_but_valid_events_are_recorded_as_they_are(tmp_path: Path, drawn: list) -> None:
    """Values at the contract's limits (year 1 and 9999, seq 2**53-1, 100 000 reps) must not break the journal,
    and what it records must be what came: each (agent, seq) once, the newest update of the set, every rep."""
    events = [event.model_copy(update={"seq": event.seq - back}) for event, back in drawn]
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        result = journal.record(Inbound(events=events))
        keys = [(e.agent_id, e.seq) for e in events]
        firsts = {key: e for key, e in reversed(list(zip(keys, events, strict=True)))}  # the first of each key
        assert result.stored == list(dict.fromkeys(keys))
        assert len(result.duplicates) == len(keys) - len(firsts)
        sets = [e for key in result.stored if isinstance(e := firsts[key], SetEvent)]  # in arrival order
        reps = {e.index for e in firsts.values() if isinstance(e, RepEvent)}
        assert journal.counts() == {"sets": min(1, len(sets)), "reps": len(reps), "events": len(firsts)}
        if sets:  # the newest update's reps; the start as first recorded (a set's start never moves)
            newest = max(sets, key=lambda e: e.seq)
            (stored,) = journal.sets()
            assert (stored.reps, stored.started_at) == (newest.reps, sets[0].started_at)
        points, _ = journal.points_depth()
        assert points >= len(reps) + min(1, len(sets))
    finally:
        journal.close()
        (tmp_path / "journal.sqlite3").unlink()


def test_claim_payloads_decode_to_their_commands() -> None:
    claim = decode_incoming(TOPICS, TOPICS.claim, b'{"schema": 1, "set_id": "a.b.1", "member": null}')
    last = decode_incoming(TOPICS, TOPICS.claim_last,
                           b'{"schema": 1, "agent_id": "a", "station": "b", "member": "\\u00c9lo\\u00efse"}')
    assert isinstance(claim, ClaimCommand) and isinstance(last, ClaimLastCommand)
