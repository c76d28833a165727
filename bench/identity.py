"""Face identity: accuracy on the test photos, detection and embedding time, and an entrance pipeline's fps.

Ours: BlazeFace short-range on OpenVINO (1 inference thread, f32) → dlib 5-point alignment inside the
BlazeFace box → dlib ResNet descriptor → ``Gallery`` / ``VisitDecider``. Baseline in the same run:
dlib's HOG frontal face detector (upsampled once, as face_recognition's default) → dlib 5-point
alignment on the HOG box → the same descriptor, gallery and decider; i.e. face_recognition's own
"hog" + "small" pipeline. Ratios are ours/baseline time (below 1 = ours faster).

1. Identification: the photos of tests/data/faces plus scikit-image's astronaut; Biden and the
   astronaut have one real photo each, so each also gets a made-up second view (mirrored, smaller,
   turned: marked "(view)"). Each round enrols one photo per person (round k: the k-th photo,
   cycling) and identifies every other photo: a genuine probe is a true accept (right member), a
   false reject (unknown) or a misidentification; each photo is also an impostor probe against a
   gallery of the other people only: true reject, or false accept.
2. Time per photo (median of ``--repeats``): detection on the whole photo as ``faces_in_photo``
   searches it, and the descriptor of one face.
3. Entrance pipeline: 640×480 frames in which each person's photos grow from a 50 to a 150 px face
   (walking up to the camera), 1.5 s of empty frames between people, at 10 fps; Obama and Biden
   enrolled. Detector (``min_face_px`` 48, tiles), embedder (usable faces only) and decider, frame
   in → decisions out, fps over all frames and over frames with a face. When ``REPLENS_EVAL_DIR``
   (default ``../shared/eval``) has the eval clips, the same on their frames (gym footage; faces
   small or turned away); skipped when absent.

Usage: python bench/identity.py [--repeats 5] [--markdown] [--calibrate]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tables import table

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "tests" / "data" / "faces"
EVAL_DIR = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval"))
PEOPLE = {
    "obama": ["obama", "obama2", "obama3", "obama_partial_face"],
    "biden": ["biden", "biden (view)"],
    "collins": ["astronaut", "astronaut (view)"],
}


def view(image: np.ndarray, scale: float, degrees: float) -> np.ndarray:
    small = cv2.resize(image[:, ::-1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(small, turn, (w, h), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8)


def load_photos() -> dict[str, np.ndarray]:
    from skimage import data

    photos = {n: np.asarray(cv2.imread(str(FACES / f"{n}.jpg")), dtype=np.uint8) for n in PEOPLE["obama"] + ["biden"]}
    rgb = data.astronaut()  # type: ignore[no-untyped-call, unused-ignore]
    photos["astronaut"] = np.ascontiguousarray(np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8))
    photos["biden (view)"] = view(photos["biden"], 0.4, 8.0)
    photos["astronaut (view)"] = view(photos["astronaut"], 0.7, -8.0)
    return photos


class Pipeline:
    """Detector + descriptor; ``faces`` gives (width, box) per face, ``embed`` one descriptor per face."""

    def __init__(self, name: str, detect: Callable[[np.ndarray, float], list[Any]], width: Callable[[Any], float],
                 embed: Callable[[np.ndarray, list[Any]], np.ndarray]) -> None:
        self.name, self.detect, self.width, self.embed = name, detect, width, embed


def make_pipelines() -> tuple[Pipeline, Pipeline]:
    from replens.device_agent.identity.embedder import FaceEmbedder, default_model_paths, import_dlib
    from replens.device_agent.identity.face_detector import FaceDetector

    dlib = import_dlib()
    detector, embedder = FaceDetector(), FaceEmbedder()
    hog = dlib.get_frontal_face_detector()
    paths = default_model_paths()
    predictor = dlib.shape_predictor(str(paths.shape_predictor))
    network = dlib.face_recognition_model_v1(str(paths.recognition))

    def hog_embed(image: np.ndarray, boxes: list[Any]) -> np.ndarray:
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        return np.array([network.compute_face_descriptor(rgb, predictor(rgb, b)) for b in boxes], dtype=np.float32)

    ours = Pipeline("ours (BlazeFace+dlib)", lambda im, m: detector.detect(im, min_face_px=m), lambda f: f.width,
                    embedder.embed_many)
    base = Pipeline("baseline (dlib HOG+dlib)", lambda im, m: list(hog(np.ascontiguousarray(im[:, :, ::-1]), 1)),
                    lambda r: float(r.width()), hog_embed)
    return ours, base


def identification(pipe: Pipeline, photos: dict[str, np.ndarray]) -> dict[str, Any]:
    from replens.device_agent.identity.gallery import Gallery
    from replens.device_agent.identity.photos import photo_min_face_px

    vectors: dict[str, np.ndarray | None] = {}
    for name, image in photos.items():
        faces = pipe.detect(image, photo_min_face_px(image))
        largest = max(faces, key=pipe.width) if faces else None
        vectors[name] = None if largest is None else pipe.embed(image, [largest])[0]
    counts = dict.fromkeys(["TA", "FR", "mis-id", "TR", "FA", "no face"], 0)
    genuine: list[float] = []
    impostor: list[float] = []
    for k in range(max(len(p) for p in PEOPLE.values())):
        enrolled = {person: photos_[k % len(photos_)] for person, photos_ in PEOPLE.items()}
        for person, names in PEOPLE.items():
            for name in names:
                vector = vectors[name]
                if vector is None:
                    counts["no face"] += 1
                    continue
                if name != enrolled[person]:
                    match = gallery_of(Gallery(), enrolled, vectors).match(vector)
                    genuine.append(gallery_of(Gallery(), {person: enrolled[person]}, vectors).match(vector).distance)
                    counts["TA" if match.member_id == person else "FR" if match.member_id is None else "mis-id"] += 1
                others = {p: n for p, n in enrolled.items() if p != person}
                match = gallery_of(Gallery(), others, vectors).match(vector)
                impostor.append(match.distance)
                counts["TR" if match.member_id is None else "FA"] += 1
    return {"counts": counts, "genuine": genuine, "impostor": impostor}


def gallery_of(gallery: Any, enrolled: dict[str, str], vectors: dict[str, np.ndarray | None]) -> Any:
    for person, name in enrolled.items():
        vector = vectors[name]
        if vector is not None:
            gallery.add(person, vector)
    return gallery


def median_s(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timing(pipe: Pipeline, photos: dict[str, np.ndarray], repeats: int) -> dict[str, tuple[float, float, int]]:
    from replens.device_agent.identity.photos import photo_min_face_px

    out = {}
    for name, image in photos.items():
        min_face = photo_min_face_px(image)
        faces = pipe.detect(image, min_face)
        detect_s = median_s(partial(pipe.detect, image, min_face), repeats)
        embed_s = median_s(partial(pipe.embed, image, faces[:1]), repeats) if faces else float("nan")
        out[name] = (detect_s, embed_s, len(faces))
    return out


def walk_in_frames(photos: dict[str, np.ndarray], fps: float = 10.0) -> list[np.ndarray]:
    """Each person's first photo growing from a 50 to a 150 px face over 2 s, 1.5 s of empty wall between."""
    from replens.device_agent.identity.face_detector import FaceDetector

    detector = FaceDetector()
    frames: list[np.ndarray] = []
    wall = np.full((480, 640, 3), 120, dtype=np.uint8)
    for person in PEOPLE:
        image = photos[PEOPLE[person][0]]
        face_width = detector.detect(image)[0].width
        for i in range(int(2 * fps)):
            scale = (50 + 100 * i / (2 * fps - 1)) / face_width
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)[:480, :640]
            frame = wall.copy()
            x = (640 - small.shape[1]) // 2
            frame[: small.shape[0], max(0, x): max(0, x) + small.shape[1]] = small[:, : 640 - max(0, x)]
            frames.append(frame)
        frames += [wall] * int(1.5 * fps)
    return frames


