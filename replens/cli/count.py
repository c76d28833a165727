"""``replens count INPUT...``: offline counting with the same streaming code the agent runs live."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from replens.cli.progress import LiveCounting, live_counting
from replens.config import (
    AgentConfig,
    BarbellTrackerConfig,
    CounterConfig,
    PoseTrackerConfig,
    SourceConfig,
    StackTrackerConfig,
    StationConfig,
)
from replens.config.agent import exercise_choice
from replens.contract import Exercise
from replens.device_agent.counting.profiles import profile_for
from replens.device_agent.sets import CountedSet
from replens.errors import ConfigError, SourceError

SIGNAL_SUFFIXES = frozenset({".csv", ".npy"})


def parse_exercise(text: str) -> Exercise | list[Exercise]:
    """``auto``, ``squat`` or ``squat,bench_press,overhead_press``, checked as the config file's ``exercise``."""
    names = [n.strip() for n in text.split(",")]
    try:
        choice = exercise_choice(names if len(names) > 1 else names[0])
    except ValueError as err:
        raise ConfigError(f"--exercise: {err}") from err
    return choice if isinstance(choice, list) else Exercise(str(choice))


def station_config(args: argparse.Namespace, exercise: Exercise | list[Exercise]) -> StationConfig:
    roi = None
    if args.roi:
        try:
            roi = tuple(float(v) for v in args.roi.split(","))
        except ValueError as err:
            raise ConfigError(f"--roi: expected four numbers x,y,w,h, got {args.roi!r}") from err
    named = exercise if isinstance(exercise, Exercise) else None
    stack = named is not None and profile_for(named).load == "stack"
    kind = args.tracker or ("stack" if roi is not None or stack else "pose")
    counter: dict[str, float] = {}
    if args.min_range is not None and kind == "stack":  # pose and barbell videos refuse it; signal files use it
        counter["min_range"] = args.min_range
    if args.set_rest is not None:
        counter["set_end_rest_s"] = args.set_rest
    if kind == "barbell" and (named is None or profile_for(named).load != "barbell"):
        given = ",".join(exercise) if isinstance(exercise, list) else exercise
        raise ConfigError(f"--tracker barbell needs one barbell lift, not {given}")
    try:
        tracker: StackTrackerConfig | PoseTrackerConfig | BarbellTrackerConfig
        if kind == "stack":
            tracker = StackTrackerConfig.model_validate({"roi": roi})
        elif kind == "barbell":
            tracker = BarbellTrackerConfig.model_validate({"roi": roi})
        else:
            tracker = PoseTrackerConfig()
        return StationConfig(exercise=exercise, tracker=tracker, counter=CounterConfig.model_validate(counter))
    except ValueError as err:
        raise ConfigError(f"invalid option: {err}") from err


def count_one(
    path: Path, args: argparse.Namespace, station: StationConfig, live: LiveCounting | None
) -> dict[str, Any]:
    from replens.device_agent.offline import count_recorded, read_recorded

    if path.suffix.lower() in SIGNAL_SUFFIXES:
        data = read_recorded(path, args.fps)
        sets = count_recorded(data, station.exercise, min_range=args.min_range, set_end_rest_s=args.set_rest)
        return {"input": str(path), **_sets_json(sets), "samples": len(data.t_s)}
    from replens.device_agent.annotate import Annotator
    from replens.device_agent.app import Agent
    from replens.device_agent.sources.frame import Frame

    agent = Agent("count", AgentConfig(source=SourceConfig(url=str(path), realtime=False),
                                       stations={"input": station}), None, None)
    if live is not None:
        live.track(path.name, _frame_count(path))
    annotator = Annotator(args.annotate) if args.annotate else None
    callbacks = [c for c in (live.on_frame if live else None, annotator.on_frame if annotator else None) if c]

    def on_frame(frame: Frame, running: Agent) -> None:
        for callback in callbacks:
            callback(frame, running)

    try:
        summary = agent.run(progress=on_frame)
    finally:
        if annotator is not None:
            annotator.close()
    return {"input": str(path), **_sets_json(summary.sets), "frames": summary.frames, "fps": round(summary.fps, 1)}


