"""BlazePose on OpenVINO: shipped models, integrity errors, decoding, region geometry, filters, real inference."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from replens.device_agent.inference.openvino_model import (
    MODELS_DIR,
    CompiledModel,
    InferenceSettings,
    load_manifest,
    sha256_of,
)
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.pose.detector import decode, letterbox, ssd_anchors, weighted_nms
from replens.device_agent.trackers.pose.filters import GateSettings, JumpGate, OneEuroFilter, body_smoother
from replens.device_agent.trackers.pose.landmarks import refine_from_heatmap
from replens.device_agent.trackers.pose.roi import Roi, normalize_radians, roi_from_points, square_letterbox
from replens.device_agent.trackers.pose.tracker import PoseResult, PoseTracker
from replens.errors import ConfigError, ModelError

SAMPLE_CLIP = Path(__file__).resolve().parents[2] / "device_agent" / "samples" / "stack_demo.mp4"


@pytest.fixture(scope="module")
def tracker() -> PoseTracker:
    return PoseTracker()


def copy_models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(MODELS_DIR, folder)
    return folder


# --- shipped files and integrity -------------------------------------------------------------


def test_shipped_models_match_manifest_and_have_provenance() -> None:
    manifest = load_manifest()
    assert set(manifest) == {"pose_detection", "pose_landmark_full", "face_detection_short_range"}
    for spec in manifest.values():
        assert sha256_of(MODELS_DIR / spec.file) == spec.sha256
    provenance = (MODELS_DIR / "MODELS.md").read_text(encoding="utf-8")
    assert all(spec.sha256 in provenance for spec in manifest.values())
    assert "Apache License" in (MODELS_DIR / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["pose_detection", "pose_landmark_full"])
def test_shipped_models_compile_at_f32_with_one_thread(name: str) -> None:
    model = CompiledModel(name)
    assert model.precision == "f32"  # read back from the compiled model, not from our settings
    assert model.threads == 1
    assert all(np.isfinite(out).all() for out in model(np.zeros(model.spec.input_shape, dtype=np.float32)))


def test_a_model_compiled_with_some_outputs_gives_those_outputs_unchanged() -> None:
    """The landmark model is compiled without its segmentation mask and world landmarks (a third of its
    inference time); what it does give must be exactly what the whole model gives."""
    whole = CompiledModel("pose_landmark_full")
    kept = CompiledModel("pose_landmark_full", outputs=(0, 1, 3))
    batch = np.random.default_rng(3).random(whole.spec.input_shape, dtype=np.float32)
    full, part = whole(batch), kept(batch)
    assert len(part) == 3
    for k, i in enumerate((0, 1, 3)):
        np.testing.assert_array_equal(part[k], full[i])


def test_f32_is_what_the_compiled_model_reports() -> None:
    """Regression: without an explicit hint the CPU plugin picks bf16 where it can (landmarks move ~19 px)."""
    assert CompiledModel("pose_detection", InferenceSettings(precision="f32")).precision == "f32"


@pytest.mark.parametrize("asked", ["f16", "bf16"])
def test_a_precision_the_cpu_lacks_is_reported_with_a_warning(asked: str, caplog: pytest.LogCaptureFixture) -> None:
    """The plugin picks its own precision where the CPU lacks the one asked for (f16 ran as bf16 on an AMD EPYC
    with avx512_bf16, as f32 on an Intel Xeon without it): what runs is reported, and a change is never silent."""
    with caplog.at_level(logging.WARNING):
        model = CompiledModel("pose_detection", InferenceSettings(precision=asked))
    assert model.precision in {"f32", "f16", "bf16"}
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if model.precision == asked:
        assert warned == []
    else:
        assert any(f"asked for {asked}" in m and f"runs {model.precision}" in m for m in warned), warned


def test_corrupt_model_file_is_a_model_error_naming_it(tmp_path: Path) -> None:
    folder = copy_models(tmp_path)
    target = folder / "pose_landmark_full.tflite"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"pose_landmark_full\.tflite.*sha256"):
        CompiledModel("pose_landmark_full", models_dir=folder)


def test_missing_model_file_is_a_model_error_naming_it(tmp_path: Path) -> None:
    folder = copy_models(tmp_path)
    (folder / "pose_detection.tflite").unlink()
    with pytest.raises(ModelError, match=r"pose_detection\.tflite: model file missing"):
        CompiledModel("pose_detection", models_dir=folder)


def test_wrong_input_shape_is_a_model_error(tmp_path: Path) -> None:
    folder = copy_models(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["models"][0]["input_shape"] = [1, 128, 128, 3]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelError, match=r"pose_detection\.tflite: input shape \(1, 224, 224, 3\)"):
        CompiledModel("pose_detection", models_dir=folder)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"device": "TPU"}, "device"), ({"precision": "int8"}, "precision"), ({"threads": 0}, "threads")],
)
def test_bad_inference_settings_are_config_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        InferenceSettings(**settings)  # type: ignore[arg-type]


# --- detector decoding --------------------------------------------------------------------------


def test_anchors_match_the_model_output_count() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2)
    assert np.allclose(anchors[0], [0.5 / 28, 0.5 / 28]) and np.allclose(anchors[1], anchors[0])  # 2 per cell
    assert np.allclose(anchors[-1], [6.5 / 7, 6.5 / 7])  # last of the 6 anchors of the 3 stride-32 layers


def test_decoding_and_weighted_nms_merge_overlapping_boxes() -> None:
    anchors = np.full((3, 2), 0.5, dtype=np.float32)
    raw = np.zeros((3, 12), dtype=np.float32)
    raw[:, 2:4] = 56  # 0.25 of the input wide and high
    raw[1, 0] = 4.48  # shifted by 0.02
    raw[2, 0:2] = -89.6  # far away: -0.4
    boxes, keypoints, scores = decode(raw, np.array([3.0, 1.0, 2.0], dtype=np.float32), anchors)
    assert np.allclose(boxes[0], [0.375, 0.375, 0.625, 0.625]) and np.allclose(keypoints[0], 0.5)
    merged = weighted_nms(boxes, keypoints, scores)
    assert len(merged) == 2
    score, box, _ = merged[0]
    assert score == pytest.approx(scores[0])
    expected_shift = 0.02 * scores[1] / (scores[0] + scores[1])
    assert box[0] == pytest.approx(0.375 + expected_shift, abs=1e-6)


def test_letterbox_pads_the_short_side_with_black() -> None:
    image = np.full((100, 200, 3), 255, dtype=np.uint8)
    tensor = letterbox(image)
    assert tensor.shape == (1, 224, 224, 3)
    assert tensor[0, 10, 112].tolist() == [-1.0, -1.0, -1.0]  # padding above the frame
    assert np.allclose(tensor[0, 112, 112], 1.0)


# --- region geometry ----------------------------------------------------------------------------


def test_upright_body_gives_an_unrotated_square_of_2_5_times_the_hip_to_aux_distance() -> None:
    roi = roi_from_points(np.array([100.0, 200.0], dtype=np.float32), np.array([100.0, 120.0], dtype=np.float32))
    assert roi is not None
    assert (roi.center_x, roi.center_y) == (100.0, 200.0)
    assert roi.size == pytest.approx(2 * 80 * 1.25)
    assert roi.rotation == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("end", "rotation"), [((180, 200), math.pi / 2), ((20, 200), -math.pi / 2), ((100, 280), -math.pi)]
)
def test_rotation_turns_the_hip_to_aux_vector_upright(end: tuple[float, float], rotation: float) -> None:
    center = np.array([100.0, 200.0], dtype=np.float32)
    roi = roi_from_points(center, np.array(end, dtype=np.float32))
    assert roi is not None
    assert roi.rotation == pytest.approx(rotation)
    crop = roi.crop_matrix(256) @ np.array([*end, 1.0])
    assert crop[0] == pytest.approx(128) and crop[1] < 128  # the aux point lies straight above the centre


def test_crop_and_projection_are_inverse() -> None:
    roi = Roi(300.0, 150.0, 180.0, 0.7)
    unit = np.array([[0.1, 0.2], [0.5, 0.5], [0.9, 0.35]], dtype=np.float32)
    pixels = roi.to_image(unit)
    back = (roi.crop_matrix(256) @ np.c_[pixels, np.ones(3)].T).T / 256
    assert np.allclose(back, unit, atol=1e-5)
    assert np.allclose(roi.to_image(np.array([[0.5, 0.5]], dtype=np.float32)), [[300, 150]])
    assert normalize_radians(3 * math.pi) == pytest.approx(-math.pi)
    assert square_letterbox(568, 320) == Roi(284.0, 160.0, 568.0, 0.0)


def test_heatmap_refinement_moves_a_point_to_the_confident_peak() -> None:
    heatmap = np.full((64, 64, 2), -20.0, dtype=np.float32)
    heatmap[30, 40, 0] = 20.0  # sharp peak, within the 7×7 window of point 0 only
    xy = np.array([[41.5 / 64, 31.5 / 64], [10 / 64, 10 / 64]], dtype=np.float32)
    refined = refine_from_heatmap(xy, heatmap)
    assert np.allclose(refined[0], [40 / 64, 30 / 64], atol=1e-4)
    assert np.allclose(refined[1], xy[1])  # no confident cell: keeps the regressed position


# --- temporal filters ---------------------------------------------------------------------------


def test_one_euro_passes_the_first_value_and_holds_a_still_one() -> None:
    filt = OneEuroFilter(min_cutoff=0.05, beta=80.0)
    still = np.array([10.0, 20.0], dtype=np.float32)
    assert np.array_equal(filt.apply(0.0, still), still)
    for i in range(1, 10):
        assert np.allclose(filt.apply(i / 30, still, 0.01), still)
    moved = filt.apply(10 / 30, still + 5, 0.01)
    assert np.all((moved > still) & (moved < still + 5))  # follows, but smoothed


def test_smoother_low_passes_visibility() -> None:
    smoother = body_smoother()
    points = np.zeros((33, 4), dtype=np.float32)
    points[:, 3] = 1.0
    smoother.apply(0.0, points, 100.0)
    points[:, 3] = 0.0
    assert np.allclose(smoother.apply(1 / 30, points, 100.0)[:, 3], 0.9)


def test_gate_rejects_a_jump_then_accepts_it_once_it_persists() -> None:
    gate = JumpGate(GateSettings(max_speed=4.0, confirm_frames=2))
    here = np.zeros((33, 2), dtype=np.float32)
    there = here + 500  # 5 body sizes in one frame
    assert gate.accept(0.0, here, 100.0)
    assert gate.accept(1 / 30, here + 1, 100.0)
    assert not gate.accept(2 / 30, there, 100.0)
    assert not gate.accept(3 / 30, there, 100.0)
    assert gate.accept(4 / 30, there, 100.0)
    assert not gate.accept(5 / 30, there, 300.0)  # size tripled


# --- real inference -----------------------------------------------------------------------------


def test_no_person_gives_none_and_keeps_detecting(tracker: PoseTracker) -> None:
    tracker.reset()
    runs = tracker.detector_runs
    blank = np.full((240, 320, 3), 90, dtype=np.uint8)
    for i in range(3):
        assert tracker.update(Frame(blank, i / 15, 0.0, i)) is None
    assert tracker.detector_runs == runs + 3


def test_sample_clip_frame_without_a_person_gives_none(tracker: PoseTracker) -> None:
    """The bundled weight-stack clip opens on the machine alone: nobody to track, and no crash."""
    tracker.reset()
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    try:
        ok, image = capture.read()
    finally:
        capture.release()
    assert ok
    assert tracker.update(Frame(np.asarray(image, dtype=np.uint8), 0.0, 0.0, 0)) is None


def test_landmark_model_projects_into_its_region(tracker: PoseTracker) -> None:
    image = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    roi = Roi(200.0, 150.0, 120.0, 0.3)
    raw = tracker.landmark_model.run(image, roi)
    assert raw.points.shape == (39, 5) and np.isfinite(raw.points).all()
    assert 0.0 <= raw.pose_flag <= 1.0
    assert ((raw.points[:, 3:] >= 0) & (raw.points[:, 3:] <= 1)).all()


def test_pose_result_checks_its_shape() -> None:
    with pytest.raises(ValueError, match=r"\(33, 4\) float32"):
        PoseResult(np.zeros((33, 3), dtype=np.float32), 1.0, Roi(1.0, 1.0, 1.0), 0.0)


def test_unavailable_device_is_a_config_error() -> None:
    import openvino as ov

    if any(d.startswith("NPU") for d in ov.Core().available_devices):
        pytest.skip("this machine has an NPU")
    with pytest.raises(ConfigError, match="NPU"):
        CompiledModel("pose_detection", InferenceSettings(device="NPU"))
