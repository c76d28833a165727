"""Frame sources over cv2.VideoCapture: video files, local cameras and RTSP/HTTP streams.

Files are read once (or looped) in media time and fail loudly when unusable; live sources keep
reconnecting forever, because a gym camera that drops out for a minute must not stop the agent.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np
import numpy.typing as npt

from replens.device_agent.sources.frame import Frame
from replens.errors import SourceError

log = logging.getLogger(__name__)

FALLBACK_FPS = 30.0
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 30.0
STREAM_TIMEOUTS_MS = (10_000, 5_000)  # open, read: a dead stream must not block a read for minutes


def mask_url(url: str) -> str:
    """Hide ``user:pass@`` in a stream URL so logs and descriptions never carry credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None and (parts.username is not None or parts.password is not None):
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"***:***@{host}"))
    return re.sub(r"(//)[^/@]*@", r"\1***:***@", url)  # also for URLs urlsplit cannot parse


def _as_bgr(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Some cameras hand out grey or BGRA frames; the rest of the agent expects BGR."""
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    return image


def _grab(capture: cv2.VideoCapture) -> npt.NDArray[np.uint8] | None:
    """Read one frame as uint8, or None on failure (cv2's (ok, image) pair, typed)."""
    ok, image = capture.read()
    return np.asarray(image, dtype=np.uint8) if ok and image is not None else None


def _nominal_fps(capture: cv2.VideoCapture) -> float:
    """Container or driver frame rate, or a fallback when it reports 0, NaN or nonsense."""
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    return fps if math.isfinite(fps) and 0.0 < fps <= 1000.0 else FALLBACK_FPS


class FrameSource(ABC):
    """An iterator of frames with a nominal rate; close it (or use ``with``) to free the device."""

    def __init__(self, source_fps: float, fps_limit: float | None) -> None:
        if fps_limit is not None and not fps_limit > 0:
            raise ValueError(f"fps_limit must be positive, got {fps_limit}")
        self._source_fps = source_fps
        self._min_gap_s = 1.0 / fps_limit if fps_limit else 0.0
        self._next_emit_t = -math.inf
        self._closed = threading.Event()
        self._ended = False

    @property
    def fps(self) -> float:
        """Nominal rate of the frames this source yields (the source's rate, capped by ``fps_limit``)."""
        return min(self._source_fps, 1.0 / self._min_gap_s) if self._min_gap_s else self._source_fps

    @property
    @abstractmethod
    def description(self) -> str:
        """What this source reads, safe to log (no credentials)."""

    @property
    @abstractmethod
    def is_live(self) -> bool:
        """True for cameras and streams (wall-clock media time), False for files."""

    @abstractmethod
    def _read(self) -> Frame | None:
        """The next frame in source order, or None when the source has ended."""

    def _keep(self, t_s: float) -> bool:
        """Frame-dropping for ``fps_limit``: keep frames on a 1/limit schedule (that average, no bursts)."""
        if not self._min_gap_s:
            return True
        if t_s + 1e-6 < self._next_emit_t:
            return False
        lagging = t_s - self._next_emit_t > self._min_gap_s  # first frame, or after a gap in the source
        self._next_emit_t = (t_s if lagging else self._next_emit_t) + self._min_gap_s
        return True

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Frame:
        while not (self._ended or self._closed.is_set()):
            frame = self._read()
            if frame is None:
                self._ended = True  # later calls must not read (and warn) again
            elif self._keep(frame.t_s):
                return frame
        raise StopIteration

    def close(self) -> None:
        """Release the capture; a blocked ``__next__`` (backoff wait) returns promptly."""
        self._closed.set()
        self._release()

    @abstractmethod
    def _release(self) -> None:
        """Free the underlying capture."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class VideoFileSource(FrameSource):
    """A video file in media time ``index / fps``, paced to wall time when ``realtime``."""

    def __init__(self, path: Path, *, realtime: bool, fps_limit: float | None, loop: bool) -> None:
        if not path.is_file():
            raise SourceError(f"video file {path} does not exist or is not a file")
        self._path, self._realtime, self._loop = path, realtime, loop
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise SourceError(f"cannot open video file {path}: not a video format OpenCV can decode")
        first = _grab(self._capture)
        if first is None:
            self._capture.release()
            raise SourceError(f"video file {path}: the first frame cannot be decoded")
        super().__init__(_nominal_fps(self._capture), fps_limit)
        self._pending: npt.NDArray[np.uint8] | None = first
        self._frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._index = 0  # across loops, so t_s keeps increasing
        self._pass_frames = 0
        self._started_wall = self._started_mono = 0.0

    @property
    def description(self) -> str:
        return f"video file {self._path}"

    @property
    def is_live(self) -> bool:
        return False

    def _next_image(self) -> npt.NDArray[np.uint8] | None:
        """Decode on; at the end, restart when looping; a failed decode mid-file ends the pass."""
        if self._pending is not None:
            first, self._pending = self._pending, None
            return first
        image = _grab(self._capture)
        if image is not None:
            return image
        if self._frame_count > 0 and self._pass_frames < self._frame_count - 1:
            log.warning("video file %s: frame %d of %d cannot be decoded; ending the file there",
                        self._path, self._pass_frames, self._frame_count)
        if not self._loop or self._pass_frames == 0:
            return None
        self._pass_frames = 0
        self._capture.release()  # reopening rewinds every container; seeking does not always
        self._capture = cv2.VideoCapture(str(self._path))
        return _grab(self._capture)

    def _read(self) -> Frame | None:
        image = self._next_image()
        if image is None:
            return None
        if self._index == 0:
            self._started_wall, self._started_mono = time.time(), time.monotonic()
        t_s = self._index / self._source_fps
        if self._realtime:
            delay = self._started_mono + t_s - time.monotonic()
            if delay > 0:
                self._closed.wait(delay)
        frame = Frame(_as_bgr(image), t_s, self._started_wall + t_s, self._index)
        self._index += 1
        self._pass_frames += 1
        return frame

    def _release(self) -> None:
        self._capture.release()


class LiveSource(FrameSource):
    """A camera or stream: capture-clock media time, reconnecting with backoff, never raising once open."""

    def __init__(self, target: int | str, *, fps_limit: float | None) -> None:
        self._target = target
        self._description = f"camera {target}" if isinstance(target, int) else f"stream {mask_url(target)}"
        self._capture = self._open()
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"cannot open {self._description}")
        super().__init__(_nominal_fps(self._capture), fps_limit)
        self._opened_mono = time.monotonic()
        self._index = 0
        self._backoff_s = BACKOFF_FIRST_S
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return self._description

    @property
    def is_live(self) -> bool:
        return True

    def _read(self) -> Frame | None:
        while not self._closed.is_set():
            with self._lock:
                image = _grab(self._capture) if self._capture.isOpened() else None
            if image is not None:
                self._backoff_s = BACKOFF_FIRST_S
                frame = Frame(_as_bgr(image), time.monotonic() - self._opened_mono, time.time(), self._index)
                self._index += 1
                return frame
            self._reconnect()
        return None

    def _reconnect(self) -> None:
        """One backoff step: log once, wait (interruptible by close), reopen."""
        delay = self._backoff_s * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
        log.warning("%s: read failed; reconnecting in %.1f s", self._description, delay)
        self._backoff_s = min(self._backoff_s * 2.0, BACKOFF_MAX_S)
        if self._closed.wait(delay):
            return
        with self._lock:
            self._capture.release()
            if not self._closed.is_set():
                self._capture = self._open()

    def _open(self) -> cv2.VideoCapture:
        """Open the camera, or the stream through FFmpeg with open/read timeouts."""
        if isinstance(self._target, int):
            return cv2.VideoCapture(self._target)
        open_ms, read_ms = STREAM_TIMEOUTS_MS
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, open_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, read_ms]
        return cv2.VideoCapture(self._target, cv2.CAP_FFMPEG, params)

    def _release(self) -> None:
        with self._lock:
            self._capture.release()


def open_source(spec: str | int, *, realtime: bool, fps_limit: float | None = None,
                loop: bool = False) -> FrameSource:
    """Open a camera index (int or digits), a stream URL (``scheme://``) or a video file path.

    Raises:
        SourceError: the file is missing or undecodable, or the camera/stream cannot be opened.
    """
    if isinstance(spec, int) or spec.strip().isdigit():
        return LiveSource(int(spec), fps_limit=fps_limit)
    if "://" in spec:
        return LiveSource(spec, fps_limit=fps_limit)
    return VideoFileSource(Path(spec).expanduser(), realtime=realtime, fps_limit=fps_limit, loop=loop)
