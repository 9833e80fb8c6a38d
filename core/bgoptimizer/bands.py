"""Full-resolution images handed over in bands of rows, so that no stage holds a second whole image."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["BandSink"]

# ``sink(top, rows)`` takes the rows ``(C, n, W)`` float32 that start at row ``top`` (FITS order).
BandSink = Callable[[int, np.ndarray], None]
