"""An event waiting for its sequence number: the outbox assigns it when storing the event."""

from __future__ import annotations

from dataclasses import dataclass

from replens.contract import RepEvent, SetEvent

WireEvent = SetEvent | RepEvent


@dataclass(frozen=True, slots=True)
class Draft:
    """``build(seq)`` validates and makes the wire model; ``payload(seq)`` its JSON bytes."""

    topic_kind: str  # "sets" or "reps"
    fields: dict[str, object]

    def build(self, seq: int) -> WireEvent:
        model = SetEvent if self.topic_kind == "sets" else RepEvent
        return model.model_validate({**self.fields, "seq": seq})

    def payload(self, seq: int) -> bytes:
        return self.build(seq).to_json()
