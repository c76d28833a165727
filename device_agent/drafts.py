"""An event waiting for its sequence number: the outbox assigns it when storing the event."""

from __future__ import annotations

from dataclasses import dataclass

from replens.contract import RepEvent, SetEvent, VisitEvent

WireEvent = SetEvent | RepEvent | VisitEvent
_MODELS: dict[str, type[WireEvent]] = {"sets": SetEvent, "reps": RepEvent, "visits": VisitEvent}


@dataclass(frozen=True, slots=True)
class Draft:
    """``build(seq)`` validates and makes the wire model; ``payload(seq)`` its JSON bytes."""

    topic_kind: str  # "sets", "reps" or "visits"
    fields: dict[str, object]

    def build(self, seq: int) -> WireEvent:
        return _MODELS[self.topic_kind].model_validate({**self.fields, "seq": seq})

    def payload(self, seq: int) -> bytes:
        return self.build(seq).to_json()
