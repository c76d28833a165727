"""MediaPipe 0.10.14's own Pose runtime on video clips, for ``bench/pose_tracker.py``'s peer comparison.

Runs in a separate benchmark environment that has ``mediapipe==0.10.14`` (never a RepLens
dependency); imports only mediapipe, OpenCV, numpy and the standard library, nothing of RepLens.
Per clip it decodes every frame with ``cv2.VideoCapture`` (as RepLens does), then runs
``mp.solutions.pose.Pose(model_complexity=1, static_image_mode=False, smooth_landmarks=True)`` on
them in order, timing each frame from the BGR frame in to the landmarks out (the BGR→RGB conversion
included, as RepLens' tracker includes its own). MediaPipe's CPU graph runs its TFLite inference on
one thread by default on Linux; nothing is changed here.

Writes into OUT_DIR, per clip: ``<stem>.npy`` (T, 33, 4) float32 x_px, y_px, z_px, visibility (NaN
where MediaPipe found nobody) and ``<stem>.json`` with the per-frame seconds, the frame count and
size, a SHA-1 over the decoded frames (to check both sides saw the same pixels) and the versions.

Usage: python bench/_mediapipe_worker.py OUT_DIR CLIP.mp4 [CLIP.mp4 ...]
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import cv2
import mediapipe as mp  # type: ignore[import-not-found, unused-ignore]
import numpy as np


def decode(path: Path) -> tuple[list[np.ndarray], str]:
    capture = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    digest = hashlib.sha1()  # a checksum, not security
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image)
            digest.update(np.ascontiguousarray(image).tobytes())
    finally:
        capture.release()
    return frames, digest.hexdigest()


def run_clip(path: Path, out: Path) -> None:
    frames, sha1 = decode(path)
    series = np.full((len(frames), 33, 4), np.nan, dtype=np.float32)
    seconds = []
    with mp.solutions.pose.Pose(model_complexity=1, static_image_mode=False, smooth_landmarks=True) as pose:
        for i, image in enumerate(frames):
            h, w = image.shape[:2]
            start = time.perf_counter()
            found = pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).pose_landmarks
            seconds.append(time.perf_counter() - start)
            if found:
                series[i] = [[p.x * w, p.y * h, p.z * w, p.visibility] for p in found.landmark]
    np.save(out / f"{path.stem}.npy", series)
    h, w = frames[0].shape[:2] if frames else (0, 0)
    meta = {
        "clip": path.name, "frames": len(frames), "width": w, "height": h, "sha1": sha1, "seconds": seconds,
        "mediapipe": mp.__version__, "opencv": cv2.__version__, "numpy": np.__version__,
    }
    (out / f"{path.stem}.json").write_text(json.dumps(meta), encoding="utf-8")
    found_share = float(np.isfinite(series[:, 0, 0]).mean()) if len(frames) else 0.0
    median_ms = 1e3 * float(np.median(seconds)) if seconds else float("nan")
    print(f"mediapipe {path.name}: pose in {found_share:.1%}, {median_ms:.1f} ms/frame", file=sys.stderr)


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for clip in sys.argv[2:]:
        run_clip(Path(clip), out)


if __name__ == "__main__":
    main()
