"""Barbell tracking: detector output adapters, a real tiny OpenVINO detector, the plate tracker and the
full pipeline on a rendered side-view squat clip whose bar path and velocities are known exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from replens.contract.exercises import Exercise
from replens.device_agent.counting.events import RepCompleted
from replens.device_agent.counting.recognizing import StationEvent
from replens.device_agent.sets import counted_sets
from replens.device_agent.sources.frame import Frame
from replens.device_agent.sources.opencv_source import open_source
from replens.device_agent.trackers.barbell.boxes import Boxes, InputMap
from replens.device_agent.trackers.barbell.detector import ObjectDetector
from replens.device_agent.trackers.barbell.track import Candidates, PlateObservation, PlateTrack
from replens.device_agent.trackers.barbell.tracker import BarbellPipeline, BarbellTracker, BarSample
from replens.errors import ConfigError, ModelError

# --- the rendered clip: side view of a plate through 5 squat reps ---------------------------------

W, H, FPS = 640, 480, 30.0
PLATE_PX = 96.0  # drawn diameter; the plate is 0.45 m, so this sets the true scale
PX_PER_M = PLATE_PX / 0.45
ROM_M, ECC_S, CON_S, HOLD_S = 0.6, 1.2, 0.8, 1.0
START_S, END_S, REPS = 1.0, 2.0, 5
TOP_Y, BAR_X = 150.0, 300.0
OCCLUDER_W, OCCLUDER_PX_PER_FRAME = 110, 45.0
OCCLUDED_REP = 2  # 0-based: a person walks past during this rep's descent


def _ease(u: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, u)))


def bar_path(t: float) -> tuple[float, float]:
    """Plate centre (x, y) in pixels: squat from the top, cosine-eased; the bar drifts 3 cm forward at depth."""
    depth, period = 0.0, ECC_S + CON_S + HOLD_S
    k, u = divmod(t - START_S, period)
    if t >= START_S and k < REPS:
        depth = _ease(u / ECC_S) if u < ECC_S else 1.0 - _ease((u - ECC_S) / CON_S) if u < ECC_S + CON_S else 0.0
    return BAR_X + 0.03 * PX_PER_M * math.sin(math.pi * depth), TOP_Y + depth * ROM_M * PX_PER_M


def occluder_x(t: float) -> float:
    t0 = START_S + OCCLUDED_REP * (ECC_S + CON_S + HOLD_S) + 0.35
    return -OCCLUDER_W + (t - t0) * OCCLUDER_PX_PER_FRAME * FPS


def analytic_mean_concentric_m_s() -> float:
    """Mean velocity over the part of a cosine-eased rise above the 0.05 m/s threshold (the reference's)."""
    peak = ROM_M * math.pi / (2 * CON_S)
    u0 = math.asin(0.05 / peak) / math.pi
    return ROM_M * math.cos(math.pi * u0) / (CON_S * (1 - 2 * u0))


@dataclass(frozen=True)
class Clip:
    path: Path
    truth: np.ndarray  # (n, 2) plate centre per frame, pixels
    occluded: np.ndarray  # (n,) bool: the occluder overlaps the plate


def _background(rng: np.random.Generator) -> np.ndarray:
    """Blotchy wall texture with two dark rack uprights."""
    bg = cv2.resize(rng.uniform(60, 150, size=(12, 16)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    bg += rng.normal(0, 6, size=(H, W)).astype(np.float32)
    for x in (80, 560):
        bg[:, x : x + 24] = 45
    return cv2.cvtColor(np.clip(bg, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def _draw_plate(img: np.ndarray, x: float, y: float) -> None:
    """A dark disc with a lighter rim and hub, sub-pixel placed (shift 4)."""
    centre, r = (round(x * 16), round(y * 16)), PLATE_PX / 2
    for radius, grey in ((r, 205), (0.9 * r, 35), (0.17 * r, 190)):
        cv2.circle(img, centre, round(radius * 16), (grey, grey, grey), -1, cv2.LINE_AA, 4)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    rng = np.random.default_rng(7)
    bg = _background(rng)
    path = tmp_path_factory.mktemp("barbell") / "squat_side.mp4"
    n = round((START_S + REPS * (ECC_S + CON_S + HOLD_S) + END_S) * FPS)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (W, H))
    noise = rng.normal(0, 3, size=(16, H, W, 3)).astype(np.int16)  # sensor noise, cycled: drawing it is slow
    truth, occluded = [], []
    for i in range(n):
        t = i / FPS
        img = bg.copy()
        x, y = bar_path(t)
        _draw_plate(img, x, y)
        ox = round(occluder_x(t))
        cv2.rectangle(img, (ox, 0), (ox + OCCLUDER_W, H), (70, 60, 50), -1)
        noisy = img.astype(np.int16) + noise[i % len(noise)]
        writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
        truth.append((x, y))
        occluded.append(ox < x + PLATE_PX / 2 and ox + OCCLUDER_W > x - PLATE_PX / 2)
    writer.release()
    return Clip(path, np.array(truth), np.array(occluded))


@pytest.fixture(scope="module")
def tracked(clip: Clip) -> list[BarSample | None]:
    tracker = BarbellTracker.model_free()
    with open_source(str(clip.path), realtime=False) as source:
        return [tracker.update(frame) for frame in source]


def test_plate_tracker_follows_the_plate_within_a_pixel_and_measures_its_diameter(
    clip: Clip, tracked: list[BarSample | None]
) -> None:
    assert len(tracked) == len(clip.truth)
    assert all(s is not None for s in tracked[3:])  # a track needs 3 consistent frames to start
    samples = [s for s in tracked if s is not None]
    err = np.array([math.hypot(s.x - clip.truth[round(s.t_s * FPS)][0], s.y - clip.truth[round(s.t_s * FPS)][1])
                    for s in samples])
    assert np.median(err) < 0.5
    assert err.max() < 3.0
    sizes = [s.plate_size for s in samples if s.plate_size is not None]
    # cv2's anti-aliased fill covers an area of a 97.0 px disc for a 96 px radius-48 circle
    assert np.median(sizes) == pytest.approx(97.0, rel=0.01)


def test_plate_tracker_bridges_the_occlusion(clip: Clip, tracked: list[BarSample | None]) -> None:
    hidden = np.flatnonzero(clip.occluded)
    assert 4 <= len(hidden) <= 9  # a brief walk-past: 0.13-0.3 s
    during = [tracked[i] for i in hidden]
    assert all(s is not None for s in during)
    assert any(s is not None and s.bridged for s in during)  # nothing usable in the fully covered frames
    for i in hidden:
        s = tracked[i]
        assert s is not None
        assert math.hypot(s.x - clip.truth[i][0], s.y - clip.truth[i][1]) < 3.0


def test_barbell_pipeline_counts_5_squats_with_the_analytic_concentric_velocity(clip: Clip) -> None:
    pipeline = BarbellPipeline(BarbellTracker.model_free(), Exercise.SQUAT)
    events: list[StationEvent] = []
    t_s = 0.0
    with open_source(str(clip.path), realtime=False) as source:
        for frame in source:
            events += pipeline.update(frame)
            t_s = frame.t_s
    assert pipeline.last_signal == pytest.approx(H - TOP_Y, abs=2.0)
    events += pipeline.finish(t_s + 1 / FPS)
    reps = [e.rep for e in events if isinstance(e, RepCompleted)]
    assert len(reps) == 5
    sets = counted_sets(events, Exercise.SQUAT)
    assert len(sets) == 1 and len(sets[0].reps) == 5
    expected = analytic_mean_concentric_m_s()  # 0.770 m/s
    for rep in reps:
        assert rep.mean_velocity_m_s == pytest.approx(expected, rel=0.10)
        assert rep.rom_m == pytest.approx(ROM_M, rel=0.05)


# --- the track: identity, gate, bridging ------------------------------------------------------------


def _cands(*rows: tuple[float, float, float, float]) -> Candidates:
    arr = np.array(rows, np.float32).reshape(-1, 4)
    return Candidates(arr[:, :3].copy(), arr[:, 3].copy())


def test_track_keeps_identity_rejects_jumps_and_bridges_short_gaps() -> None:
    track = PlateTrack()
    dt = 0.04  # 25 fps: gaps of 0.28 s and 0.32 s, clear of the 0.3 s limit
    out: list[PlateObservation | None] = []
    for i in range(6):  # the plate moves down 3 px/frame; from frame 3 a stronger round clock shows up
        clock = [(500.0, 50.0, 100.0, 1.0)] if i >= 3 else []
        out.append(track.update(i * dt, _cands(*clock, (200, 100 + 3 * i, 100, 0.9))))
    assert out[0] is None and out[1] is None
    last = out[-1]
    assert last is not None and last.x == pytest.approx(200, abs=0.5) and last.y == pytest.approx(115, abs=0.5)
    jump = track.update(6 * dt, _cands((600, 400, 100, 1.0)))  # 45 m/s for a 0.45 m plate: a glitch
    assert jump is not None and jump.bridged and jump.y == pytest.approx(118, abs=1.0)
    small = track.update(7 * dt, _cands((200, 121, 40, 1.0)))  # right place, wrong size: the hub, not the plate
    assert small is not None and small.bridged
    assert [track.update((8 + k) * dt, _cands()) is not None for k in range(8)] == [True] * 5 + [False] * 3


# --- detector output adapters ---------------------------------------------------------------------


def test_boxes_from_ssd_threshold_labels_padding_and_frame_pixels() -> None:
    rows = [
        [0, 1, 0.9, 0.1, 0.2, 0.3, 0.4],
        [0, 2, 0.95, 0.5, 0.5, 0.6, 0.7],
        [0, 1, 0.3, 0.0, 0.0, 1.0, 1.0],  # under the threshold
        [-1, 0, 0, 0, 0, 0, 0],  # end marker: what follows is padding
        [0, 1, 0.99, 0.0, 0.0, 0.1, 0.1],
    ]
    out = np.array(rows, np.float32)[None, None]
    boxes = Boxes.from_ssd(out, (200, 100), 0.5)
    assert boxes.scores.tolist() == pytest.approx([0.95, 0.9])
    assert boxes.labels.tolist() == [2, 1]
    np.testing.assert_allclose(boxes.xyxy[1], [20, 20, 60, 40], atol=1e-4)
    only = Boxes.from_ssd(out, (200, 100), 0.5, labels=[1])
    assert only.labels.tolist() == [1] and len(only) == 1


def test_boxes_from_ssd_through_a_letterbox_map_back_to_the_frame() -> None:
    fit = InputMap.letterbox((200, 100), (100, 100))  # scale 0.5, 25 px bands top and bottom
    out = np.array([[0, 1, 0.9, 0.0, 0.25, 0.5, 0.75]], np.float32)[None, None]
    np.testing.assert_allclose(Boxes.from_ssd(out, (200, 100), 0.5, input_map=fit).xyxy[0], [0, 0, 100, 100])


def test_boxes_from_yolo_with_objectness_nms_per_class_and_labels() -> None:
    # cx, cy, w, h, objectness, class 0, class 1 (YOLOv5 rows), coordinates in input pixels
    rows = np.array([
        [50, 50, 20, 20, 0.9, 0.9, 0.1],  # class 0, score 0.81
        [52, 50, 20, 20, 0.8, 0.9, 0.1],  # overlaps the first, same class: suppressed
        [51, 50, 20, 20, 0.9, 0.1, 0.8],  # overlaps, other class: kept
        [150, 20, 10, 10, 0.9, 0.5, 0.1],  # 0.45: under the threshold
    ], np.float32)[None]
    boxes = Boxes.from_yolo(rows, (200, 100), 0.5, channels_first=False)
    assert boxes.labels.tolist() == [0, 1]
    assert boxes.scores.tolist() == pytest.approx([0.81, 0.72])
    np.testing.assert_allclose(boxes.xyxy[0], [40, 40, 60, 60])
    assert Boxes.from_yolo(rows, (200, 100), 0.5, channels_first=False, labels=[1]).labels.tolist() == [1]


def test_boxes_from_yolov8_channels_first_normalised_through_a_letterbox() -> None:
    fit = InputMap.letterbox((200, 100), (64, 64))  # scale 0.32, 16 px bands
    n = 100  # YOLOv8: [1, 4 + C, N], no objectness, N > 4 + C
    out = np.zeros((1, 6, n), np.float32)
    out[0, :, 0] = [0.5, 0.5, 0.25, 0.25, 0.1, 0.7]  # fractions of the input
    boxes = Boxes.from_yolo(out, (200, 100), 0.5, input_map=fit)
    assert boxes.labels.tolist() == [1] and boxes.scores.tolist() == pytest.approx([0.7])
    np.testing.assert_allclose(boxes.xyxy[0], [75, 25, 125, 75], atol=1e-3)


# --- a real OpenVINO detector ----------------------------------------------------------------------


def _ssd_ir(folder: Path, size: int = 64) -> Path:
    """A [1,3,size,size] → [1,1,2,7] model whose confidence is the mean of input channel 0.

    Fed a pure red frame with scale 255, that is 1.0 only when the channels reach it as RGB, so the
    test proves the resize, the channel order, the scaling and the SSD decoding end to end.
    """
    image = ops.parameter([1, 3, size, size], ov.Type.f32, name="image")
    first = ops.gather(image, ops.constant(np.array([0], np.int64)), ops.constant(np.int64(1)))
    conf = ops.reshape(ops.reduce_mean(first, ops.constant(np.array([1, 2, 3], np.int64)), keep_dims=False),
                       ops.constant(np.array([1, 1, 1, 1], np.int64)), special_zero=False)
    head = ops.constant(np.array([0, 1], np.float32).reshape(1, 1, 1, 2))
    box = ops.constant(np.array([0.25, 0.25, 0.75, 0.75], np.float32).reshape(1, 1, 1, 4))
    row = ops.concat([head, conf, box], axis=3)
    end = ops.constant(np.array([-1, 0, 0, 0, 0, 0, 0], np.float32).reshape(1, 1, 1, 7))
    model = ov.Model([ops.concat([row, end], axis=2)], [image], "tiny_ssd")
    path = folder / "tiny_ssd.xml"
    ov.save_model(model, str(path), compress_to_fp16=False)
    return path


def _red_frame() -> np.ndarray:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :, 2] = 255  # BGR: red
    return image


def test_object_detector_round_trip_on_a_real_ir_model(tmp_path: Path) -> None:
    path = _ssd_ir(tmp_path)
    detector = ObjectDetector(path, labels=[1], score_threshold=0.5, scale=255.0, rgb=True)
    assert detector.output_kind == "ssd" and detector.input_size == (64, 64) and detector.layout == "NCHW"
    boxes = detector.detect(_red_frame())
    assert boxes.scores.tolist() == pytest.approx([1.0])
    np.testing.assert_allclose(boxes.xyxy[0], [50, 25, 150, 75], atol=1e-3)  # stretched back to 200x100
    bgr = ObjectDetector(path, score_threshold=0.5, scale=255.0, rgb=False)
    assert len(bgr.detect(_red_frame())) == 0  # channel 0 is blue then
    tracker = BarbellTracker.from_detector(detector)
    samples = [tracker.update(Frame(_red_frame(), i / 30, 0.0, i)) for i in range(4)]
    assert samples[-1] == BarSample(3 / 30, 100.0, 50.0, 100.0, 1.0)


def test_object_detector_rejects_a_mismatched_input_size(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="64x64"):
        ObjectDetector(_ssd_ir(tmp_path), input_size=(300, 300))


@pytest.mark.parametrize("kind", ["missing", "corrupt", "no_bin", "not_a_detector"])
def test_object_detector_bad_model_raises_model_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "barbell.xml"
    if kind == "corrupt":
        path.write_text("<net><layers>truncated", encoding="utf-8")
        path.with_suffix(".bin").write_bytes(b"\0" * 16)
    elif kind == "no_bin":
        _ssd_ir(tmp_path).rename(path)
    elif kind == "not_a_detector":
        x = ops.parameter([1, 3, 8, 8], ov.Type.f32)
        ov.save_model(ov.Model([ops.relu(x)], [x]), str(path))
    with pytest.raises(ModelError, match=r"barbell\.xml"):
        ObjectDetector(path)


def test_barbell_station_from_yaml_through_the_agent(clip: Clip, tmp_path: Path) -> None:
    """`tracker: {type: barbell}` in a config file: the agent counts the rendered squats with velocities."""
    from replens.config import load_config
    from replens.device_agent.app import Agent

    config_path = tmp_path / "replens.yaml"
    config_path.write_text(
        "version: 1\nagents:\n  rack:\n    source: {url: '" + str(clip.path) + "', realtime: false}\n"
        "    stations:\n      squat_rack:\n        exercise: squat\n        tracker: {type: barbell}\n"
    )
    config = load_config(config_path, env={})
    summary = Agent("rack", config.agents["rack"], None, None).run()
    (only,) = summary.sets
    assert len(only.reps) == 5
    assert all(r.mean_velocity_m_s == pytest.approx(analytic_mean_concentric_m_s(), rel=0.10) for r in only.reps)


def test_detector_model_path_is_relative_to_the_config_file_and_checked(tmp_path: Path) -> None:
    from replens.config import load_config
    from replens.device_agent.trackers.registry import make_pipeline
    from replens.errors import ModelError

    config_path = tmp_path / "replens.yaml"
    config_path.write_text(
        "version: 1\nagents:\n  rack:\n    source: {url: clip.mp4}\n    stations:\n      bench:\n"
        "        exercise: bench_press\n        tracker:\n          type: barbell\n"
        "          detector: {model: models/barbell.xml, output: ssd, labels: [1]}\n"
    )
    station = load_config(config_path, env={}).agents["rack"].stations["bench"]
    model = station.tracker.detector.model  # type: ignore[union-attr]
    assert model == tmp_path / "models" / "barbell.xml"
    with pytest.raises(ModelError, match=r"barbell\.xml"):
        make_pipeline(station)
