"""The kinds of event an agent's outbox carries; each is also the last level of its per-agent topic."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """Sets, reps and visits: numbered per agent, kept until the hub confirms them, de-duplicated by the hub."""

    SETS = "sets"
    REPS = "reps"
    VISITS = "visits"
