"""The numpy array types RepLens passes around: one name per dtype, defined once.

float32 is what images, networks and embeddings give (pixels, landmarks, scores, descriptors);
float64 is for signals and fits, where sums over many samples must not lose precision.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
