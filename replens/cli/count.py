"""``replens count INPUT...``: offline counting with the same code the agent runs live."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from replens.cli.progress import LiveCounting, live_counting
from replens.config import AgentConfig, CounterConfig, SourceConfig, StackTrackerConfig, StationConfig
from replens.contract import Exercise
from replens.errors import ConfigError, SourceError

SIGNAL_SUFFIXES = frozenset({".csv", ".npy"})


def station_config(args: argparse.Namespace) -> StationConfig:
    try:
        exercise = Exercise(args.exercise)
    except ValueError as err:
        raise ConfigError(f"--exercise: unknown exercise {args.exercise!r}; choose from "
                          f"{', '.join(e.value for e in Exercise)}") from err
    roi = None
    if args.roi:
        try:
            roi = tuple(float(v) for v in args.roi.split(","))
        except ValueError as err:
            raise ConfigError(f"--roi: expected four numbers x,y,w,h, got {args.roi!r}") from err
    counter: dict[str, float] = {}
    if args.min_range is not None:
        counter["min_range"] = args.min_range
    if args.set_rest is not None:
        counter["set_end_rest_s"] = args.set_rest
    try:
        return StationConfig(exercise=exercise, tracker=StackTrackerConfig.model_validate({"roi": roi}),
                             counter=CounterConfig.model_validate(counter))
    except ValueError as err:
        raise ConfigError(f"invalid option: {err}") from err


def read_signal(path: Path) -> np.ndarray:
    """(n, 2) float array of t_s, position from a .csv (header allowed) or a .npy file."""
    try:
        if path.suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            data = np.genfromtxt(path, delimiter=",", names=None, skip_header=_header_lines(path))
    except (OSError, ValueError) as err:
        raise SourceError(f"{path}: cannot read signal file: {err}") from err
    data = np.asarray(data, dtype=float)
    if data.ndim != 2 or data.shape[1] < 2 or len(data) == 0:
        raise SourceError(f"{path}: expected rows of t_s,position, got shape {data.shape}")
    return data[:, :2]


def _header_lines(path: Path) -> int:
    with path.open() as f:
        first = f.readline()
    return 1 if any(c.isalpha() for c in first) else 0


def count_one(path: Path, station: StationConfig, live: LiveCounting | None) -> dict[str, Any]:
    from replens.device_agent.app import Agent
    from replens.device_agent.signal import SignalSample
    from replens.device_agent.station import Station

    if path.suffix.lower() in SIGNAL_SUFFIXES:
        st = Station("count", "input", station)
        signal = read_signal(path)
        for t_s, position in signal:
            ok = np.isfinite(position)
            st.consume(SignalSample(float(t_s), float(position)) if ok else None, float(t_s))
        st.finish(float(signal[-1, 0]))
        sets, frames, fps = st.finished, len(signal), None
    else:
        agent = Agent("count", AgentConfig(source=SourceConfig(url=str(path), realtime=False),
                                           stations={"input": station}), None, None)
        if live is not None:
            live.track(path.name, _frame_count(path))
        summary = agent.run(progress=live.on_frame if live else None)
        sets, frames, fps = summary.sets, summary.frames, round(summary.fps, 1)
    return {
        "input": str(path),
        "reps": sum(len(s.reps) for s in sets),
        "sets": [{"reps": len(s.reps), "start_s": round(s.reps[0].start_s, 3), "end_s": round(s.reps[-1].end_s, 3),
                  "rep_durations_s": [round(r.duration_s, 3) for r in s.reps]} for s in sets],
        "frames": frames,
        "fps": fps,
    }


def _frame_count(path: Path) -> int | None:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return frames if frames > 0 else None


def run_count(args: argparse.Namespace) -> int:
    station = station_config(args)
    results = []
    failed = False
    with live_counting(not args.json) as live:
        for path in args.inputs:
            try:
                result = count_one(path, station, live)
            except SourceError as err:
                result = {"input": str(path), "error": str(err)}
                failed = True
            results.append(result)
            if args.json:
                print(json.dumps(result), flush=True)
    if not args.json:
        _print_table(results)
    return 1 if failed else 0


def _print_table(results: list[dict[str, Any]]) -> None:
    table = Table(title="replens count")
    for column in ("input", "reps", "sets", "frames", "fps"):
        table.add_column(column)
    for r in results:
        if "error" in r:
            table.add_row(r["input"], "[red]error[/red]", r["error"], "", "")
            continue
        sets = " + ".join(str(s["reps"]) for s in r["sets"]) or "-"
        table.add_row(r["input"], str(r["reps"]), sets, str(r["frames"]), str(r["fps"] or ""))
    Console().print(table)
