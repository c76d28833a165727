"""The picture ``replens report`` draws: matplotlib on the Agg backend (no display, no pyplot state)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from replens.contract.load import LoadUnit, from_kg, shown_load
from replens.strength import epley_kg

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.axes import Axes

    from replens.hub.journal import RecordedRep, RecordedSet

Box = tuple[int, int, int, int]
"""Pixel box in the PNG: left, top, right, bottom."""


def render_report(name: str, sets: list[RecordedSet], since: datetime, until: datetime, out: Path, *,
                  unit: LoadUnit = LoadUnit.KG) -> dict[str, Box]:
    """Draw the report to ``out`` (PNG), loads in ``unit``; returns where each plot landed, by panel name."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    exercises = sorted({str(s.exercise) for s in sets})
    colours = {e: f"C{i % 10}" for i, e in enumerate(exercises)}
    days = _days(since, until)
    figure = Figure(figsize=(14, 11), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # attaches itself: no pyplot, no display
    grid = figure.add_gridspec(3, 2, height_ratios=[1, 1, 0.8])
    axes = {
        "reps per day": figure.add_subplot(grid[0, 0]),
        "sets per day": figure.add_subplot(grid[0, 1]),
        "volume": figure.add_subplot(grid[1, 0]),
        "velocity": figure.add_subplot(grid[1, 1]),
        "summary": figure.add_subplot(grid[2, :]),
    }
    reps = sum(s.reps for s in sets)
    figure.suptitle(f"{name} · {since.astimezone():%a %d %b} – {until.astimezone():%a %d %b %Y} · "
                    f"{len(sets)} sets, {reps} reps, {len(exercises)} exercises", fontsize=15, fontweight="bold")
    _per_day(axes["reps per day"], sets, days, colours, value=lambda s: s.reps, title="Reps per day")
    _per_day(axes["sets per day"], sets, days, colours, value=lambda s: 1, title="Sets per day")
    _volume(axes["volume"], sets, exercises, colours, unit)
    _velocity(axes["velocity"], sets, days, exercises, colours)
    _summary(axes["summary"], sets, exercises, colours, unit)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png")  # draws, so the axes' positions below are final
    height = figure.bbox.height
    return {key: _box(ax, height) for key, ax in axes.items()}


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.astimezone().date(), until.astimezone().date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _per_day(ax: Axes, sets: list[RecordedSet], days: list[date], colours: dict[str, str], *,
             value: Callable[[RecordedSet], float], title: str) -> None:
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(days))
    index = {d: i for i, d in enumerate(days)}
    for s in sets:
        day = s.started_at.astimezone().date()
        if day in index:
            totals[s.exercise][index[day]] += value(s)
    bottom = [0.0] * len(days)
    positions = list(range(len(days)))
    for exercise, values in sorted(totals.items()):
        ax.bar(positions, values, bottom=bottom, color=colours[exercise], label=exercise.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(positions, [f"{d:%a}\n{d:%d}" for d in days])
    ax.set_title(title, loc="left", fontweight="bold")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")


def _volume(ax: Axes, sets: list[RecordedSet], exercises: list[str], colours: dict[str, str], unit: LoadUnit) -> None:
    """Load × reps per exercise where loads are known (in ``unit``), else reps."""
    loaded = any(s.lifted_kg is not None for s in sets)
    totals = [from_kg(sum(s.volume_kg or 0.0 for s in sets if s.exercise == e), unit) if loaded
              else sum(s.reps for s in sets if s.exercise == e) for e in exercises]
    minutes = [sum(s.under_tension_s for s in sets if s.exercise == e) / 60 for e in exercises]
    counts = [sum(1 for s in sets if s.exercise == e) for e in exercises]
    labels = [e.replace("_", " ") for e in exercises]
    bars = ax.barh(labels, totals, color=[colours[e] for e in exercises])
    for bar, n, tut in zip(bars, counts, minutes, strict=True):
        ax.annotate(f" {n} sets · {tut:.1f} min under tension", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    va="center", fontsize=9)
    ax.set_xlim(0, max(*totals, 1.0) * 1.6)
    ax.invert_yaxis()
    ax.set_xlabel(f"{unit} (load × reps)" if loaded else "reps")
    title = f"Volume per exercise ({unit})" if loaded else "Volume per exercise (reps; load not recorded)"
    ax.set_title(title, loc="left", fontweight="bold")
    ax.grid(axis="x", alpha=0.3)


def _velocity(ax: Axes, sets: list[RecordedSet], days: list[date], exercises: list[str],
              colours: dict[str, str]) -> None:
    """Each set as a faint dot, each session's mean as a line; x in days since the period's first midnight."""
    origin = datetime.combine(days[0], datetime.min.time()).astimezone()
    drawn = False
    for exercise in exercises:
        points = [((s.started_at - origin).total_seconds() / 86_400, v) for s in sets if s.exercise == exercise
                  and (v := s.mean_velocity_m_s) is not None]
        if not points:
            continue
        ax.scatter([x for x, _ in points], [v for _, v in points], color=colours[exercise], alpha=0.35, s=18)
        by_day: dict[int, list[tuple[float, float]]] = defaultdict(list)
        for x, v in points:
            by_day[int(x)].append((x, v))
        ordered = sorted(by_day)
        ax.plot([by_day[d][0][0] for d in ordered], [sum(v for _, v in by_day[d]) / len(by_day[d]) for d in ordered],
                marker="o", color=colours[exercise], label=f"{exercise.replace('_', ' ')} (session mean)")
        drawn = True
    ax.set_xticks([i + 0.5 for i in range(len(days))], [f"{d:%a}\n{d:%d}" for d in days])
    ax.set_xlim(0, len(days))
    ax.set_title("Bar velocity per set (mean concentric, m/s)", loc="left", fontweight="bold")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no velocity: none of these stations has a calibrated tracker", ha="center",
                va="center", transform=ax.transAxes, color="0.4")


