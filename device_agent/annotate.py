"""Annotated video: what the agent saw and counted, frame by frame (``--annotate out.mp4``).

Draws each station's zone, its skeleton or tracked region, a trace of its signal over the last
seconds, and its counts, so a gym owner can check a station's set-up by eye.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.registry import PosePipeline, SignalPipeline
from replens.device_agent.zones import Zone, frame_size
from replens.errors import SourceError

if TYPE_CHECKING:
    from replens.device_agent.app import Agent
    from replens.device_agent.station import Station

log = logging.getLogger(__name__)

# BlazePose body connections (face and hands left out: they only clutter a gym view).
SKELETON = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27),
            (24, 26), (26, 28), (27, 31), (28, 32), (15, 19), (16, 20))
TRACE_S = 6.0
PANEL = (24, 24, 24)
ACCENT = (80, 200, 255)
ACTIVE = (90, 220, 90)
ZONE = (240, 160, 60)


class Annotator:
    """Writes one annotated frame per input frame; use :meth:`on_frame` as the agent's progress callback."""

    def __init__(self, path: Path, fps: float = 15.0) -> None:
        self.path = path
        self._fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._traces: dict[str, deque[tuple[float, float]]] = {}

    def on_frame(self, frame: Frame, agent: Agent) -> None:
        image = frame.image.copy()
        for row, station in enumerate(agent.stations):
            self._draw_station(image, frame, station, row)
        self._write(image)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def _write(self, image: npt.NDArray[np.uint8]) -> None:
        if self._writer is None:
            height, width = image.shape[:2]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), self._fps,
                                           (width, height))
            if not self._writer.isOpened():
                raise SourceError(f"{self.path}: cannot write an annotated video here")
        self._writer.write(image)

    def _draw_station(self, image: npt.NDArray[np.uint8], frame: Frame, station: Station, row: int) -> None:
        pipeline: Any = station.pipeline
        if isinstance(pipeline, PosePipeline) and pipeline.last_pose is not None:
            _draw_skeleton(image, pipeline.last_pose.landmarks)
        elif isinstance(pipeline, SignalPipeline):
            _draw_roi(image, getattr(pipeline.tracker, "roi", None))
        zone = getattr(pipeline, "zone", None)
        if isinstance(zone, Zone):  # on top: with a zone and no roi, the roi is the zone's box
            _draw_zone(image, zone, station.station_id)
        trace = self._traces.setdefault(station.station_id, deque())
        if pipeline.last_signal is not None:
            trace.append((frame.t_s, pipeline.last_signal))
        while trace and trace[0][0] < frame.t_s - TRACE_S:
            trace.popleft()
        _draw_panel(image, station, trace, frame.t_s, row)


def _draw_skeleton(image: npt.NDArray[np.uint8], landmarks: Float32Array) -> None:
    points = landmarks[:, :2].astype(int)
    visible = landmarks[:, 3] > 0.5
    for a, b in SKELETON:
        if visible[a] and visible[b]:
            cv2.line(image, tuple(points[a]), tuple(points[b]), ACCENT, 2, cv2.LINE_AA)
    for index in np.flatnonzero(visible[11:]) + 11:
        cv2.circle(image, tuple(points[index]), 3, (255, 255, 255), -1, cv2.LINE_AA)


def _draw_zone(image: npt.NDArray[np.uint8], zone: Zone, label: str) -> None:
    """The station's polygon, named, so a set-up with several stations per camera can be checked by eye."""
    corners = np.round(zone.pixels(frame_size(image))).astype(np.int32)  # (n, 2)
    cv2.polylines(image, [corners], True, ZONE, 2, cv2.LINE_AA)
    x, y = corners[np.argmin(corners[:, 1])]
    cv2.putText(image, label, (int(x) + 4, max(14, int(y) - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, ZONE, 1,
                cv2.LINE_AA)


def _draw_roi(image: npt.NDArray[np.uint8], roi: tuple[float, float, float, float] | None) -> None:
    if roi is None:
        return
    height, width = image.shape[:2]
    x, y, w, h = roi
    cv2.rectangle(image, (int(x * width), int(y * height)), (int((x + w) * width), int((y + h) * height)),
                  ACCENT, 2)


def _draw_panel(image: npt.NDArray[np.uint8], station: Station, trace: deque[tuple[float, float]], now_s: float,
                row: int) -> None:
    state = station.state()
    top = 8 + row * 86
    cv2.rectangle(image, (8, top), (300, top + 78), PANEL, -1)
    colour = ACTIVE if state.set_active else (200, 200, 200)
    title = f"{station.station_id} - {station.exercise.value}"
    cv2.putText(image, title, (16, top + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    reps = f"{state.reps} rep" + ("" if state.reps == 1 else "s")
    status = f"set {len(station.finished) + 1}: {reps}" if state.set_active else "resting"
    cv2.putText(image, status, (16, top + 44), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2, cv2.LINE_AA)
    cv2.putText(image, f"total {station.total_reps}", (200, top + 44), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)
    _draw_trace(image, trace, now_s, (16, top + 52, 276, 20))


def _draw_trace(image: npt.NDArray[np.uint8], trace: deque[tuple[float, float]], now_s: float,
                box: tuple[int, int, int, int]) -> None:
    if len(trace) < 2:
        return
    x0, y0, w, h = box
    values = np.array([v for _, v in trace])
    low, high = float(values.min()), float(values.max())
    span = max(high - low, 1e-9)
    points = np.array([(x0 + w * (1 - (now_s - t) / TRACE_S), y0 + h * (1 - (v - low) / span)) for t, v in trace],
                      dtype=np.int32)
    cv2.polylines(image, [points], False, ACCENT, 1, cv2.LINE_AA)
