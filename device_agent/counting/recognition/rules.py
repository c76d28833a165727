"""Body-part rules per exercise: posture relations, and where the limbs are at rest and at the turn.

Each rule states a biomechanical fact about the exercise that survives per-axis normalisation:
an ordering along one axis (``hands_overhead``: the wrists are above the nose) or a ratio of
differences along one axis (``Wr``: the wrists' height below the shoulders in torso heights; 0 at
the shoulders, 1 at the hips, negative overhead). Orderings are checked always, at rest or at the
turning point; ratios are compared with their expected level at rest and at the turn, or must stay
still. Rest and turn are the extreme thirds of the exercise's own movement: of the ratio template's
direction where it has one, else of the profile's signal.

Scores are log-likelihood ratios: an ordering that holds in a share ``f`` of the rows scores
``f·log(Q/0.5) + (1-f)·log((1-Q)/0.5)`` (a rule true 90 % of the time for the exercise, against
chance), so satisfying many specific rules wins over satisfying a few generic ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from replens.arrays import Float64Array
from replens.contract.exercises import Exercise
from replens.device_agent.counting.recognition.features import BodyParts

BoolArray = npt.NDArray[np.bool_]
Phase = Literal["always", "rest", "turn", "window"]  # "window": a fact about the whole window
Q = 0.9  # how often a rule holds for its exercise (MediaPipe misplaces joints now and then)
LEVEL_SIGMA = 0.3  # tolerance of a ratio level, torso heights
LEVEL_CLIP = 4.5  # the most one ratio term can cost (one grossly wrong joint must not decide alone)
DWELL_WEIGHT = 3.0  # reward for pausing at the exercise's rest end
SPLIT_QUANTILE = 0.3  # rest and turn: the outer 30 % of the movement at each end
MIN_SPLIT_STEP = 0.2  # a ratio whose rest and turn levels differ less does not define the direction


@dataclass(frozen=True)
class Cue:
    """An ordering that should hold (``expected``) or not, in the given phase."""

    phase: Phase
    name: str
    expected: bool


@dataclass(frozen=True)
class Level:
    """A ratio's expected value at rest and at the turn (None: not constrained there)."""

    feature: str
    rest: float | None
    turn: float | None
    sigma: float = LEVEL_SIGMA