def _summary(ax: Axes, sets: list[RecordedSet], exercises: list[str], colours: dict[str, str],
             unit: LoadUnit) -> None:
    header = ["exercise", "sets", "reps", "best set", "best e1RM", "mean velocity", "best velocity", "velocity loss",
              "down/hold/up (s)", "mean ROM"]
    rows = []
    for exercise in exercises:
        mine = [s for s in sets if s.exercise == exercise]
        reps = [r for s in mine for r in s.rep_details]
        speeds = [v for s in mine if (v := s.mean_velocity_m_s) is not None]
        losses = [v for s in mine if (v := s.velocity_loss_pct) is not None]
        e1rms = [e for s in mine if s.lifted_kg is not None and (e := epley_kg(s.lifted_kg, s.reps)) is not None]
        rows.append([
            exercise.replace("_", " "), str(len(mine)), str(sum(s.reps for s in mine)),
            f"{max(s.reps for s in mine)} reps",
            shown_load(max(e1rms), unit) if e1rms else "–",
            f"{sum(speeds) / len(speeds):.2f} m/s" if speeds else "–",
            f"{max(speeds):.2f} m/s" if speeds else "–",
            f"{sum(losses) / len(losses):.0f} %" if losses else "–",
            _tempo(reps), _rom(reps),
        ])
    ax.axis("off")
    ax.set_title("Per exercise", loc="left", fontweight="bold")
    table = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1, 1.6)
    for col in range(len(header)):
        table[0, col].set_facecolor("#dddddd")
    for row, exercise in enumerate(exercises, start=1):
        table[row, 0].set_facecolor(colours[exercise])
        table[row, 0].set_alpha(0.5)


def _tempo(reps: list[RecordedRep]) -> str:
    if not reps:
        return "–"
    down = sum(r.eccentric_s for r in reps) / len(reps)
    hold = sum(r.pause_s for r in reps) / len(reps)
    up = sum(r.concentric_s for r in reps) / len(reps)
    return f"{down:.1f} / {hold:.1f} / {up:.1f}"


def _rom(reps: list[RecordedRep]) -> str:
    if not reps:
        return "–"
    metres = [r.rom_m for r in reps if r.rom_m is not None]
    if len(metres) == len(reps):
        return f"{sum(metres) / len(metres):.2f} m"
    return f"{sum(r.rom for r in reps) / len(reps):.0f} px"  # a weight stack's travel in the image


def _box(ax: Axes, height: float) -> Box:
    extent = ax.get_window_extent()
    return (round(extent.x0), round(height - extent.y1), round(extent.x1), round(height - extent.y0))