def entrance(pipe: Pipeline, frames: list[np.ndarray], photos: dict[str, np.ndarray], fps: float) -> dict[str, Any]:
    from replens.device_agent.identity.decision import FaceSample, VisitDecider, VisitSettings
    from replens.device_agent.identity.gallery import Gallery

    gallery = Gallery()
    for person in ("obama", "biden"):
        image = photos[PEOPLE[person][0]]
        faces = pipe.detect(image, 40.0)
        gallery.add(person, pipe.embed(image, [max(faces, key=pipe.width)])[0])
    decider = VisitDecider(gallery, VisitSettings(min_face_px=48.0, visit_gap_s=1.0))
    seconds, with_face, ends = [], [], []
    for i, frame in enumerate(frames):
        start = time.perf_counter()
        faces = [f for f in pipe.detect(frame, 48.0) if decider.wants(pipe.width(f))]
        vectors = pipe.embed(frame, faces) if faces else np.empty((0, 128), dtype=np.float32)
        decisions = decider.update(i / fps, [FaceSample(pipe.width(f), v) for f, v in zip(faces, vectors, strict=True)])
        seconds.append(time.perf_counter() - start)
        with_face.append(bool(faces))
        ends += [d for d in decisions if d.phase == "end"]
    ends += decider.finish(len(frames) / fps)
    times, has = np.array(seconds), np.array(with_face)
    return {"fps": len(times) / times.sum(), "fps_face": has.sum() / times[has].sum() if has.any() else float("nan"),
            "face_frames": int(has.sum()), "frames": len(times),
            "visits": " ".join(f"{d.member_id or 'unknown'}({d.frames}f,{d.score:.2f})" for d in ends) or "-"}


