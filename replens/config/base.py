"""The strict base every config section inherits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (with a did-you-mean), so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)
