"""Station zones: config validation, polygon geometry, crop ↔ frame mapping, and stations sharing a camera."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pytest

from replens.config import MqttConfig, load_config
from replens.config.agent import StationConfig
from replens.device_agent.annotate import ZONE, Annotator
from replens.device_agent.app import Agent
from replens.device_agent.counting.counter import CounterSettings, RepCounter
from replens.device_agent.signal import SignalSample
from replens.device_agent.sources.frame import Frame
from replens.device_agent.sources.opencv_source import open_source
from replens.device_agent.station import Station
from replens.device_agent.trackers.pose.roi import Roi
from replens.device_agent.trackers.pose.tracker import PoseResult
from replens.device_agent.trackers.registry import PosePipeline, SignalPipeline, make_pipeline
from replens.device_agent.zones import PixelBox, Zone, body_centre, pose_in_zone, pose_to_frame
from replens.errors import ConfigError

SAMPLES = Path(__file__).resolve().parents[2] / "device_agent" / "samples"
CLIP = SAMPLES / "stack_demo.mp4"
TRUTH: dict[str, Any] = json.loads((SAMPLES / "stack_demo.json").read_text(encoding="utf-8"))
SIZE = (640, 360)  # the clip's (width, height)
# A pentagon-ish hexagon around the weight stack (not a rectangle, so the stack tracker masks it) ...
STACK_ZONE = [(0.30, 0.02), (0.70, 0.02), (0.78, 0.35), (0.78, 0.97), (0.22, 0.97), (0.22, 0.35)]
# ... and a stretch of bare wall on the right that the walker crosses mid-clip.
WALL_ZONE = [(0.80, 0.04), (0.98, 0.04), (0.98, 0.60), (0.80, 0.60)]
SQUARE = Zone(((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)))

CONFIG = """\
version: 1
agents:
  cam:
    source:
      url: {clip}
      realtime: false
    stations:
      rack_1:
        exercise: lat_pulldown
        counter:
          set_end_rest_s: 5
        zone: {zone}
