"""``hub:`` the central service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from replens.config.base import StrictModel
from replens.config.web import WebConfig


class HubConfig(StrictModel):
    """The central service."""

    data_dir: Path | None = Field(default=None, description="Journal folder; default <data_dir>/hub.")
    stats_interval_s: float = Field(default=30.0, ge=1, le=3600, description="How often health goes to <prefix>/stats.")
    ack_interval_s: float = Field(
        default=0.2, gt=0, le=10, description="How often stored sequence numbers are confirmed to agents."
    )
    inbox_messages: int = Field(
        default=20_000, ge=10, le=1_000_000,
        description="Messages waiting for the journal at most. Beyond this (or inbox_mib) the hub stops reading "
        "from the broker, which holds the backlog, so the hub's memory stays bounded when it falls behind.",
    )
    inbox_mib: float = Field(default=64.0, gt=0, le=4096, description="Payload MiB waiting for the journal at most.")
    web: WebConfig | None = Field(
        default=None, description="The members' page (docs/members-page.md); off unless configured.",
    )
