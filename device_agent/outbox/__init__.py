"""Durable on-disk outbox: nothing the agent counted is lost while the broker or hub is away."""

from replens.device_agent.outbox.store import Outbox, OutboxItem, UnendedSet

__all__ = ["Outbox", "OutboxItem", "UnendedSet"]
