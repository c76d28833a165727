import json
import math
from datetime import UTC, datetime

import jsonschema
import pytest

from replens.contract import (
    Ack,
    AgentState,
    Availability,
    Exercise,
    RepEvent,
    SetEvent,
    SetPhase,
    StationState,
    Topics,
    decode,
    decode_incoming,
)
from replens.contract.schema import contract_schema
from replens.errors import ContractError

T = Topics("gym")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def set_event(**overrides):
    fields = {
        "agent_id": "rack_1",
        "seq": 7,
        "set_id": "rack_1.bench.1764158400000",
        "station": "bench",
        "exercise": "bench_press",
        "event": "new",
        "reps": 1,
        "started_at": NOW,
    }
    fields.update(overrides)
    return SetEvent.model_validate(fields)


def test_topic_layout():
    assert T.hub_available == "gym/hub/available"
    assert T.agent_available("rack_1") == "gym/agent/rack_1/available"
    assert T.agent_state("rack_1") == "gym/agent/rack_1/state"
    assert (T.sets, T.reps, T.stats) == ("gym/sets", "gym/reps", "gym/stats")
    assert T.agent_id_from("gym/agent/rack_1/state") == "rack_1"
    assert T.agent_id_from("gym/agent/rack_1/x/y") is None
    assert T.agent_id_from("other/agent/rack_1/state") is None


@pytest.mark.parametrize("prefix", ["", "a/#", "a/+/b", "trailing/"])
def test_bad_prefix_rejected(prefix):
    with pytest.raises(ValueError, match="prefix"):
        Topics(prefix)


def test_payload_round_trip_uses_schema_key():
    event = set_event()
    raw = json.loads(event.to_json())
    assert raw["schema"] == 1 and "schema_version" not in raw
    assert raw["member"] is None
    assert decode(SetEvent, T.sets, event.to_json()) == event


def test_every_exercise_name_is_snake_case():
    names = [e.value for e in Exercise]
    assert all(n.replace("_", "").isalpha() and n.islower() for n in names)
    assert {"squat", "bench_press", "lat_pulldown", "triceps_pushdown", "auto"} <= set(names)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (json.dumps({"schema": 2}).encode(), "schema version 2"),
        (json.dumps({"reps": 3}).encode(), "schema version None"),
        (b"\xff\xfe", "not JSON"),
        (b"x" * 300_000, "exceeds"),
    ],
)
def test_bad_payloads_name_topic_and_reason(payload, reason):
    with pytest.raises(ContractError, match=reason) as err:
        decode_incoming(T, T.sets, payload)
    assert str(err.value).startswith("gym/sets:")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"reps": -1}, "reps"),
        ({"agent_id": "Rack 1"}, "agent_id"),
        ({"agent_id": "../x"}, "agent_id"),
        ({"exercise": "yoga"}, "exercise"),
        ({"event": "begin"}, "event"),
        ({"seq": 0}, "seq"),
        ({"started_at": "2026-11-26T12:00:00"}, "started_at"),  # naive time: ambiguous
        ({"surprise": 1}, "surprise"),
        ({"rest_before_s": math.inf}, "rest_before_s"),
    ],
)
def test_invalid_fields_rejected(change, where):
    raw = json.loads(set_event().to_json())
    raw.update(change)
    payload = json.dumps(raw).encode()  # json.dumps writes inf as Infinity, which Python's json reads
    with pytest.raises(ContractError, match=where):
        decode_incoming(T, T.sets, payload)


def test_state_must_match_topic_agent():
    state = AgentState(agent_id="rack_2", updated_at=NOW,
                       stations={"bench": StationState(exercise=Exercise.BENCH_PRESS, set_active=False)})
    assert decode_incoming(T, T.agent_state("rack_2"), state.to_json()) == state
    with pytest.raises(ContractError, match="does not match"):
        decode_incoming(T, T.agent_state("rack_1"), state.to_json())


def test_availability_values():
    assert decode_incoming(T, T.agent_available("a1"), b"offline") == ("a1", Availability.OFFLINE)
    with pytest.raises(ContractError, match="online, offline or stopped"):
        decode_incoming(T, T.agent_available("a1"), b"maybe")


def test_unknown_topic_rejected():
    with pytest.raises(ContractError, match="not a RepLens topic"):
        decode_incoming(T, "gym/whatever", b"{}")


def test_exported_schema_validates_real_payloads_and_rejects_bad_ones():
    schema = contract_schema()["topics"]
    good = json.loads(set_event(event=SetPhase.END, ended_at=NOW).to_json())
    jsonschema.validate(good, schema["sets"])
    rep = RepEvent(agent_id="a", seq=1, set_id="s", station="b", exercise=Exercise.SQUAT, index=1,
                   started_at=NOW, turned_at=NOW, ended_at=NOW, concentric_s=1, eccentric_s=1, rom=0.5,
                   confidence=0.9)
    jsonschema.validate(json.loads(rep.to_json()), schema["reps"])
    jsonschema.validate(json.loads(Ack(ranges=[(1, 5)]).to_json()), schema["agent_ack"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "reps": "three"}, schema["sets"])


def test_events_on_an_agents_own_topic_must_name_that_agent():
    """With per-agent accounts the topic is the proof of origin: a payload naming another agent is forged."""
    topics = Topics("gym")
    event = RepEvent(agent_id="a2", seq=7, set_id="a2.bench.1", station="bench", exercise=Exercise.BENCH_PRESS,
                     index=1, started_at=NOW, turned_at=NOW, ended_at=NOW, concentric_s=1.0, eccentric_s=1.0,
                     rom=50.0, confidence=0.9)
    assert decode_incoming(topics, topics.agent_events("a2", "reps"), event.to_json()) == event
    with pytest.raises(ContractError, match="payload says agent 'a2', the topic says 'a1'"):
        decode_incoming(topics, topics.agent_events("a1", "reps"), event.to_json())
    assert "gym/agent/+/reps" in topics.hub_subscriptions()
    with pytest.raises(ValueError, match="kind"):
        topics.agent_events("a1", "acks")
