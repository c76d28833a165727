"""A profile's rep signal on a block of body rows, and how cleanly periodic a signal is.

The signal is the one the profile's counter uses (:class:`PoseSignal`: summed joint angles or a
height in torso lengths), computed here on the normalised rows the recogniser keeps. Per-axis
normalisation bends angles, but the same way in every rep, so a signal that carries the reps stays
periodic.
"""

from __future__ import annotations

import numpy as np

from replens.arrays import Float64Array
from replens.device_agent.counting.profiles import JOINTS, LANDMARKS, PoseSignal
from replens.device_agent.counting.recognition.features import BODY, BodyParts, joint_angle


def _side_index(name: str, side: int) -> int:
    return BODY.index(LANDMARKS[name][side])


def profile_signal(parts: BodyParts, spec: PoseSignal) -> Float64Array:
    """The profile's signal per row: degrees for joint angles, torso lengths for a height."""
    if spec.height is None:
        total = np.zeros(len(parts))
        for joint in spec.joints:
            p, v, d = JOINTS[joint]
            sides = [joint_angle(parts, _side_index(p, s), _side_index(v, s), _side_index(d, s)) for s in (0, 1)]
            total += 0.5 * (sides[0] + sides[1])
        return total
    upper, lower = spec.height
    up = 0.5 * (parts.point(_side_index(upper, 0))[:, 1] + parts.point(_side_index(upper, 1))[:, 1])
    low = 0.5 * (parts.point(_side_index(lower, 0))[:, 1] + parts.point(_side_index(lower, 1))[:, 1])
    torso = np.hypot(parts.x("S") - parts.x("H"), parts.y("S") - parts.y("H")) + 1e-6
    out: Float64Array = (low - up) / torso
    return out


def periodicity(x: Float64Array, min_lag: int, max_lag: int) -> float:
    """Height (0..1) of the autocorrelation's highest peak between ``min_lag`` and ``max_lag`` samples.

    The peak is looked for only after the first dip of the autocorrelation, so the slow decay of a
    smooth signal at short lags is not taken for a repetition. Unbiased (each lag divided by its
    number of products), so the peak of a clean periodic signal is near 1 whatever the lag. Lags
    beyond half the window would rest on too few products and are not searched.
    """
    n = len(x)
    hi = min(max_lag, n // 2)
    if n < 8 or hi <= max(min_lag, 1) + 1:
        return 0.0
    d = x - x.mean()
    energy = float(d @ d)
    if energy <= 1e-12:
        return 0.0
    spec = np.fft.rfft(d, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[: hi + 2] / energy * n / (n - np.arange(hi + 2))
    dips = np.nonzero((ac[1:-1] <= ac[:-2]) & (ac[1:-1] <= ac[2:]))[0]
    if not dips.size:
        return 0.0
    start = max(int(dips[0]) + 1, min_lag)
    if start > hi:
        return 0.0
    return float(np.clip(ac[start : hi + 1].max(), 0.0, 1.0))

