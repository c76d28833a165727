"""Render the sample weight-stack clip the tests and the demo use: ours, so licence and truth are exact.

Run ``.venv/bin/python scripts/render_sample_clip.py``: it writes ``device_agent/samples/stack_demo.mp4``,
its ground truth ``stack_demo.json`` and the samples ``README.md`` from one seeded schedule.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from replens.arrays import Float32Array

SEED = 20240611
FPS, W, H = 15, 640, 360
OUT_DIR = Path(__file__).resolve().parent.parent / "device_agent" / "samples"


# Front view of a selectorised machine, in pixels.
FLOOR_Y, PLATE_H, N_PLATES, PIN_PLATE, TOP_PLATE_H = 332, 12, 12, 4, 20
STACK_X0, STACK_X1, CENTER_X = 222, 418, 320
ROD_XS, POST_XS, PULLEY_Y = (246, 394), (186, 436), 30
STACK_TOP_Y = FLOOR_Y - N_PLATES * PLATE_H  # top face of plate 1 at rest
REMAIN_TOP_Y = STACK_TOP_Y + PIN_PLATE * PLATE_H  # top face of the plates that stay down
ROI = (150 / W, 20 / H, 340 / W, 325 / H)  # the stack, its travel and the frame posts

LEAD_IN_S, REST_S, TAIL_S, TOP_PAUSE_S = 2.0, 8.0, 2.5, 0.7
SET1_BASE_S = (2.2, 1.7, 2.6, 3.3, 2.0, 2.8)  # rep 4 holds at the top
SET2_BASE_S = (2.4, 1.9, 2.3, 3.0)
WALK_DELAY_S, WALK_S, OPTICS_BLUR, NOISE_SIGMA = 1.8, 4.5, 1.1, 1.0


@dataclass(frozen=True)
class Rep:
    """One repetition in media time: leaves the stack, reaches the top, starts down, lands."""

    start_s: float
    top_s: float
    top_end_s: float
    end_s: float
    lift_px: float


def f32(array: object) -> Float32Array:
    """OpenCV hands back loosely typed arrays; the renderer works in float32 BGR."""
    return np.asarray(array, dtype=np.float32)


def min_jerk(u: float) -> float:
    """Smooth 0..1 ease-in/out: zero velocity and acceleration at both ends, like a real lift."""
    u = min(max(u, 0.0), 1.0)
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


def build_schedule(rng: np.random.Generator) -> tuple[list[list[Rep]], float, float]:
    """Two sets with varied tempo, concentric faster than eccentric; returns (sets, rest start, end)."""
    sets: list[list[Rep]] = []
    t, rest_start = LEAD_IN_S, 0.0
    plans = ((SET1_BASE_S, 3, (80.0, 90.0)), (SET2_BASE_S, -1, (72.0, 84.0)))
    for number, (bases, pause_rep, lifts) in enumerate(plans):
        reps: list[Rep] = []
        for k, base in enumerate(bases):
            duration = base + float(rng.uniform(-0.1, 0.1))
            pause = TOP_PAUSE_S if k == pause_rep else 0.0
            concentric = (duration - pause) * float(rng.uniform(0.36, 0.44))
            top = t + concentric
            reps.append(Rep(t, top, top + pause, t + duration, float(rng.uniform(*lifts))))
            t += duration + (float(rng.uniform(0.25, 0.5)) if k < len(bases) - 1 else 0.0)
        sets.append(reps)
        if number == 0:
            rest_start = t
            t += REST_S
    return sets, rest_start, t + TAIL_S


def lift_at(t: float, reps: list[Rep]) -> float:
    """Height of the lifted block above the stack at time ``t`` (0 between reps)."""
    for r in reps:
        if r.start_s <= t < r.end_s:
            if t < r.top_s:
                return r.lift_px * min_jerk((t - r.start_s) / (r.top_s - r.start_s))
            if t < r.top_end_s:
                return r.lift_px - 0.6 * math.sin(math.pi * (t - r.top_s) / (r.top_end_s - r.top_s))
            return r.lift_px * (1.0 - min_jerk((t - r.top_end_s) / (r.end_s - r.top_end_s)))
    return 0.0


def shake_at(t: float, landings: list[float]) -> tuple[float, float]:
    """Camera shake: a decaying tremor after each landing, as when the camera shares the frame."""
    dx = dy = 0.0
    for t0 in landings:
        if 0.0 <= t - t0 < 1.2:
            amp = 0.7 * math.exp(-(t - t0) / 0.35)
            dy += amp * math.sin(2 * math.pi * 7.0 * (t - t0))
            dx += 0.4 * amp * math.sin(2 * math.pi * 5.0 * (t - t0) + 1.0)
    return dx, dy


def gain_at(t: float, events: list[float]) -> float:
    """Bursts of flicker up to 4 % (a tube beating with the shutter); bursts, as mp4v pays for each one."""
    gain = 1.0
    for t0 in events:
        if 0.0 <= t - t0 < 0.8:
            envelope = math.sin(math.pi * (t - t0) / 0.8) ** 2
            gain -= 0.04 * envelope * (0.5 + 0.5 * math.cos(2 * math.pi * 3.7 * (t - t0)))
    return gain


def background(rng: np.random.Generator) -> Float32Array:
    """Painted block wall and a rubber floor: static texture the way real gyms have it."""
    img = np.full((H, W, 3), (150, 156, 160), np.float32)
    for row, y in enumerate(range(0, H, 36)):
        for x in range(-40 * (row % 2), W, 80):
            img[y : y + 36, max(x, 0) : x + 80] *= float(rng.uniform(0.94, 1.05))
            cv2.rectangle(img, (x, y), (x + 80, y + 36), (126, 130, 134), 2)
    img += f32(cv2.GaussianBlur(rng.normal(0, 9, (H, W)).astype(np.float32), (0, 0), 1.2))[:, :, None]
    img = f32(cv2.GaussianBlur(img, (0, 0), 1.6))  # the wall is behind the focus plane
    img[FLOOR_Y + 6 :] = (44, 44, 47)
    img[FLOOR_Y + 6 :] += rng.normal(0, 6, (H - FLOOR_Y - 6, W, 1)).astype(np.float32)
    return img


def shaded_bar(img: Float32Array, box: tuple[int, int, int, int], base: float, *, vertical: bool) -> None:
    """Fill a metal bar (x0, y0, x1, y1) with a highlight across it, the cheap way metal looks round."""
    x0, y0, x1, y1 = box
    n = (x1 - x0) if vertical else (y1 - y0)
    ramp = 0.55 + 0.6 * np.sin(np.linspace(0.15, math.pi - 0.15, n)) ** 3
    shade = (ramp[None, :, None] if vertical else ramp[:, None, None]) * base
    img[y0:y1, x0:x1] = np.broadcast_to(shade, (y1 - y0, x1 - x0, 1)).astype(np.float32)


def draw_plate(img: Float32Array, k: int) -> None:
    """Plate k (0 = top) at rest: dark body, bevel highlight, shadow line, a white weight sticker."""
    x0, x1, y0, h, label = STACK_X0, STACK_X1, STACK_TOP_Y + k * PLATE_H, PLATE_H, str(10 * (k + 1))
    cv2.rectangle(img, (x0, y0), (x1, y0 + h - 2), (52, 50, 54), -1)
    cv2.line(img, (x0 + 1, y0), (x1 - 1, y0), (112, 110, 114), 1)
    cv2.line(img, (x0, y0 + h - 1), (x1, y0 + h - 1), (20, 20, 22), 1)
    for x in (x0 + 8, x1 - 8):
        cv2.circle(img, (x, y0 + h // 2 - 1), 2, (96, 96, 100), -1)
    sticker = np.full((h - 4, 28, 3), (225, 225, 228), np.uint8)  # putText wants 8-bit images
    cv2.putText(sticker, label, (2, h - 6), cv2.FONT_HERSHEY_PLAIN, 0.6, (30, 30, 150), 1)
    img[y0 + 2 : y0 + h - 2, x0 + 30 : x0 + 58] = sticker


def static_layer(rng: np.random.Generator) -> Float32Array:
    """Everything that never moves: wall, frame posts, guide rods, pulley, the plates left down."""
    img = background(rng)
    for px in POST_XS:
        shaded_bar(img, (px, 8, px + 18, FLOOR_Y + 10), 70.0, vertical=True)
    shaded_bar(img, (POST_XS[0], 8, POST_XS[1] + 18, 24), 80.0, vertical=False)
    shaded_bar(img, (POST_XS[0] - 6, FLOOR_Y, POST_XS[1] + 24, FLOOR_Y + 10), 60.0, vertical=False)
    for rx in ROD_XS:
        shaded_bar(img, (rx - 3, 24, rx + 3, FLOOR_Y), 190.0, vertical=True)
    cv2.circle(img, (CENTER_X, PULLEY_Y), 12, (60, 60, 64), -1)
    cv2.circle(img, (CENTER_X, PULLEY_Y), 4, (150, 150, 155), -1)
    for k in range(PIN_PLATE, N_PLATES):
        draw_plate(img, k)
    return img


def moving_sprite() -> tuple[Float32Array, Float32Array]:
    """The block that lifts, at rest: top plate, cable clamp, pinned plates, pin. Returns (bgr, alpha)."""
    img = np.zeros((H, W, 3), np.float32)
    top_y = STACK_TOP_Y - TOP_PLATE_H
    shaded_bar(img, (STACK_X0 - 6, top_y, STACK_X1 + 6, STACK_TOP_Y - 1), 95.0, vertical=False)
    for bx in (STACK_X0 + 20, STACK_X1 - 20, CENTER_X - 40, CENTER_X + 40):
        cv2.circle(img, (bx, top_y + 10), 3, (170, 170, 175), -1)
    shaded_bar(img, (CENTER_X - 7, top_y - 16, CENTER_X + 7, top_y), 150.0, vertical=True)
    cv2.circle(img, (CENTER_X, top_y - 9), 3, (40, 40, 40), -1)
    for k in range(PIN_PLATE):
        draw_plate(img, k)
    pin_y = STACK_TOP_Y + (PIN_PLATE - 1) * PLATE_H + PLATE_H // 2 - 1
    cv2.rectangle(img, (CENTER_X + 4, pin_y - 2), (CENTER_X + 34, pin_y + 2), (170, 170, 175), -1)
    cv2.circle(img, (CENTER_X + 38, pin_y), 6, (30, 40, 200), -1)
    return img, (img.max(axis=2) > 0).astype(np.float32)


def draw_walker(img: Float32Array, t: float, x: float) -> None:
    """A dark person-shaped silhouette with swinging limbs, soft-edged like motion blur."""
    mask = np.zeros((H, W), np.float32)
    phase = 2.0 * math.pi * 1.8 * t
    xi, yb = round(x), round(3.0 * abs(math.sin(phase)))  # the head bobs with each step
    for side in (-1, 1):
        swing = side * math.sin(phase)
        cv2.line(mask, (xi + 10 * side, 205 - yb), (round(x + 40 * swing), 352), 1.0, 19)
        cv2.line(mask, (xi + 26 * side, 120 - yb), (round(x + 28 * side - 44 * swing), 206 - yb), 1.0, 13)
    torso = np.array([[xi - 29, 112 - yb], [xi + 29, 112 - yb], [xi + 23, 210 - yb], [xi - 23, 210 - yb]])
    cv2.fillConvexPoly(mask, torso.astype(np.int32), 1.0)
    cv2.circle(mask, (xi, 86 - yb), 17, 1.0, -1)
    cv2.rectangle(mask, (xi - 7, 100 - yb), (xi + 7, 114 - yb), 1.0, -1)
    mask = f32(cv2.GaussianBlur(mask, (5, 5), 0))[:, :, None]
    img *= 1.0 - mask
    img += mask * np.array((30, 27, 33), np.float32)


def render(out_dir: Path, seed: int) -> dict[str, object]:
    """Render the clip and write the video, the JSON ground truth and the README."""
    rng = np.random.default_rng(seed)
    sets, rest_start, end_s = build_schedule(rng)
    reps = [r for s in sets for r in s]
    walk_start = rest_start + WALK_DELAY_S
    base = static_layer(rng)
    sprite, alpha = moving_sprite()
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    vignette = (1.0 - 0.25 * (((xx - W / 2) / W) ** 2 + ((yy - H / 2) / H) ** 2) * 2.0)[:, :, None]
    landings = [r.end_s for r in reps] + [walk_start + 0.8 * k for k in range(6)]  # footsteps too
    flicker = sorted(float(d) for d in rng.uniform(1.0, end_s - 1.0, 5))
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / "stack_demo.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (W, H))
    if not writer.isOpened():
        raise SystemExit("OpenCV cannot write mp4v video here")
    n_frames = round(end_s * FPS)
    for i in range(n_frames):
        t = i / FPS
        lift = lift_at(t, reps)
        img = base.copy()
        if lift > 0.5:
            rod = (CENTER_X - 3, round(REMAIN_TOP_Y - lift), CENTER_X + 3, REMAIN_TOP_Y)
            shaded_bar(img, rod, 200.0, vertical=True)  # the selector rod shows in the gap
        shift = np.array([[1, 0, 0], [0, 1, -lift]], np.float32)
        a = f32(cv2.warpAffine(alpha, shift, (W, H)))[:, :, None]
        img = f32(img * (1.0 - a) + cv2.warpAffine(sprite, shift, (W, H)))  # sub-pixel block position
        cable_end = (CENTER_X, round(STACK_TOP_Y - TOP_PLATE_H - 16 - lift))
        cv2.line(img, (CENTER_X, PULLEY_Y + 12), cable_end, (25, 25, 25), 2)
        if walk_start <= t <= walk_start + WALK_S:
            draw_walker(img, t, W + 70 - (W + 140) * (t - walk_start) / WALK_S)
        dx, dy = shake_at(t, landings)
        if dx or dy:
            img = f32(cv2.warpAffine(img, np.array([[1, 0, dx], [0, 1, dy]], np.float32), (W, H),
                                     borderMode=cv2.BORDER_REFLECT101))
        img = f32(cv2.GaussianBlur(img, (0, 0), OPTICS_BLUR))  # a cheap lens; also keeps mp4v small
        img = img * vignette * gain_at(t, flicker) + rng.normal(0, NOISE_SIGMA, (H, W, 1)).astype(np.float32)
        writer.write(np.clip(img, 0, 255).astype(np.uint8))
    writer.release()
    truth: dict[str, object] = {
        "clip": video.name, "seed": seed, "fps": FPS, "width": W, "height": H, "frames": n_frames,
        "duration_s": round(n_frames / FPS, 3), "roi": [round(v, 4) for v in ROI], "axis": "vertical",
        "sets": [{"reps": [{k: round(v, 3) for k, v in asdict(r).items()} for r in s]} for s in sets],
        "rest": {"start_s": round(rest_start, 3), "end_s": round(sets[1][0].start_s, 3)},
        "walker": {"start_s": round(walk_start, 3), "end_s": round(walk_start + WALK_S, 3)},
    }
    (out_dir / "stack_demo.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    text = readme(seed, n_frames / FPS, sets, (rest_start, sets[1][0].start_s), walk_start)
    (out_dir / "README.md").write_text(text, encoding="utf-8")
    return truth


README = """# Sample clips