def read_clip_frames() -> list[np.ndarray]:
    videos = EVAL_DIR / "videos"
    frames: list[np.ndarray] = []
    for clip in sorted(videos.glob("*.mp4")) if videos.is_dir() else []:
        capture = cv2.VideoCapture(str(clip))
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image)
        capture.release()
    return frames


def calibrate(photos: dict[str, np.ndarray]) -> None:
    """Where dlib's HOG box lies relative to BlazeFace's, over 5 faces × 3 scales × mirrored × 3 turns."""
    from replens.device_agent.identity.embedder import import_dlib
    from replens.device_agent.identity.face_detector import FaceDetector

    detector, hog = FaceDetector(), import_dlib().get_frontal_face_detector()
    rows = []
    for name in ["obama", "obama2", "obama3", "biden", "astronaut"]:
        for scale in (0.3, 0.6, 1.0):
            for mirror in (False, True):
                for degrees in (-12.0, 0.0, 12.0):
                    image = photos[name][:, ::-1] if mirror else photos[name]
                    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                    h, w = small.shape[:2]
                    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
                    turned = np.asarray(cv2.warpAffine(small, turn, (w, h)), dtype=np.uint8)
                    faces, boxes = detector.detect(turned), hog(np.ascontiguousarray(turned[:, :, ::-1]), 1)
                    if not faces or not boxes:
                        continue
                    f = faces[0]
                    c = (f.box[:2] + f.box[2:]) / 2
                    r = boxes[int(np.argmin([abs(b.center().x - c[0]) + abs(b.center().y - c[1]) for b in boxes]))]
                    rows.append(((r.center().x - c[0]) / f.width, (r.center().y - c[1]) / f.width, r.width() / f.width))
    med = np.median(np.array(rows), axis=0)
    print(f"{len(rows)} views: HOG box centre x {med[0]:+.3f}, centre y {med[1]:+.3f} (of the BlazeFace box width), "
          f"width {med[2]:.3f} of it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--calibrate", action="store_true", help="print the HOG-box calibration and stop")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import openvino as ov

    from replens.device_agent.identity.embedder import import_dlib

    photos = load_photos()
    if args.calibrate:
        calibrate(photos)
        return
    dlib = import_dlib()
    print(f"OpenVINO {ov.__version__.split('-')[0]} (CPU, f32, 1 thread); dlib {dlib.__version__} "
          f"(BLAS {dlib.DLIB_USE_BLAS}, AVX {dlib.USE_AVX_INSTRUCTIONS}); OpenCV {cv2.__version__}; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    pipes = make_pipelines()
    print_identification(pipes, photos, args.markdown)
    print_timing(pipes, photos, args.repeats, args.markdown)
    print_entrance(pipes, photos, args.markdown)


def print_identification(pipes: tuple[Pipeline, ...], photos: dict[str, np.ndarray], markdown: bool) -> None:
    head = ["pipeline", "genuine", "TA", "FR", "mis-id", "impostor", "TR", "FA", "no face",
            "genuine d min/med/max", "impostor d min"]
    cells = []
    for pipe in pipes:
        r = identification(pipe, photos)
        c, g, i = r["counts"], r["genuine"], r["impostor"]
        cells.append([pipe.name, str(c["TA"] + c["FR"] + c["mis-id"]), str(c["TA"]), str(c["FR"]), str(c["mis-id"]),
                      str(c["TR"] + c["FA"]), str(c["TR"]), str(c["FA"]), str(c["no face"]),
                      f"{min(g):.3f}/{statistics.median(g):.3f}/{max(g):.3f}" if g else "-",
                      f"{min(i):.3f}" if i else "-"])
    print("\nidentification (threshold 0.6, margin 0.06; 8 photos of 3 people, one enrolled per person per round)")
    table(head, cells, markdown)


def print_timing(pipes: tuple[Pipeline, ...], photos: dict[str, np.ndarray], repeats: int, markdown: bool) -> None:
    results = [timing(pipe, photos, repeats) for pipe in pipes]
    head = ["photo", "size", "ours detect ms", "HOG detect ms", "detect ratio", "ours faces/HOG faces",
            "ours embed ms", "HOG-box embed ms"]
    cells = []
    for name, image in photos.items():
        (od, oe, on), (bd, be, bn) = results[0][name], results[1][name]
        cells.append([name, f"{image.shape[1]}x{image.shape[0]}", f"{1e3 * od:.1f}", f"{1e3 * bd:.1f}",
                      f"{od / bd:.3f}", f"{on}/{bn}", f"{1e3 * oe:.1f}", f"{1e3 * be:.1f}"])
    od_all = statistics.median(r[0] for r in results[0].values())
    bd_all = statistics.median(r[0] for r in results[1].values())
    emb = statistics.median(r[1] for r in results[0].values() if np.isfinite(r[1]))
    cells.append(["MEDIAN", "", f"{1e3 * od_all:.1f}", f"{1e3 * bd_all:.1f}", f"{od_all / bd_all:.3f}", "",
                  f"{1e3 * emb:.1f}", ""])
    print(f"\ntime per photo (median of {repeats}; detection searches faces down to max(40 px, long side / 20))")
    table(head, cells, markdown)


def print_entrance(pipes: tuple[Pipeline, ...], photos: dict[str, np.ndarray], markdown: bool) -> None:
    sets = [("walk-in 640x480, 10 fps", walk_in_frames(photos), 10.0)]
    clips = read_clip_frames()
    if clips:
        sets.append((f"eval clips ({EVAL_DIR / 'videos'})", clips, 30.0))
    else:
        print(f"\n(eval clips not found at {EVAL_DIR / 'videos'}: real-footage row skipped)")
    head = ["frames", "pipeline", "fps all", "fps face frames", "face frames", "visits (member(frames,score))"]
    cells = []
    for label, frames, fps in sets:
        runs = [entrance(pipe, frames, photos, fps) for pipe in pipes]
        for pipe, r in zip(pipes, runs, strict=True):
            cells.append([label, pipe.name, f"{r['fps']:.1f}", f"{r['fps_face']:.1f}",
                          f"{r['face_frames']}/{r['frames']}", r["visits"]])
        cells.append([label, "ratio ours/baseline time", f"{runs[1]['fps'] / runs[0]['fps']:.3f}",
                      f"{runs[1]['fps_face'] / runs[0]['fps_face']:.3f}", "", ""])
    print("\nentrance pipeline (detector min_face_px 48, embedder on usable faces, VisitDecider; Obama and Biden "
          "enrolled; expected visits: obama, biden, unknown)")
    table(head, cells, markdown)



if __name__ == "__main__":
    main()
