"""Small line charts as inline SVG, drawn on the server: no script, no font files, nothing fetched."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

WIDTH = 340
HEIGHT = 140
_PAD_LEFT = 40
_PAD_RIGHT = 8
_PAD_TOP = 10
_PAD_BOTTOM = 22


def line_chart(title: str, unit: str, points: Sequence[tuple[date, float | None]]) -> str:
    """An SVG chart of the values by day (gaps where None); an empty string when nothing was measured."""
    known = [(d, v) for d, v in points if v is not None]
    if not known:
        return ""
    values = [v for _, v in known]
    low, high = min(values), max(values)
    if high - low < 1e-9:  # one value (or all equal): a band of ±10 % around it, never a made-up negative axis
        margin = max(abs(high) * 0.1, 1e-3)
        low, high = low - margin, high + margin
    days = [d.toordinal() for d, _ in known]
    first, last = min(days), max(days)
    span = max(last - first, 1)

    def x(day: date) -> float:
        inner = WIDTH - _PAD_LEFT - _PAD_RIGHT
        return _PAD_LEFT + (inner / 2 if last == first else inner * (day.toordinal() - first) / span)

    def y(value: float) -> float:
        return _PAD_TOP + (HEIGHT - _PAD_TOP - _PAD_BOTTOM) * (high - value) / (high - low)

    path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in known)
    dots = "".join(f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="2.5"><title>{d.isoformat()}: {v:g} {escape(unit)}'
                   "</title></circle>" for d, v in known)
    base = HEIGHT - _PAD_BOTTOM
    label = escape(f"{title} ({unit})")
    return (
        f'<figure class="chart"><figcaption>{label}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="{_PAD_LEFT}" y1="{base}" x2="{WIDTH - _PAD_RIGHT}" y2="{base}" class="axis"/>'
        f'<text x="{_PAD_LEFT - 4}" y="{_PAD_TOP + 4}" text-anchor="end">{high:.4g}</text>'
        f'<text x="{_PAD_LEFT - 4}" y="{base}" text-anchor="end">{low:.4g}</text>'
        f'<text x="{_PAD_LEFT}" y="{HEIGHT - 6}">{known[0][0].isoformat()}</text>'
        f'<text x="{WIDTH - _PAD_RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{known[-1][0].isoformat()}</text>'
        f'<polyline points="{path}" class="line"/>{dots}</svg></figure>'
    )
