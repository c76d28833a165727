"""The ``presence`` measurement: how many members are in the gym, for the Live gym dashboard.

A head count only, never member ids: a member's deletion must leave no trace in InfluxDB, and
InfluxQL can delete by tag but not by field, so per-member presence points could not be removed
reliably. Who is in is on MQTT (``<prefix>/hub/presence``) and in Home Assistant. One point per
change of the count, written by the hub's presence loop (hub/identity/announcer.py).
"""

from __future__ import annotations

from datetime import datetime

from replens.hub.storage.line_protocol import format_line
from replens.hub.storage.points import ns

PRESENCE_MEASUREMENT = "presence"


def presence_line(members_present: int, at: datetime) -> str:
    """The number of members present from ``at`` on."""
    return format_line(PRESENCE_MEASUREMENT, {}, {"members": members_present}, ns(at))
