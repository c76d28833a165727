"""Loads on the wire and in the config: kilograms always, pounds only where a person types or reads them."""

from __future__ import annotations

import math
from enum import StrEnum

KG_PER_LB = 0.45359237
"""Exact, by the international yard and pound agreement (1959)."""
MAX_LOAD_KG = 2000.0
"""Above any lift a gym sees (the heaviest recorded lifts are near 500 kg): a larger figure is a typo."""


class LoadUnit(StrEnum):
    """The unit a person enters or reads a load in; RepLens stores kilograms."""

    KG = "kg"
    LB = "lb"


def to_kg(value: float, unit: LoadUnit) -> float:
    """``value`` in ``unit`` as kilograms (rounded to the gram)."""
    return round(value * KG_PER_LB, 3) if unit is LoadUnit.LB else float(value)


def from_kg(kg: float, unit: LoadUnit) -> float:
    """Kilograms shown in ``unit`` (rounded to 0.1 lb: the finest plate is 1.25 lb)."""
    return round(kg / KG_PER_LB, 1) if unit is LoadUnit.LB else kg


def checked_load_kg(value: float, unit: LoadUnit, field: str = "load") -> float:
    """``value`` in ``unit`` as kilograms; ValueError naming ``field`` when negative or absurd."""
    if math.isnan(value) or value < 0:
        raise ValueError(f"{field}: a load cannot be negative (got {value} {unit})")
    kg = to_kg(value, unit)
    if kg > MAX_LOAD_KG:
        raise ValueError(f"{field}: {value} {unit} is more than {MAX_LOAD_KG:.0f} kg, which no lift weighs; a typo?")
    return kg


def shown_load(kg: float, unit: LoadUnit, digits: int | None = 1) -> str:
    """``kg`` as a person reads it in ``unit``: ``"80.0 kg"``, ``"176.4 lb"`` (``digits`` after the point).

    ``digits=None``: as few as the value needs (``"60 kg"``, ``"132.3 lb"``), as a load is typed in.
    """
    if digits is None:
        return f"{from_kg(kg, unit):g} {unit}"
    return f"{from_kg(kg, unit):,.{digits}f} {unit}"
