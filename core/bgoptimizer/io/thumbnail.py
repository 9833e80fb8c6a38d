"""An XISF file's thumbnail, made from the image written (the input's would show the image uncorrected).

Rows arrive in bands in any order (the writer streams the image), so each
band is averaged into the thumbnail's blocks as it comes; the screen stretch
(linked, median to a quarter, as an autostretch shows a linear image) is
applied once the image is complete.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Thumbnail"]

# The longer side of a thumbnail at most (PixInsight's are 400 pixels or less).
_LONGEST = 400
# The stretch: black point this many MADs below the median, white at this quantile, median to this level.
_SHADOWS_MADS, _WHITE_QUANTILE, _MEDIAN_LEVEL = 2.8, 0.999, 0.25


class Thumbnail:
    """Block averages of a ``(C, H, W)`` image in FITS row order; missing pixels (0, NaN) left out."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        channels, height, width = shape
        self.factor = max(1, -(-max(height, width) // _LONGEST))
        self.height, self.width = -(-height // self.factor), -(-width // self.factor)
        self._sums = np.zeros((channels, self.height, self.width))
        self._counts = np.zeros((channels, self.height, self.width))
        self._full_width = width

    @property
    def geometry(self) -> tuple[int, int, int]:
        """XISF's ``width:height:channels``."""
        return self.width, self.height, len(self._sums)

    def add(self, top: int, rows: np.ndarray) -> None:
        """Take ``(C, n, W)`` rows starting at row ``top``."""
        present = np.isfinite(rows) & (rows != 0)
        values = np.where(present, rows, 0.0).astype(np.float64)
        blocks = (top + np.arange(rows.shape[1])) // self.factor
        row_starts = np.flatnonzero(np.diff(blocks, prepend=-1))  # where each block's rows begin in the band
        column_starts = np.arange(0, self._full_width, self.factor)
        for target, source in ((self._sums, values), (self._counts, present.astype(np.float64))):
            reduced = np.add.reduceat(np.add.reduceat(source, column_starts, axis=2), row_starts, axis=1)
            target[:, blocks[row_starts]] += reduced

    def pixels(self) -> bytes:
        """8-bit samples, planar, top row first (XISF's order), linked-stretched for the screen."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(self._counts > 0, self._sums / self._counts, np.nan)
        present = mean[np.isfinite(mean)]
        if present.size == 0:
            return bytes(mean.size)
        median = float(np.median(present))
        black = max(float(present.min()), median - _SHADOWS_MADS * 1.4826 * float(np.median(np.abs(present - median))))
        white = float(np.quantile(present, _WHITE_QUANTILE))
        span = white - black if white > black else 1.0
        scaled = np.clip((np.nan_to_num(mean, nan=black) - black) / span, 0.0, 1.0)
        level = min(max((median - black) / span, 1e-6), 1 - 1e-6)
        # The midtones transfer that takes the median to _MEDIAN_LEVEL.
        balance = level * (_MEDIAN_LEVEL - 1) / (2 * _MEDIAN_LEVEL * level - _MEDIAN_LEVEL - level)
        shown = (balance - 1) * scaled / ((2 * balance - 1) * scaled - balance)
        return np.ascontiguousarray((np.clip(shown, 0, 1) * 255 + 0.5).astype(np.uint8)[:, ::-1]).tobytes()
