"""The frame type every source yields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    Attributes:
        image: (h, w, 3) uint8, BGR as OpenCV decodes it.
        t_s: media time in seconds from the start of the source (frame index / fps for files,
            capture clock for live sources).
        wall_time_s: UNIX time at which the frame was captured (for files: the time the agent
            started reading plus ``t_s``).
        index: 0-based frame counter.
    """

    image: npt.NDArray[np.uint8]
    t_s: float
    wall_time_s: float
    index: int

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"frame {self.index}: expected (h, w, 3) uint8, got {self.image.shape} {self.image.dtype}")
