"""The hub's durable record: agents, sets, reps, visits, and what is still owed to InfluxDB and MQTT."""

from replens.hub.journal.attributions import Announcement, Forgotten, Outgoing, UnknownSetError
from replens.hub.journal.store import BatchResult, Inbound, Journal, PendingPoint, StoredSet

__all__ = [
    "Announcement",
    "BatchResult",
    "Forgotten",
    "Inbound",
    "Journal",
    "Outgoing",
    "PendingPoint",
    "StoredSet",
    "UnknownSetError",
]
