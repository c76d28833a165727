"""Which exercise is this set? Streaming evidence from key poses, body-part rules and periodic reps.

Per frame the recogniser only normalises the landmarks and adds them to a 0.1 s bucket. When a
bucket closes, its mean pose is compared with every candidate's generated key poses
(:mod:`key_poses`), one matrix-vector product. Every ``rescore_s`` it scores the last
``window_s`` of buckets per candidate:

* key-pose fit: how far the window's poses are from the candidate's rest-to-turn poses, seen from
  the single camera direction that explains the window best (the camera does not move in a set);
* body-part rules (:mod:`rules`): posture and where the limbs are at rest and at the turn;
* how cleanly periodic the candidate profile's own counting signal is (can it count reps at all).

The window's scores are added to the set's evidence weighted by how periodic its clearest signal
is, so a walk to the station, a pause or set-up movement (no repetition) adds little and the
decision rests on the reps. For pixel landmarks the weight also drops when the hips travel across
the image (walking); pre-normalised series have no position, so there it cannot.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from replens.arrays import Float64Array
from replens.contract.exercises import Exercise
from replens.device_agent.counting.profiles import PoseSignal, profile_for
from replens.device_agent.counting.recognition.features import (
    ROW_SIZE,
    BodyParts,
    body_row,
    descriptor,
    normalise,
    torso_length,
)
from replens.device_agent.counting.recognition.key_poses import key_pose_bank
from replens.device_agent.counting.recognition.placement import Placement, is_normalised
from replens.device_agent.counting.recognition.rules import RULES, body_facts, rule_score
from replens.device_agent.counting.recognition.signals import periodicity, profile_signal

BUCKET_S = 0.1
FIT_CLIP = 0.6  # a bucket no key pose explains costs this much, however far off it is
FIT_SCALE = 0.05  # descriptor distance worth one unit of score
RULE_WEIGHT = 0.5  # rules against key-pose fit
PERIODIC_WEIGHT = 2.0  # log-periodicity of the candidate's own signal, inside the rule score
PERIODIC_FLOOR = 0.05
_MIN_WEIGHT = 1e-3  # windows without reps still count a little, so a set without clean reps gets a guess


@dataclass(frozen=True, slots=True)
class Recognition:
    """The recogniser's current answer for the set.

    Attributes:
        exercise: the most likely candidate.
        confidence: its probability among the candidates, 0..1.
        runner_up: the next most likely candidate (None with a single candidate).
        runner_up_confidence: its probability, 0..1.
        t_s: media time of the decision.
    """

    exercise: Exercise
    confidence: float
    runner_up: Exercise | None
    runner_up_confidence: float
    t_s: float


@dataclass(frozen=True)
class RecognizerSettings:
    """Timing and decision settings; the defaults suit reps of 0.5-10 s.

    Attributes:
        window_s: history each score looks at (a few reps of any plausible tempo).
        rescore_s: how often the candidates are scored (the cost is amortised over these frames).
        min_window_s: no score before this much history.
        rep_floor: windows whose clearest signal has a periodicity below this carry no evidence.
        min_evidence: summed window weight needed before the first decision (about two windows
            of clean reps); higher waits longer and is surer.
        temperature: score units per e-fold of probability; higher gives more modest confidences.
            The scores are log-likelihood ratios, so 1 is the principled value; on RepCount-A it
            is also the best calibrated (stated confidence close to the share right).
        switch_margin: a new leader's mean score must beat the current decision's by this much
            (score units) before the decision changes.
        memory_s: evidence older than this fades (time constant), so a long set follows what is
            done now rather than how it began; None keeps the whole set.
    """

    window_s: float = 10.0
    rescore_s: float = 1.0
    min_window_s: float = 4.0
    rep_floor: float = 0.3
    min_evidence: float = 0.5
    temperature: float = 1.0
    switch_margin: float = 0.5
    memory_s: float | None = 30.0


class _KeyPoseFit:
    """Per-bucket distance of a pose to each candidate's key-pose templates, kept over the window."""

    def __init__(self, candidates: tuple[Exercise, ...], window: int) -> None:
        banks = [key_pose_bank(e) for e in candidates]
        self._sizes = [len(b) for b in banks]
        # phase-major (phases, templates, D): the minimum over phases is then an element-wise
        # minimum of a few long rows instead of a strided reduction over many short ones
        stacked = np.concatenate(banks).transpose(1, 0, 2)
        self._phases, n_templates, dim = stacked.shape
        flat = stacked.reshape(-1, dim)
        self._bank_t = np.ascontiguousarray(flat.T, dtype=np.float32)  # (D, phases*templates)
        self._norms = np.einsum("ij,ij->i", flat, flat).astype(np.float32)
        self._hist = np.zeros((window, n_templates), dtype=np.float32)
        self._n = 0

    def push(self, descriptor: Float64Array) -> None:
        """Add one bucket's weighted descriptor."""
        x = descriptor.astype(np.float32)
        sq = (self._norms + np.float32(x @ x) - 2.0 * (x @ self._bank_t)).reshape(self._phases, -1)
        nearest = np.sqrt(np.maximum(np.minimum.reduce(sq, axis=0), 0.0))
        self._hist[self._n % len(self._hist)] = np.minimum(nearest, FIT_CLIP)
        self._n += 1

    def fits(self) -> list[float]:
        """Per candidate: the mean distance over the window under its best template (view)."""
        rows = self._hist[: min(self._n, len(self._hist))]
        means = rows.mean(axis=0)
        out, start = [], 0
        for size in self._sizes:
            out.append(float(means[start : start + size].min()) if size else FIT_CLIP)
            start += size
        return out


