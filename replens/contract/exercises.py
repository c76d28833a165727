"""Exercise profile names: snake_case identifiers used in config, CLI, events and InfluxDB tags."""

from __future__ import annotations

from enum import StrEnum


class Exercise(StrEnum):
    """Every exercise RepLens knows by name; ``auto`` needs no name."""

    SQUAT = "squat"
    BENCH_PRESS = "bench_press"
    DEADLIFT = "deadlift"
    OVERHEAD_PRESS = "overhead_press"
    BARBELL_ROW = "barbell_row"
    LAT_PULLDOWN = "lat_pulldown"
    CHEST_PRESS = "chest_press"
    SEATED_ROW = "seated_row"
    LEG_PRESS = "leg_press"
    PULL_UP = "pull_up"
    PUSH_UP = "push_up"
    SITUP = "situp"
    FRONT_RAISE = "front_raise"
    JUMPING_JACK = "jumping_jack"
    LUNGE = "lunge"
    LEG_RAISE = "leg_raise"
    BICEPS_CURL = "biceps_curl"
    TRICEPS_PUSHDOWN = "triceps_pushdown"
    DIPS = "dips"
    AUTO = "auto"


BARBELL_LIFTS = frozenset({Exercise.SQUAT, Exercise.BENCH_PRESS, Exercise.DEADLIFT, Exercise.OVERHEAD_PRESS,
                           Exercise.BARBELL_ROW})
"""Lifts a barbell station can tell apart from the bar's path alone (rest side and range of motion)."""