`stack_demo.mp4` is a rendered (synthetic) front view of a selectorised machine's weight stack: frame
posts, guide rods, pulley and cable, 12 plates under a top plate, the selector pin in plate 4 (the top
plate and four plates lift along the rods); a textured wall, sensor noise, bursts of mild flicker,
slight camera shake and a dark walker crossing the view during the rest.

Made by `scripts/render_sample_clip.py` with seed `{seed}` (640x360, 15 fps, mp4v, {duration:.1f} s);
rerunning it rewrites the clip, this README and `stack_demo.json` (exact ground truth: rep times,
lift in pixels, the stack ROI as frame fractions x, y, w, h = {roi}) from one schedule.

## Ground truth

{sets} reps in all: set 1 = {n1} reps, set 2 = {n2} reps; rest {rest0:.1f}–{rest1:.1f} s, the walker
crosses {walk0:.1f}–{walk1:.1f} s. Still before the first and after the last rep.

| set | rep | start s | top s | leaves top s | end s | lift px |
|----:|----:|--------:|------:|-------------:|------:|--------:|
{rows}

## Licence

Made by the RepLens project; Apache-2.0, like the rest of the project.
"""


def readme(seed: int, duration: float, sets: list[list[Rep]], rest: tuple[float, float], walk_start: float) -> str:
    """The samples README, written from the same schedule as the clip."""
    rows = "\n".join(f"| {n} | {k} | {r.start_s:.2f} | {r.top_s:.2f} | {r.top_end_s:.2f} | {r.end_s:.2f} "
                     f"| {r.lift_px:.0f} |" for n, s in enumerate(sets, 1) for k, r in enumerate(s, 1))
    return README.format(seed=seed, duration=duration, roi=", ".join(f"{v:.4f}" for v in ROI),
                         sets=sum(len(s) for s in sets), n1=len(sets[0]), n2=len(sets[1]), rest0=rest[0],
                         rest1=rest[1], walk0=walk_start, walk1=walk_start + WALK_S, rows=rows)


def main() -> None:
    """Parse arguments and render."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    print(json.dumps({k: v for k, v in render(args.out, args.seed).items() if k != "sets"}))


if __name__ == "__main__":
    main()
