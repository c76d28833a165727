"""Tracker config → tracker instance. The config union and this table grow together, one entry per type."""

from __future__ import annotations

from replens.config.agent import StackTrackerConfig, TrackerConfig
from replens.device_agent.trackers.base import StationTracker
from replens.device_agent.trackers.stack import StackTracker


def make_tracker(config: TrackerConfig) -> StationTracker:
    if isinstance(config, StackTrackerConfig):
        return StackTracker(roi=config.roi, axis=config.axis)
    raise ValueError(f"unknown tracker type {config.type!r}")  # unreachable while the union has one member
