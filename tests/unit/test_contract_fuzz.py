"""Property-based fuzzing of every payload the hub accepts: a bad payload is a ContractError naming its topic,
never a crash, and whatever is accepted is what the published JSON Schema allows (an independent validator)."""

from __future__ import annotations

import json
import sys

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replens.contract import Topics, decode_incoming
from replens.contract.schema import contract_schema
from replens.errors import ContractError

TOPICS = Topics("fuzz")
SUBSCRIBED = [TOPICS.sets, TOPICS.reps, TOPICS.stats, TOPICS.agent_available("a1"), TOPICS.agent_state("a1")]
SCHEMAS = contract_schema()["topics"]
SCHEMA_OF = {TOPICS.sets: "sets", TOPICS.reps: "reps", TOPICS.stats: "stats", TOPICS.agent_state("a1"): "agent_state"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
KEYS = ["schema", "agent_id", "seq", "set_id", "station", "exercise", "event", "member", "reps", "started_at",
        "ended_at", "index", "turned_at", "concentric_s", "eccentric_s", "rom", "confidence", "source", "id", "at",
        "uptime_s", "outbox_depth", "stations", "updated_at", "rep_summaries", "counters"]
near_valid = st.fixed_dictionaries({"schema": st.sampled_from([1, 1, 1, 2, "1", None])}).flatmap(
    lambda base: st.dictionaries(st.sampled_from(KEYS), json_values, max_size=len(KEYS)).map(lambda d: {**d, **base})
)


def check(topic: str, payload: bytes) -> None:
    try:
        decode_incoming(TOPICS, topic, payload)
    except ContractError as err:
        assert str(err).startswith(topic), err  # every rejection names the topic
        return
    if topic == TOPICS.agent_available("a1"):
        assert payload in {b"online", b"offline", b"stopped"}
    else:  # accepted: it must be a JSON document the published schema allows
        jsonschema.validate(json.loads(payload), SCHEMAS[SCHEMA_OF[topic]])


def test_the_check_fails_for_a_decoder_that_accepts_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The properties below can fail: a decoder that took anything is caught, on every topic."""
    monkeypatch.setattr(sys.modules[__name__], "decode_incoming", lambda topics, topic, payload: None)
    for topic in SUBSCRIBED:
        with pytest.raises((AssertionError, jsonschema.ValidationError, ValueError)):
            check(topic, b'{"schema": 1, "agent_id": "a1", "garbage": true}')


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SUBSCRIBED), st.binary(max_size=2000))
def test_arbitrary_bytes(topic: str, payload: bytes) -> None:
    check(topic, payload)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SUBSCRIBED), near_valid)
def test_schema_shaped_json_with_wrong_types_and_odd_values(topic: str, document: dict[str, object]) -> None:
    check(topic, json.dumps(document).encode())


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SUBSCRIBED), st.text(min_size=1, max_size=200))
def test_odd_unicode(topic: str, text: str) -> None:
    check(topic, text.encode("utf-8", "surrogatepass"))


def test_deeply_nested_json_is_rejected_not_a_crash() -> None:
    check(TOPICS.sets, b"[" * 100_000 + b"]" * 100_000)