"""


def write(tmp_path: Path, zone: str, extra: str = "") -> Path:
    path = tmp_path / "replens.yaml"
    path.write_text(CONFIG.format(clip=CLIP, zone=zone) + extra, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    return str(err.value)


def pose_at(points: dict[int, tuple[float, float, float]]) -> PoseResult:
    """A fake BlazePose result: every landmark hidden at (0, 0) except ``{index: (x_px, y_px, visibility)}``."""
    landmarks = np.zeros((33, 4), dtype=np.float32)
    for index, (x, y, visibility) in points.items():
        landmarks[index] = (x, y, 0.0, visibility)
    return PoseResult(landmarks, 0.9, Roi(50.0, 60.0, 100.0, 0.1), 1.0)


HIPS_AT_200_150 = {23: (190.0, 150.0, 0.9), 24: (210.0, 150.0, 0.9), 11: (190.0, 60.0, 0.9), 12: (210.0, 60.0, 0.9)}


# --- config -------------------------------------------------------------------------------------


def test_zone_loads_as_fractions_and_becomes_the_stack_roi(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[[0.1, 0.2], [0.6, 0.2], [0.5, 0.9]]"), env={})
    station = config.agents["cam"].stations["rack_1"]
    assert station.zone == [(0.1, 0.2), (0.6, 0.2), (0.5, 0.9)]
    pipeline = make_pipeline(station)
    assert isinstance(pipeline, SignalPipeline) and pipeline.zone == Zone.of(station.zone)
    assert pipeline.tracker.roi == pytest.approx((0.1, 0.2, 0.5, 0.7))  # type: ignore[attr-defined]


def test_an_explicit_roi_wins_over_the_zone_box(tmp_path: Path) -> None:
    path = write(tmp_path, "[[0.1, 0.2], [0.6, 0.2], [0.5, 0.9]]",
                 "        tracker:\n          type: stack\n          roi: [0.2, 0.3, 0.1, 0.1]\n")
    pipeline = make_pipeline(load_config(path, env={}).agents["cam"].stations["rack_1"])
    assert pipeline.tracker.roi == (0.2, 0.3, 0.1, 0.1)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("[[0.1, 0.1], [0.9, 0.1]]", "a zone needs at least 3 points, got 2"),
        ("[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]",
         "the zone's edges (0.1, 0.1)-(0.9, 0.9) and (0.9, 0.1)-(0.1, 0.9) cross or touch; list the points in order"),
        ("[[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]", "the zone's edges fold back on each other at (0.1, 0.1)"),
        ("[[0.1, 0.1], [0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]", "the zone repeats the point (0.1, 0.1) right after"),
        ("[[0.1, 0.1], [0.1005, 0.1], [0.1, 0.1005]]", "the zone encloses (almost) no area"),
    ],
)
def test_bad_polygons_name_file_line_and_key_path(tmp_path: Path, zone: str, message: str) -> None:
    path = write(tmp_path, zone)
    error = config_error(path)
    assert error.startswith(f"{path}:12: agents -> cam -> stations -> rack_1 -> zone: {message}")


def test_a_point_outside_the_frame_names_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, "\n          - [0.1, 0.1]\n          - [1.2, 0.1]\n          - [0.5, 0.9]")
    error = config_error(path)
    assert error == (f"{path}:14: agents -> cam -> stations -> rack_1 -> zone -> 1 -> 0: "
                     "Input should be less than or equal to 1 (got: 1.2)")


def test_zone_objects_check_themselves_like_the_config() -> None:
    with pytest.raises(ValueError, match="cross or touch"):
        Zone(((0.1, 0.1), (0.9, 0.9), (0.9, 0.1), (0.1, 0.9)))
    with pytest.raises(ValueError, match="fractions of the frame"):
        Zone(((0.1, 0.1), (1.5, 0.1), (0.5, 0.9)))
    assert Zone.of(None) is None


# --- geometry -----------------------------------------------------------------------------------


def test_contains_is_vectorised_over_points() -> None:
    triangle = Zone(((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)))  # lower-left half of a 100 x 100 frame, y down
    xs = np.array([[10.0, 60.0], [49.0, 90.0]])
    ys = np.array([[10.0, 60.0], [49.0, 5.0]])
    assert triangle.contains(xs, ys, (100, 100)).tolist() == [[True, False], [True, True]]
    assert bool(SQUARE.contains(320.0, 180.0, SIZE)) and not bool(SQUARE.contains(100.0, 180.0, SIZE))


def test_bounding_box_in_pixels_with_margin_clipped_to_the_frame() -> None:
    assert SQUARE.bounding_box(SIZE) == PixelBox(160, 90, 480, 270)
    assert SQUARE.bounding_box(SIZE, margin=0.25) == PixelBox(80, 45, 560, 315)  # a quarter of 320 x 180 each side
    assert SQUARE.bounding_box(SIZE, margin=1.0) == PixelBox(0, 0, 640, 360)
    assert SQUARE.bounds() == (0.25, 0.25, 0.5, 0.5)


def test_mask_matches_contains_at_pixel_centres_and_is_cached() -> None:
    zone = Zone(tuple(STACK_ZONE))
    mask = zone.mask(SIZE)
    assert mask.shape == (360, 640) and mask.dtype == np.bool_ and not mask.flags.writeable
    assert zone.mask(SIZE) is mask
    rows, cols = np.mgrid[0:360:7, 0:640:7]
    assert np.array_equal(mask[rows, cols], zone.contains(cols + 0.5, rows + 0.5, SIZE))
    assert abs(mask.mean() - 0.5072) < 0.005  # the hexagon's area as a share of the frame


# --- poses --------------------------------------------------------------------------------------


def test_landmarks_found_in_a_crop_move_into_frame_pixels() -> None:
    pose = pose_at(HIPS_AT_200_150)
    moved = pose_to_frame(pose, PixelBox(80, 45, 560, 315))
    assert moved.landmarks[23, :2].tolist() == [270.0, 195.0]
    assert np.array_equal(moved.landmarks[:, 2:], pose.landmarks[:, 2:])  # depth and visibility unchanged
    assert (moved.roi.center_x, moved.roi.center_y, moved.roi.size, moved.roi.rotation) == (130.0, 105.0, 100.0, 0.1)
    assert pose.landmarks[23, 0] == 190.0  # the crop's result is left alone


def test_body_centre_is_mid_hips_else_mid_shoulders() -> None:
    assert body_centre(pose_at(HIPS_AT_200_150).landmarks) == (200.0, 150.0)
    hidden_hips = {**HIPS_AT_200_150, 24: (210.0, 150.0, 0.1)}
    assert body_centre(pose_at(hidden_hips).landmarks) == (200.0, 60.0)
    all_hidden = {i: (x, y, 0.1) for i, (x, y, _) in HIPS_AT_200_150.items()}
    assert body_centre(pose_at(all_hidden).landmarks) == (200.0, 150.0)


def test_a_pose_whose_centre_is_outside_the_zone_is_no_detection() -> None:
    pose = pose_at(HIPS_AT_200_150)  # hips at (200, 150): inside SQUARE on a 640 x 360 frame
    assert pose_in_zone(pose, SQUARE, SIZE) is pose
    assert pose_in_zone(pose, SQUARE, (1000, 1000)) is None  # on a bigger frame SQUARE starts at x = 250
    elsewhere = Zone(((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)))
    assert pose_in_zone(pose, elsewhere, SIZE) is None
    assert pose_in_zone(None, SQUARE, SIZE) is None


class FakePoseTracker:
    """Returns a fixed crop-pixel pose and records what it was shown."""

    def __init__(self, pose: PoseResult | None) -> None:
        self.pose = pose
        self.shapes: list[tuple[int, ...]] = []
        self.resets = 0

    def update(self, frame: Frame) -> PoseResult | None:
        self.shapes.append(frame.image.shape)
        return self.pose

    def reset(self) -> None:
        self.resets += 1


def pose_pipeline(zone: Zone, tracker: FakePoseTracker) -> PosePipeline:
    station = StationConfig.model_validate({"exercise": "squat", "tracker": {"type": "pose"}})
    pose_config = station.tracker
    assert pose_config.type == "pose"
    return PosePipeline(pose_config, station, zone, tracker=tracker)


def test_pose_pipeline_shows_the_tracker_only_its_crop_and_reports_frame_pixels() -> None:
    tracker = FakePoseTracker(pose_at(HIPS_AT_200_150))
    pipeline = pose_pipeline(SQUARE, tracker)
    pipeline.update(Frame(np.zeros((360, 640, 3), dtype=np.uint8), 0.0, 0.0, 0))
    assert tracker.shapes == [(270, 480, 3)]  # 320 x 180 zone box plus a quarter on each side
    assert pipeline.last_pose is not None and body_centre(pipeline.last_pose.landmarks) == (280.0, 195.0)
    assert tracker.resets == 0


def test_two_pose_stations_in_one_view_each_track_their_own_crop() -> None:
    left, right = Zone(((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))), Zone(((0.5, 0.0), (1.0, 0.0), (0.5, 1.0)))
    trackers = FakePoseTracker(pose_at(HIPS_AT_200_150)), FakePoseTracker(pose_at(HIPS_AT_200_150))
    pipelines = pose_pipeline(left, trackers[0]), pose_pipeline(right, trackers[1])
    frame = Frame(np.zeros((360, 640, 3), dtype=np.uint8), 0.0, 0.0, 0)
    for pipeline in pipelines:
        pipeline.update(frame)
    assert [t.shapes for t in trackers] == [[(360, 400, 3)], [(360, 400, 3)]]  # boxes x 0..400 and 240..640
    centres = [None if p.last_pose is None else body_centre(p.last_pose.landmarks) for p in pipelines]
    assert centres == [(200.0, 150.0), (440.0, 150.0)]  # (440, 150) is inside the right triangle


def test_pose_pipeline_drops_and_forgets_a_person_outside_its_zone() -> None:
    tracker = FakePoseTracker(pose_at({23: (10.0, 10.0, 0.9), 24: (20.0, 10.0, 0.9)}))  # top-left of the crop
    pipeline = pose_pipeline(SQUARE, tracker)
    assert pipeline.update(Frame(np.zeros((360, 640, 3), dtype=np.uint8), 0.0, 0.0, 0)) == []
    assert pipeline.last_pose is None and tracker.resets == 1  # next frame detects afresh


class RecordingTracker:
    """A stack tracker double that keeps the frames it was given."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def update(self, frame: Frame) -> SignalSample | None:
        self.frames.append(frame)
        return None

    def reset(self) -> None:
        self.frames.clear()


