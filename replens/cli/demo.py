"""``replens demo``: count the bundled sample clip, end to end through MQTT and InfluxDB when configured."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from replens.cli.progress import live_counting
from replens.config import (
    AgentConfig,
    CounterConfig,
    RepLensConfig,
    SourceConfig,
    StackTrackerConfig,
    StationConfig,
    load_config,
)
from replens.contract import Exercise

DEMO_AGENT = "demo"
DEMO_STATION = "stack"


@dataclass(frozen=True)
class SampleClip:
    path: Path
    truth: dict[str, Any]

    @property
    def expected_reps(self) -> list[int]:
        return [len(s["reps"]) for s in self.truth["sets"]]


def sample_clip() -> SampleClip:
    """The clip shipped inside the package (rendered by scripts/render_sample_clip.py)."""
    folder = resources.files("replens.device_agent") / "samples"
    path = Path(str(folder / "stack_demo.mp4"))
    truth = json.loads((folder / "stack_demo.json").read_text())
    return SampleClip(path, truth)


def demo_agent_config(clip: SampleClip) -> AgentConfig:
    roi = tuple(clip.truth["roi"])
    return AgentConfig(
        source=SourceConfig(url=str(clip.path), realtime=False),
        stations={
            DEMO_STATION: StationConfig(
                exercise=Exercise.LAT_PULLDOWN,
                tracker=StackTrackerConfig(roi=roi, axis="vertical"),
                counter=CounterConfig(set_end_rest_s=5.0),
            )
        },
        stats_interval_s=5.0,
    )


def run_demo(config_path: Path | None, *, as_json: bool) -> int:
    from replens.device_agent.app import Agent, AgentRunSummary, ProgressCallback

    clip = sample_clip()
    agent_config = demo_agent_config(clip)
    config = load_config(config_path) if config_path else None
    with live_counting(not as_json) as live:
        on_frame: ProgressCallback | None = None
        if live is not None:
            live.track(clip.path.name, clip.truth["frames"])
            on_frame = live.on_frame
        if config is None:
            summary: AgentRunSummary = Agent(DEMO_AGENT, agent_config, None, None).run(progress=on_frame)
            delivered: dict[str, Any] | None = None
        else:
            summary, delivered = _run_with_servers(config, agent_config, on_frame)
    _report(clip, summary, delivered, as_json=as_json)
    found = [len(s.reps) for s in summary.sets]
    return 0 if found == clip.expected_reps else 1


def _run_with_servers(
    config: RepLensConfig, agent_config: AgentConfig, on_frame: Any
) -> tuple[Any, dict[str, Any]]:
    """Agent → broker → in-process hub → InfluxDB (when configured); waits until everything is stored."""
    from replens.device_agent.app import Agent
    from replens.hub.runner import HubThread

    with tempfile.TemporaryDirectory(prefix="replens-demo-") as scratch:
        config = config.model_copy(update={"data_dir": Path(scratch)})
        hub_thread = HubThread(config)
        hub = hub_thread.start()
        try:
            agent = Agent(DEMO_AGENT, agent_config, config.mqtt, Path(scratch) / "agent")
            summary = agent.run(progress=on_frame)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and hub.journal.points_depth()[0] > 0:
                time.sleep(0.1)
            delivered = {
                "broker": f"{config.mqtt.host}:{config.mqtt.port}",
                "all_confirmed_by_hub": summary.drained,
                "hub_journal": hub.journal.counts(),
                "influxdb_points_pending": hub.journal.points_depth()[0] if config.influxdb else None,
            }
        finally:
            hub_thread.stop()
    return summary, delivered


def _report(clip: SampleClip, summary: Any, delivered: dict[str, Any] | None, *, as_json: bool) -> None:
    sets = [
        {
            "set_id": s.set_id,
            "station": s.station,
            "exercise": s.exercise.value,
            "reps": len(s.reps),
            "start_s": round(s.reps[0].start_s, 2),
            "end_s": round(s.reps[-1].end_s, 2),
            "rep_durations_s": [round(r.duration_s, 2) for r in s.reps],
        }
        for s in summary.sets
    ]
    result = {
        "clip": clip.path.name,
        "expected_reps": clip.expected_reps,
        "sets": sets,
        "total_reps": sum(s["reps"] for s in sets),
        "frames": summary.frames,
        "fps": round(summary.fps, 1),
        "delivery": delivered,
    }
    if as_json:
        print(json.dumps(result))
        return
    console = Console()
    table = Table(title=f"RepLens demo: {clip.path.name} ({summary.frames} frames at {summary.fps:.0f} fps)")
    for column in ("set", "station", "exercise", "reps", "start", "end", "rep durations (s)"):
        table.add_column(column)
    for number, s in enumerate(sets, start=1):
        table.add_row(str(number), s["station"], s["exercise"], str(s["reps"]), f"{s['start_s']:.1f} s",
                      f"{s['end_s']:.1f} s", " ".join(f"{d:.1f}" for d in s["rep_durations_s"]))
    console.print(table)
    found = [s["reps"] for s in sets]
    verdict = "[green]matches[/green]" if found == clip.expected_reps else "[red]does not match[/red]"
    console.print(f"Found {found} reps per set; the clip has {clip.expected_reps}: {verdict}.")
    if delivered:
        console.print(f"Delivered through {delivered['broker']}: hub journal {delivered['hub_journal']}, "
                      f"InfluxDB points pending: {delivered['influxdb_points_pending']}")
