"""Frame sources over OpenCV: files fail loudly, decode in media time, loop, pace, drop and mask URLs."""

from __future__ import annotations

import json
import logging
import re
import time
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from replens.device_agent.sources.opencv_source import FrameSource, mask_url, open_source
from replens.errors import SourceError

SAMPLES = Path(__file__).resolve().parents[2] / "device_agent" / "samples"
CLIP = SAMPLES / "stack_demo.mp4"


def write_video(path: Path, n: int, *, fourcc: str = "mp4v", fps: float = 15.0) -> Path:
    """n frames whose mean brightness encodes the frame number (10, 30, 50, ...)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (96, 64))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for i in range(n):
        image = np.full((64, 96, 3), 10 + 20 * (i % 12), np.uint8)
        image[::8] = rng.integers(0, 255, (8, 96, 3), dtype=np.uint8)  # some texture, bigger files
        writer.write(image)
    writer.release()
    return path


def test_missing_file_raises_source_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "clip.mp4"
    with pytest.raises(SourceError, match=re.escape(str(missing))):
        open_source(str(missing), realtime=False)


def test_non_video_file_raises_source_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"notes\.mp4"):
        open_source(str(text), realtime=False)


def test_unavailable_camera_index_raises_source_error() -> None:
    with pytest.raises(SourceError, match="camera 99"):
        open_source("99", realtime=True)


def test_sample_clip_decodes_in_media_time() -> None:
    truth = json.loads((SAMPLES / "stack_demo.json").read_text(encoding="utf-8"))
    with open_source(str(CLIP), realtime=False) as source:
        assert isinstance(source, FrameSource)
        assert source.fps == pytest.approx(15.0)
        assert not source.is_live
        assert str(CLIP) in source.description
        frames = list(source)
    assert len(frames) == truth["frames"]
    assert frames[0].image.shape == (360, 640, 3)
    t = np.array([f.t_s for f in frames])
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(t, np.arange(len(frames)) / 15.0)
    assert [f.index for f in frames] == list(range(len(frames)))
    offsets = np.array([f.wall_time_s - f.t_s for f in frames])
    assert np.ptp(offsets) < 1e-6  # wall time = start of reading + t_s
    assert abs(offsets[0] - time.time()) < 60


def test_fps_limit_drops_frames_to_the_limit() -> None:
    with open_source(str(CLIP), realtime=False, fps_limit=5.0) as source:
        assert source.fps == pytest.approx(5.0)
        frames = list(islice(source, 30))
    assert [f.index for f in frames] == list(range(0, 90, 3))
    np.testing.assert_allclose(np.diff([f.t_s for f in frames]), 0.2, atol=1e-9)


def test_fps_limit_above_source_rate_keeps_every_frame() -> None:
    with open_source(str(CLIP), realtime=False, fps_limit=100.0) as source:
        assert source.fps == pytest.approx(15.0)
        assert [f.index for f in islice(source, 20)] == list(range(20))


def test_fps_limit_with_uneven_ratio_keeps_the_rate_in_every_second() -> None:
    with open_source(str(CLIP), realtime=False, fps_limit=10.0) as source:
        t = np.array([f.t_s for f in islice(source, 100)])
    in_next_second = [int(np.sum((t >= ti) & (t < ti + 1.0 - 1e-9))) for ti in t[:-15]]
    assert max(in_next_second) <= 10
    assert len(t) / (t[-1] - t[0] + 0.1) == pytest.approx(10.0, rel=0.05)


def test_loop_restarts_and_time_keeps_increasing(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "five.mp4", 5)
    with open_source(str(clip), realtime=False, loop=True) as source:
        frames = list(islice(source, 12))
    assert len(frames) == 12
    assert [f.index for f in frames] == list(range(12))
    assert np.all(np.diff([f.t_s for f in frames]) > 0)
    brightness = [float(f.image[1:7].mean()) for f in frames]
    for i in range(5, 12):
        assert brightness[i] == pytest.approx(brightness[i - 5], abs=3.0)


def test_without_loop_the_file_ends(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "five.mp4", 5)
    with open_source(clip.as_posix(), realtime=False) as source:
        assert len(list(source)) == 5
        assert list(source) == []


def test_realtime_paces_to_the_frame_rate(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "six.mp4", 6, fps=20.0)
    began = time.monotonic()
    with open_source(str(clip), realtime=True) as source:
        assert len(list(source)) == 6
    assert time.monotonic() - began >= 5 / 20.0 - 0.02


def test_corrupt_frame_mid_file_ends_cleanly_with_a_warning(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    clip = write_video(tmp_path / "cut.avi", 30, fourcc="MJPG")
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 6 // 10])  # header still says 30 frames
    with caplog.at_level(logging.WARNING), open_source(str(clip), realtime=False) as source:
        frames = list(source)
    assert 1 <= len(frames) < 30
    assert any("cannot be decoded" in r.getMessage() for r in caplog.records)


def test_close_stops_iteration() -> None:
    source = open_source(str(CLIP), realtime=True)
    next(source)
    source.close()
    with pytest.raises(StopIteration):
        next(source)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/stream1", "rtsp://***:***@10.0.0.5:554/stream1"),
        ("rtsp://admin@cam.local/live", "rtsp://***:***@cam.local/live"),
        ("https://user:p%40ss@example.com/cam.mjpg?x=1", "https://***:***@example.com/cam.mjpg?x=1"),
        ("rtsp://10.0.0.5:554/stream1", "rtsp://10.0.0.5:554/stream1"),
        ("rtsp://u:p@[::1:554/broken", "rtsp://***:***@[::1:554/broken"),
    ],
)
def test_mask_url_hides_credentials(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_stream_that_cannot_open_raises_without_credentials() -> None:
    with pytest.raises(SourceError) as info:
        open_source("rtsp://admin:s3cret@127.0.0.1:9/stream", realtime=True)
    assert "s3cret" not in str(info.value)
    assert "admin" not in str(info.value)
    assert "127.0.0.1:9/stream" in str(info.value)
