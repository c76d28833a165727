"""An event waiting for its sequence number: the outbox assigns it when storing the event."""

from __future__ import annotations

from dataclasses import dataclass

from replens.contract import EVENT_MODELS, Event, EventKind


@dataclass(frozen=True, slots=True)
class Draft:
    """``build(seq)`` validates and makes the wire model; ``payload(seq)`` its JSON bytes."""

    kind: EventKind
    fields: dict[str, object]

    def build(self, seq: int) -> Event:
        return EVENT_MODELS[self.kind].model_validate({**self.fields, "seq": seq})

    def payload(self, seq: int) -> bytes:
        return self.build(seq).to_json()
