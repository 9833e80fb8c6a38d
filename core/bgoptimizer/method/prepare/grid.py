"""The coordinates the method works in, and every conversion between them, in one place.

- pixels: full resolution, pixel ``i`` spans ``[i, i + 1)`` (pixel-edge
  coordinates; its centre is ``i + 0.5``), rows in FITS order;
- FITS pixel centres: the same with centres at whole numbers (the user's
  exclusion areas);
- blocks: the downscaled image, block ``b`` covering pixels ``[b f, (b + 1) f)``
  for a downscale factor ``f``, a block's centre at whole ``b``;
- spline units: pixel-edge coordinates over the image's longer side, so the
  image spans ``[0, width / length) x [0, height / length)``.

Arrays and torch tensors alike go through these (the same operations in the
same order, so results do not depend on where a conversion is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .downscale import block_centers, reduced_size

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """An image's pixel grid, its blocks of ``factor`` pixels, and the spline's coordinates over them."""

    height: int
    width: int
    factor: int

    @property
    def length(self) -> float:
        """The unit of the spline's coordinates: the image's longer side in pixels."""
        return float(max(self.height, self.width))

    @property
    def blocks(self) -> tuple[int, int]:
        """The downscaled image's rows and columns."""
        return reduced_size(self.height, self.factor), reduced_size(self.width, self.factor)

    @property
    def extent(self) -> tuple[float, float]:
        """The image's width and height in spline units."""
        return self.width / self.length, self.height / self.length

    def spline_of_pixel_centres(self, index: Any) -> Any:
        """Pixel indices (array or tensor) -> spline coordinates of their centres."""
        return (index + 0.5) / self.length

    def spline_of_edges(self, position: Any) -> Any:
        """Pixel-edge coordinates -> spline coordinates."""
        return position / self.length

    def block_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Spline coordinates of the blocks' centres: columns, rows (a cut-off last block's own centre)."""
        return (self.spline_of_edges(block_centers(self.width, self.factor)),
                self.spline_of_edges(block_centers(self.height, self.factor)))

    def blocks_of_spline(self, position: np.ndarray) -> np.ndarray:
        """Spline coordinates -> block coordinates (a block's centre at a whole number)."""
        return position * self.length / self.factor - 0.5

    def block_index(self, position: np.ndarray, blocks: int) -> np.ndarray:
        """Spline coordinates -> the index of the block they fall in, along an axis of ``blocks`` blocks."""
        return np.clip((position * self.length / self.factor).astype(int), 0, blocks - 1)

    def fits_centre_of_block(self, index: np.ndarray) -> np.ndarray:
        """Block indices -> the FITS pixel-centre coordinate of the block's centre."""
        return index * self.factor + (self.factor - 1) / 2.0

    def block_of_fits(self, position: np.ndarray) -> np.ndarray:
        """FITS pixel-centre coordinates -> block coordinates (inverse of :meth:`fits_centre_of_block`)."""
        return (position - (self.factor - 1) / 2.0) / self.factor

    def pixel_edges_of_block_edges(self, edge: np.ndarray, size: int) -> np.ndarray:
        """Block-edge indices -> pixel-edge coordinates, clipped to an axis of ``size`` pixels."""
        return np.clip(edge * self.factor, 0, size)