@pytest.mark.parametrize(
    ("zone", "roi_is_zone_box", "blanked"),
    [(Zone(((0.1, 0.1), (0.9, 0.1), (0.5, 0.9))), True, True),  # a triangle: its box has corners outside
     (SQUARE, True, False),  # the tracker sees only the square anyway: the frame goes through untouched
     (SQUARE, False, True)],  # an explicit roi may reach past the square
)
def test_stack_tracker_sees_black_outside_its_zone(zone: Zone, roi_is_zone_box: bool, blanked: bool) -> None:
    tracker = RecordingTracker()
    pipeline = SignalPipeline(tracker, RepCounter(CounterSettings(min_range=20.0)), zone,
                              roi_is_zone_box=roi_is_zone_box)
    frame = Frame(np.full((360, 640, 3), 200, dtype=np.uint8), 0.0, 0.0, 0)
    pipeline.update(frame)
    seen = tracker.frames[0].image
    assert (seen is frame.image) != blanked
    assert np.array_equal(seen[..., 0] > 0, zone.mask(SIZE) | (not blanked))
    assert (seen[zone.mask(SIZE)] == 200).all()


# --- stations sharing one camera, on the bundled clip ----------------------------------------------


def test_two_stack_stations_in_one_view_count_only_inside_their_zones(tmp_path: Path) -> None:
    extra = f"""\
      wall:
        exercise: lat_pulldown
        counter:
          set_end_rest_s: 5
        zone: {json.dumps(WALL_ZONE)}
"""
    config = load_config(write(tmp_path, json.dumps(STACK_ZONE), extra), env={})
    agent = Agent("cam", config.agents["cam"], MqttConfig(host="127.0.0.1", port=1), tmp_path / "data")
    summary = agent.run(drain_timeout_s=0.1)
    reps = {sid: [len(s.reps) for s in summary.sets if s.station == sid] for sid in ("rack_1", "wall")}
    assert reps == {"rack_1": [6, 4], "wall": []}


