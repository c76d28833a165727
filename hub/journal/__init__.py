"""The hub's durable record: agents, sets, reps, and the points still owed to InfluxDB."""

from replens.hub.journal.store import BatchResult, Inbound, Journal, PendingPoint, StoredSet

__all__ = ["BatchResult", "Inbound", "Journal", "PendingPoint", "StoredSet"]