def _sets_json(sets: list[CountedSet]) -> dict[str, Any]:
    def rnd(value: float | None, digits: int = 3) -> float | None:
        return None if value is None else round(value, digits)

    out = []
    for s in sets:
        reps = s.reps
        out.append({
            "exercise": s.exercise.value,
            "exercise_confidence": rnd(s.exercise_confidence, 2),
            **({"runner_up": s.runner_up.value, "runner_up_confidence": rnd(s.runner_up_confidence, 2)}
               if s.runner_up is not None else {}),
            "reps": len(reps),
            "partial_reps": s.partial_reps,
            "quality": s.quality,
            "start_s": rnd(reps[0].start_s),
            "end_s": rnd(reps[-1].end_s),
            "rest_before_s": rnd(s.rest_before_s),
            "velocity_loss_pct": rnd(s.velocity_loss_pct, 1),
            "tempo": {"concentric_s": rnd(sum(r.concentric_s for r in reps) / len(reps)),
                      "eccentric_s": rnd(sum(r.eccentric_s for r in reps) / len(reps)),
                      "pause_s": rnd(sum(r.pause_s for r in reps) / len(reps))},
            "rep_times": [
                {"index": r.index, "start_s": rnd(r.start_s), "turn_s": rnd(r.turn_s), "end_s": rnd(r.end_s),
                 "concentric_s": rnd(r.concentric_s), "eccentric_s": rnd(r.eccentric_s),
                 "pause_s": rnd(r.pause_s), "rom": rnd(r.rom),
                 "rom_m": rnd(r.rom_m), "mean_velocity_m_s": rnd(r.mean_velocity_m_s),
                 "peak_velocity_m_s": rnd(r.peak_velocity_m_s), "confidence": rnd(r.confidence, 2)}
                for r in reps
            ],
        })
    main = max(sets, key=lambda s: len(s.reps), default=None)  # the set with the most reps names the input
    return {"exercise": main.exercise.value if main else None,
            "exercise_confidence": rnd(main.exercise_confidence, 2) if main else None,
            "reps": sum(len(s.reps) for s in sets), "sets": out}


def _frame_count(path: Path) -> int | None:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return frames if frames > 0 else None


def run_count(args: argparse.Namespace) -> int:
    station = station_config(args, parse_exercise(args.exercise))  # bad options fail before any work
    videos = [p for p in args.inputs if p.suffix.lower() not in SIGNAL_SUFFIXES]
    if args.min_range is not None and videos and station.counter.min_range is None:
        raise ConfigError(f"--min-range is for weight-stack videos and recorded signals or tracks, not "
                          f"{station.tracker.type} videos: {station.tracker.refused_counter_keys['min_range']}")
    if args.annotate and (len(args.inputs) != 1 or not videos):
        raise ConfigError("--annotate needs exactly one video input")
    results = []
    failed = False
    with live_counting(not args.json) as live:
        for path in args.inputs:
            try:
                result = count_one(path, args, station, live)
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
    for column in ("input", "exercise", "reps", "reps per set", "rep durations (s)"):
        table.add_column(column)
    for r in results:
        if "error" in r:
            table.add_row(r["input"], "", "[red]error[/red]", r["error"], "")
            continue
        sets = " + ".join(f"{s['reps']} {s['exercise']} ({s['exercise_confidence']:.2f})" for s in r["sets"]) or "-"
        durations = " | ".join(" ".join(f"{t['end_s'] - t['start_s']:.1f}" for t in s["rep_times"])
                               for s in r["sets"])
        exercise = "-" if r["exercise"] is None else f"{r['exercise']} ({r['exercise_confidence']:.2f})"
        table.add_row(r["input"], exercise, str(r["reps"]), sets, durations)
    Console().print(table)