class KeepingAnnotator(Annotator):
    """Keeps the drawn images instead of encoding them (a lossy codec would blur the colours)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.images: list[npt.NDArray[np.uint8]] = []

    def _write(self, image: npt.NDArray[np.uint8]) -> None:
        self.images.append(image)


def test_annotator_draws_the_zone_polygon(tmp_path: Path) -> None:
    station = Station("cam", "rack_1", StationConfig(exercise="lat_pulldown", zone=STACK_ZONE))
    annotator = KeepingAnnotator(tmp_path / "unused.mp4")
    frame = Frame(np.zeros((360, 640, 3), dtype=np.uint8), 0.0, 0.0, 0)
    annotator.on_frame(frame, cast(Agent, type("FakeAgent", (), {"stations": [station]})))
    assert tuple(annotator.images[0][349, 400]) == ZONE  # the bottom edge, y = 0.97 * 360, below the panel


def test_pose_station_with_a_zone_on_real_inference(tmp_path: Path) -> None:
    """BlazePose on the stack clip: the stick-figure walker counts only while their hips are in the zone.

    Every pose the zoned station reports is in full-frame pixels, within a few pixels of what a
    tracker on the whole frame finds; no reps come from someone walking through.
    """
    zone_points = [(0.2344, 0.0556), (0.7656, 0.0556), (0.7656, 0.958), (0.2344, 0.958)]
    zoned = Station("cam", "rack_1", StationConfig(exercise="squat", tracker={"type": "pose"}, zone=zone_points))
    whole = make_pipeline(StationConfig(exercise="squat", tracker={"type": "pose"}))
    assert isinstance(zoned.pipeline, PosePipeline) and isinstance(whole, PosePipeline)
    zone = Zone.of(zone_points)
    assert zone is not None
    inside, agree, last_t = 0, [], 0.0
    with open_source(str(CLIP), realtime=False) as source:
        for frame in source:
            if frame.index % 3 and not 315 <= frame.index <= 370:  # every frame while the walker passes
                continue
            zoned.process(frame)
            last_t = frame.t_s
            pose = zoned.pipeline.last_pose
            if not 315 <= frame.index <= 370:
                continue
            whole.update(frame)
            if pose is not None:
                inside += 1
                assert bool(zone.contains(*body_centre(pose.landmarks), SIZE))
            if pose is not None and whole.last_pose is not None and not whole.last_pose.bridged:
                agree.append(np.subtract(body_centre(pose.landmarks), body_centre(whole.last_pose.landmarks)))
    zoned.finish(last_t + 60.0)
    assert zoned.total_reps == 0
    assert inside >= 20  # the walker crosses the zone from x = 490 px to x = 150 px
    offsets = np.hypot(*np.array(agree).T)  # px between the two trackers' body centres
    assert len(agree) >= 20 and float(offsets.max()) < 20.0 and float(np.median(offsets)) < 5.0