class ExerciseRecognizer:
    """Streams (33, 2..4) landmark frames; returns a :class:`Recognition` whenever it rescored.

    Args:
        candidates: the exercises this station may see (a station's list, or every profile when
            None). ``auto`` is never a candidate: it has no profile to recognise.
        settings: timing and decision settings.
    """

    def __init__(
        self, candidates: Iterable[Exercise | str] | None = None, settings: RecognizerSettings | None = None
    ) -> None:
        chosen = list(Exercise) if candidates is None else [Exercise(c) for c in candidates]
        self.candidates = tuple(dict.fromkeys(e for e in chosen if e is not Exercise.AUTO))
        if not self.candidates:
            raise ValueError("the recogniser needs at least one exercise with a profile")
        self.settings = settings or RecognizerSettings()
        self._specs: list[PoseSignal] = []
        for e in self.candidates:
            spec = profile_for(e).pose
            assert spec is not None  # every exercise but auto has a pose signal
            self._specs.append(spec)
        self.reset()

    def reset(self) -> None:
        """Forget the set (call between sets)."""
        s = self.settings
        self._window = max(2, round(s.window_s / BUCKET_S))
        self._rows: deque[Float64Array] = deque(maxlen=self._window)
        self._placement = Placement(self._window)
        self._fit = _KeyPoseFit(self.candidates, self._window)
        self._sum = np.zeros(ROW_SIZE)
        self._raw = np.zeros(ROW_SIZE)  # image points in torso lengths, frames with a position only
        self._raw_count = 0
        self._count = 0
        self._bucket_t0: float | None = None
        self._next_score = -math.inf
        self._last_t: float | None = None
        self._evidence = np.zeros(len(self.candidates))
        self._weight = 0.0
        self.current: Recognition | None = None
        self.last_scores: dict[Exercise, float] = {}  # the latest window's scores, for debugging
        # Candidates allowed to lead (None: all). A counter that saw no rep of the set rules its
        # exercise out, whatever the poses looked like: see RecognizingPoseCounter.
        self.eligible: frozenset[Exercise] | None = None

    def update(self, t_s: float, landmarks: npt.ArrayLike | None) -> Recognition | None:
        """Feed one frame (None or all zeros = no pose); returns the decision when it was rescored."""
        xy = _points(landmarks)
        if xy is not None:
            norm = normalise(xy)
            if norm is not None:
                self._add(t_s, norm, xy)
        if len(self.candidates) == 1:
            return self._single(t_s)
        if t_s < self._next_score or len(self._rows) * BUCKET_S < self.settings.min_window_s:
            return None
        self._next_score = t_s + self.settings.rescore_s
        return self._rescore(t_s)

    def finish(self, t_s: float) -> Recognition | None:
        """End of the set: the best answer from whatever evidence there is (None if none was scored).

        Unlike :meth:`update`, this answers even below ``min_evidence``: a set whose reps were never
        clean still gets the most likely exercise, with the confidence saying how sure that is.
        """
        if len(self.candidates) == 1:
            return self.current or Recognition(self.candidates[0], 1.0, None, 0.0, t_s)
        if self._weight <= 0.0 and len(self._rows) >= 2:
            self._rescore(t_s)  # a set shorter than the first window: score what there is
        if self._weight > 0.0:
            self.current = self._decide(t_s, hold=False)  # the set is over: no reason to hold on
        return self.current

    def _single(self, t_s: float) -> Recognition | None:
        """A station with one named exercise: that exercise, certain, from the first frame."""
        if self.current is None:
            self.current = Recognition(self.candidates[0], 1.0, None, 0.0, t_s)
            return self.current
        return None

    def _add(self, t_s: float, norm: Float64Array, xy: Float64Array) -> None:
        """Add a frame to the open bucket; close it first when it is ``BUCKET_S`` old."""
        if self._bucket_t0 is not None and t_s - self._bucket_t0 >= BUCKET_S and self._count:
            row = self._sum / self._count
            self._rows.append(row)
            self._placement.push(self._raw / self._raw_count if self._raw_count else None)
            self._fit.push(descriptor(row))
            self._sum[:] = 0.0
            self._raw[:] = 0.0
            self._count = self._raw_count = 0
        if self._count == 0:
            self._bucket_t0 = t_s
        self._sum += body_row(norm)
        self._count += 1
        torso = torso_length(xy)
        if torso > 0.0 and not is_normalised(xy):
            self._raw += body_row(xy) / torso
            self._raw_count += 1

    def _rescore(self, t_s: float) -> Recognition | None:
        """Score the window, add it to the evidence, and decide."""
        scores, best_periodicity = self._window_scores()
        s = self.settings
        weight = (max(best_periodicity - s.rep_floor, 0.0) + _MIN_WEIGHT) * self._placement.stillness()
        if s.memory_s is not None and self._last_t is not None:
            fade = math.exp(-(t_s - self._last_t) / s.memory_s)
            self._evidence *= fade
            self._weight *= fade
        self._last_t = t_s
        self._evidence += weight * scores
        self._weight += weight
        self.last_scores = dict(zip(self.candidates, scores.tolist(), strict=True))
        if self._weight < s.min_evidence:
            return None
        self.current = self._decide(t_s)
        return self.current

    def _window_scores(self) -> tuple[Float64Array, float]:
        """Per candidate score of the current window, and the best periodicity among their signals."""
        parts = BodyParts(np.array(self._rows))
        facts = body_facts(parts, self._placement.anchors())
        fits = self._fit.fits()
        signals: dict[PoseSignal, Float64Array] = {}  # exercises sharing a signal compute it once...
        rhos: dict[tuple[PoseSignal, int, int], float] = {}  # ...and its periodicity per lag range
        scores = np.zeros(len(self.candidates))
        best = 0.0
        for i, (exercise, spec) in enumerate(zip(self.candidates, self._specs, strict=True)):
            profile = profile_for(exercise)
            if spec not in signals:
                signals[spec] = profile_signal(parts, spec)
            sig = signals[spec]
            lags = (spec, round(profile.min_rep_s / BUCKET_S), round(profile.max_rep_s / BUCKET_S))
            if lags not in rhos:
                rhos[lags] = periodicity(sig, lags[1], lags[2])
            rho = rhos[lags]
            best = max(best, rho)
            rule = rule_score(RULES[exercise], facts, sig, rest_high=spec.rest_position == "high")
            rule += PERIODIC_WEIGHT * math.log(max(rho, PERIODIC_FLOOR))
            scores[i] = RULE_WEIGHT * rule - fits[i] / FIT_SCALE
        return scores, best

    def probabilities(self) -> dict[Exercise, float]:
        """Every candidate's probability from the evidence so far, most likely first (empty before any)."""
        if self._weight <= 0.0:
            return {}
        mean = self._evidence / self._weight
        p = np.exp((mean - mean.max()) / self.settings.temperature)
        p /= p.sum()
        return {self.candidates[int(i)]: float(p[i]) for i in np.argsort(-p)}

    def decide(self, t_s: float) -> Recognition | None:
        """The decision from the evidence so far (None before any window was scored).

        For when :attr:`eligible` changed: it does not wait for the next rescore.
        """
        if self._weight <= 0.0 or len(self.candidates) == 1:
            return self.current
        self.current = self._decide(t_s)
        return self.current

    def _decide(self, t_s: float, *, hold: bool = True) -> Recognition:
        """Softmax of the mean evidence, with hysteresis against flip-flopping.

        Only :attr:`eligible` candidates may lead (all when it is None or names none of them); the
        probabilities are over every candidate all the same.
        """
        mean = self._evidence / self._weight
        p = np.exp((mean - mean.max()) / self.settings.temperature)
        p /= p.sum()
        allowed = [i for i, e in enumerate(self.candidates) if self.eligible is None or e in self.eligible]
        order = [int(i) for i in np.argsort(-p) if not allowed or int(i) in allowed]
        lead = order[0]
        if hold and self.current is not None and self.current.exercise in self.candidates:
            held = self.candidates.index(self.current.exercise)
            if held != lead and held in order and mean[lead] < mean[held] + self.settings.switch_margin:
                lead = held
        rest = [int(i) for i in np.argsort(-p) if int(i) != lead]  # eligible or not: the next most likely
        runner = rest[0] if rest else None
        return Recognition(
            exercise=self.candidates[lead],
            confidence=float(p[lead]),
            runner_up=None if runner is None else self.candidates[runner],
            runner_up_confidence=0.0 if runner is None else float(p[runner]),
            t_s=t_s,
        )


def _points(landmarks: npt.ArrayLike | None) -> Float64Array | None:
    """(33, 2) finite points of a frame, or None for no pose (None, all zeros, NaN, wrong shape)."""
    if landmarks is None:
        return None
    arr = np.asarray(landmarks, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 33 or arr.shape[1] < 2:
        raise ValueError(f"landmarks must be (33, 2..4), got {arr.shape}")
    xy = arr[:, :2]
    if not np.isfinite(xy).all() or not xy.any():
        return None
    return xy