@dataclass(frozen=True)
class Rules:
    """All rules of one exercise; ``still`` ratios must not change between rest and turn."""

    cues: tuple[Cue, ...]
    levels: tuple[Level, ...] = ()
    still: tuple[str, ...] = ()
    direction: tuple[tuple[str, float], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        moving = [
            (lv.feature, lv.turn - lv.rest)
            for lv in self.levels
            if lv.rest is not None and lv.turn is not None and abs(lv.turn - lv.rest) > MIN_SPLIT_STEP
        ]
        norm = math.sqrt(sum(d * d for _, d in moving)) or 1.0
        object.__setattr__(self, "direction", tuple((f, d / norm) for f, d in moving))


def _ratio(num: Float64Array, den: Float64Array) -> Float64Array:
    den = np.where(np.abs(den) < 0.05, np.copysign(0.05, den), den)
    out: Float64Array = np.clip(num / den, -3.0, 3.0)
    return out


@dataclass(frozen=True)
class Facts:
    """Per row of a window: the named orderings, and the ratios as rows of one matrix."""

    cues: dict[str, BoolArray]
    ratios: Float64Array  # (len(RATIOS), n)
    window: dict[str, bool | None]  # facts about the whole window; None = unknown (skipped)

    def ratio(self, name: str) -> Float64Array:
        """One ratio's values."""
        out: Float64Array = self.ratios[RATIOS.index(name)]
        return out


RATIOS = ("Wr", "Er", "Kr", "Ar", "Asp")


def body_facts(p: BodyParts, window: dict[str, bool | None]) -> Facts:
    """Per row: the named orderings (booleans) and ratios (torso heights) the rules refer to."""
    y, x = p.y, p.x
    chain = [("N", "S"), ("S", "H"), ("H", "K"), ("K", "A")]
    order = sum((y(a) < y(b)).astype(float) for a, b in chain)
    along = sum((x(a) < x(b)).astype(float) for a, b in (("N", "S"), ("S", "H"), ("H", "A")))
    thighs_level = np.abs(y("K") - y("H")) < 0.5 * np.abs(y("A") - y("K"))
    cues: dict[str, object] = {
        "upright": order >= 3,  # head, shoulders, hips, knees, ankles top to bottom
        "horizontal": (np.maximum(along, 3 - along) >= 3) & (np.abs(x("N") - x("A")) > 0.5),
        "hands_overhead": y("W") < y("N"),
        "hands_above_shoulders": y("W") < y("S"),
        "hands_below_hips": y("W") > y("H"),
        "hands_lowest": y("W") > 0.75,  # wrists among the lowest points: hands on the floor
        "elbows_above_shoulders": y("E") < y("S"),
        "elbows_below_shoulders": y("E") > y("S"),
        "knees_above_hips": y("K") < y("H"),
        "feet_above_hips": y("A") < y("H"),
        "knees_split": np.abs(p.side_y("K", 0) - p.side_y("K", 1)) > 0.25 * np.abs(y("A") - y("H")),
        "seated": (y("N") < y("S")) & (y("S") < y("H")) & thighs_level & (y("K") < y("A")),
        "legs_level": np.abs(y("A") - y("H")) < 0.5 * np.abs(y("S") - y("H")),
    }
    torso = y("H") - y("S")
    ratios = {
        "Wr": _ratio(y("W") - y("S"), torso),
        "Er": _ratio(y("E") - y("S"), torso),
        "Kr": _ratio(y("K") - y("H"), torso),
        "Ar": _ratio(y("A") - y("H"), torso),
        "Asp": np.clip(p.spread_x("A") / (p.spread_x("S") + p.spread_x("H") + 0.02), 0.0, 4.0),
    }
    bools = {k: np.asarray(v, dtype=bool) for k, v in cues.items()}
    return Facts(bools, np.array([ratios[k] for k in RATIOS]), window)


def _middle(block: Float64Array) -> Float64Array:
    """Per row, the middle value (a median without np.median's per-call overhead)."""
    out: Float64Array = np.sort(block, axis=1)[:, block.shape[1] // 2]
    return out


def _llr(share: float) -> float:
    return share * math.log(Q / 0.5) + (1.0 - share) * math.log((1.0 - Q) / 0.5)


def _gauss(value: float, expected: float, sigma: float) -> float:
    z = (value - expected) / sigma
    return 0.5 - min(0.5 * z * z, LEVEL_CLIP)


def rule_score(rules: Rules, facts: Facts, signal: Float64Array, *, rest_high: bool) -> float:
    """Log-likelihood-ratio score of one exercise's rules over a window (higher fits better)."""
    if rules.direction:  # split by the movement the exercise describes; high = towards the turn
        split = sum((w * facts.ratio(f) for f, w in rules.direction), np.zeros(len(signal)))
        rest_high = False
    else:
        split = signal
    ordered = np.sort(split)  # nearest-rank quantiles: np.percentile's overhead dwarfs 100 values
    last = len(ordered) - 1
    p5, lo, hi, p95 = (ordered[round(q * last)] for q in (0.05, SPLIT_QUANTILE, 1.0 - SPLIT_QUANTILE, 0.95))
    rest = split >= hi if rest_high else split <= lo
    turn = split <= lo if rest_high else split >= hi
    mid = 0.5 * (p5 + p95)
    total = DWELL_WEIGHT * (float(np.mean(split > mid if rest_high else split < mid)) - 0.5)
    masks = {"always": np.ones(len(split), dtype=bool), "rest": rest, "turn": turn}
    for cue in rules.cues:
        if cue.phase == "window":
            known = facts.window.get(cue.name)
            total += 0.0 if known is None else _llr(float(known == cue.expected))
            continue
        mask = masks[cue.phase]
        share = float(np.mean(facts.cues[cue.name][mask] == cue.expected)) if mask.any() else 0.5
        total += _llr(share)
    if not (rest.any() and turn.any()):
        return total
    at_rest, at_turn = _middle(facts.ratios[:, rest]), _middle(facts.ratios[:, turn])
    for lv in rules.levels:
        k = RATIOS.index(lv.feature)
        for expected, value in ((lv.rest, at_rest[k]), (lv.turn, at_turn[k])):
            if expected is not None:
                total += _gauss(float(value), expected, lv.sigma)
    for name in rules.still:
        k = RATIOS.index(name)
        total += _gauss(float(at_turn[k] - at_rest[k]), 0.0, LEVEL_SIGMA)
    return total


def _c(phase: Phase, name: str, expected: bool) -> Cue:
    return Cue(phase, name, expected)


_UP = (_c("always", "upright", True), _c("always", "horizontal", False), _c("always", "hands_lowest", False))
_LIE = (_c("always", "upright", False), _c("always", "horizontal", True))
_NO_OVERHEAD = _c("always", "hands_overhead", False)
# which end of the body the movement is anchored at (pixel input only; see placement.py)
_FEET, _HANDS = _c("window", "feet_anchored", True), _c("window", "hands_anchored", True)
_FREE_FEET, _FREE_HANDS = _c("window", "feet_anchored", False), _c("window", "hands_anchored", False)
_ON_FEET = (_FEET, _FREE_HANDS)  # standing: the feet stay, the hands move with the load
_L = Level
_ARMS_STILL_LEGS = ("Kr", "Asp")

RULES: dict[Exercise, Rules] = {
    Exercise.SQUAT: Rules(
        (*_UP, *_ON_FEET, _NO_OVERHEAD, _c("turn", "knees_split", False)),
        (_L("Kr", 0.75, 0.25), _L("Ar", 1.45, 0.95)),
        ("Wr", "Asp"),
    ),
    Exercise.LUNGE: Rules(
        (*_UP, *_ON_FEET, _NO_OVERHEAD, _c("turn", "knees_split", True)),
        (_L("Kr", 0.75, 0.3), _L("Ar", 1.45, 0.95)),
        ("Wr",),
    ),
    Exercise.DEADLIFT: Rules(
        (*_UP, *_ON_FEET, _NO_OVERHEAD), (_L("Wr", 2.0, 1.05, 0.5), _L("Kr", 0.5, 0.75), _L("Ar", 1.3, 1.45))
    ),
    Exercise.LEG_PRESS: Rules(
        (_c("always", "feet_above_hips", True), _c("always", "upright", False), _NO_OVERHEAD, _HANDS, _FREE_FEET)
    ),
    Exercise.BENCH_PRESS: Rules(
        (
            _c("always", "upright", False),
            _c("always", "hands_lowest", False),
            _c("rest", "hands_above_shoulders", True),
            _c("turn", "elbows_below_shoulders", True),
            _FEET,
            _FREE_HANDS,
        )
    ),
    Exercise.OVERHEAD_PRESS: Rules(
        (*_UP, *_ON_FEET, _c("rest", "hands_overhead", False), _c("turn", "hands_overhead", True)),
        (_L("Wr", -0.05, -1.05), _L("Er", 0.3, -0.45)),
        _ARMS_STILL_LEGS,
    ),
    Exercise.CHEST_PRESS: Rules(
        (_c("always", "seated", True), _NO_OVERHEAD, _c("always", "hands_below_hips", False), *_ON_FEET),
        (_L("Kr", 0.0, 0.0), _L("Ar", 0.9, 0.9), _L("Wr", 0.2, 0.2)),
    ),
    Exercise.PUSH_UP: Rules(
        (
            _c("always", "hands_lowest", True),
            _c("always", "horizontal", True),
            _c("always", "upright", False),
            _c("rest", "elbows_above_shoulders", False),
            _HANDS,
            _FEET,
        )
    ),
    Exercise.BARBELL_ROW: Rules(
        (*_UP, *_ON_FEET, _NO_OVERHEAD, _c("rest", "hands_below_hips", True)),
        (_L("Wr", 1.5, 0.8, 0.5), _L("Er", 0.7, 0.1, 0.4)),
        ("Kr",),
    ),
    Exercise.LAT_PULLDOWN: Rules(
        (_c("always", "seated", True), _c("rest", "hands_overhead", True), *_ON_FEET),
        (_L("Wr", -0.9, -0.1), _L("Er", -0.4, 0.3), _L("Kr", 0.0, 0.0), _L("Ar", 0.9, 0.9)),
    ),
    Exercise.SEATED_ROW: Rules(
        (_c("always", "legs_level", True), _NO_OVERHEAD, *_ON_FEET),
        (_L("Kr", -0.1, -0.1), _L("Ar", 0.0, 0.0), _L("Wr", 0.5, 0.5)),
    ),
    Exercise.PULL_UP: Rules(
        (*_UP, _c("always", "hands_above_shoulders", True), _HANDS, _FREE_FEET),
        (_L("Wr", -0.8, 0.0), _L("Er", -0.35, 0.3)),
        _ARMS_STILL_LEGS,
    ),
    Exercise.BICEPS_CURL: Rules(
        (*_UP, *_ON_FEET, _NO_OVERHEAD, _c("always", "elbows_above_shoulders", False)),
        (_L("Wr", 1.05, 0.15), _L("Er", 0.55, 0.5)),
        _ARMS_STILL_LEGS,
    ),
    Exercise.TRICEPS_PUSHDOWN: Rules(
        (*_UP, *_ON_FEET, _NO_OVERHEAD, _c("always", "elbows_above_shoulders", False)),
        (_L("Wr", 0.45, 1.05), _L("Er", 0.55, 0.55)),
        _ARMS_STILL_LEGS,
    ),
    Exercise.LEG_RAISE: Rules(
        (*_LIE, _c("rest", "feet_above_hips", False), _c("turn", "feet_above_hips", True), _HANDS, _FREE_FEET)
    ),
    Exercise.SITUP: Rules((*_LIE, _c("always", "knees_above_hips", True), _FEET, _FREE_HANDS)),
    Exercise.FRONT_RAISE: Rules(
        (*_UP, *_ON_FEET, _NO_OVERHEAD), (_L("Wr", 1.05, 0.0), _L("Er", 0.55, 0.0)), ("Kr", "Asp", "Ar")
    ),
    Exercise.JUMPING_JACK: Rules(
        (*_UP, _FREE_FEET, _FREE_HANDS), (_L("Wr", 1.0, -0.8), _L("Er", 0.55, -0.4), _L("Asp", 0.3, 1.3, 0.4))
    ),
    Exercise.DIPS: Rules((*_UP, _NO_OVERHEAD, _HANDS, _FREE_FEET), (_L("Wr", 1.0, 0.5), _L("Er", 0.5, 0.0))),
}
