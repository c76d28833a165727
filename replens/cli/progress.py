"""Live progress on a terminal: a bar and a table of the stations' counts. Silence elsewhere (pipes, --json)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from replens.device_agent.app import Agent

_REFRESH_S = 0.25


class LiveCounting:
    """Pass :meth:`on_frame` as the agent's progress callback."""

    def __init__(self, live: Live) -> None:
        self._live = live
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
        )
        self._task: TaskID | None = None
        self._table = Table()
        self._next_refresh = 0.0

    def track(self, name: str, total_frames: int | None) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(name, total=total_frames)
        self._render()

    def on_frame(self, _frame: Any, agent: Agent) -> None:
        if self._task is not None:
            self._progress.advance(self._task)
        now = time.monotonic()
        if now >= self._next_refresh:
            self._next_refresh = now + _REFRESH_S
            self._table = self._station_table(agent)
            self._render()

    def _render(self) -> None:
        self._live.update(Group(self._progress, self._table))

    @staticmethod
    def _station_table(agent: Agent) -> Table:
        table = Table(box=None, header_style="bold")
        for column in ("station", "exercise", "sets done", "reps in set", "reps total"):
            table.add_column(column)
        for station in agent.stations:
            state = station.state()
            current = str(state.reps) if state.set_active else "-"
            table.add_row(station.station_id, station.exercise.value, str(len(station.finished)), current,
                          str(station.total_reps))
        return table


@contextmanager
def live_counting(enabled: bool) -> Iterator[LiveCounting | None]:
    """A LiveCounting on an interactive terminal, else None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    with Live(console=Console(stderr=True), transient=True, refresh_per_second=8) as live:
        yield LiveCounting(live)
