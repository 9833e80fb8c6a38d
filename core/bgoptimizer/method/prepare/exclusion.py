"""Areas the user keeps out of the fit, drawn as polygons: a nebula larger than detection sees, a
landscape, a satellite trail.

They act on the downscaled grid the spline is fitted to, not on full-resolution
pixels: the fit never sees finer detail, and the grid is small enough to
measure each sample's distance to every edge exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import MaskError
from .grid import Grid

__all__ = ["EDGE_SOFTNESS", "check_polygons", "area_weights"]

# Downscaled pixels over which a sample's weight rises from 0 at an area's edge to 1: a hand-drawn
# outline is only roughly where the object ends, and a hard cut would leave its wing half in the fit.
EDGE_SOFTNESS = 2.0


def check_polygons(polygons: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The areas as ``(N, 2)`` float64 vertex arrays, refused with the area's number when one is no area."""
    checked = []
    for number, polygon in enumerate(polygons, 1):
        vertices = np.asarray(polygon, np.float64)
        if vertices.ndim != 2 or vertices.shape[1] != 2:
            raise MaskError(f"exclusion area {number}: vertices must be (x, y) pairs; got shape {vertices.shape}")
        if len(vertices) < 3:
            raise MaskError(f"exclusion area {number}: {len(vertices)} vertices do not enclose an area (3 at least)")
        if not np.isfinite(vertices).all():
            raise MaskError(f"exclusion area {number}: a vertex is not a finite number")
        checked.append(vertices)
    return checked


def area_weights(polygons: Sequence[np.ndarray], grid: Grid, softness: float = EDGE_SOFTNESS) -> np.ndarray:
    """Weights ``(h, w)`` of the downscaled pixels: 0 inside any area, rising linearly to 1 at
    ``softness`` downscaled pixels outside it.

    Vertices are full-resolution ``(x, y)``: column and row in FITS order
    (row 0 first), pixel centres at whole numbers; a block of ``factor``
    pixels is represented by its centre.
    """
    height, width = grid.blocks
    ramp = max(softness * grid.factor, 1e-9)
    weights = np.ones((height, width), np.float32)
    for vertices in check_polygons(polygons):
        # Only the blocks within reach of the area change: its bounding box widened by the ramp.
        low = np.floor(grid.block_of_fits(vertices.min(axis=0) - ramp)).astype(int)
        high = np.ceil(grid.block_of_fits(vertices.max(axis=0) + ramp)).astype(int) + 1
        left, top = max(low[0], 0), max(low[1], 0)
        right, bottom = min(high[0], width), min(high[1], height)
        if left >= right or top >= bottom:
            continue
        y = grid.fits_centre_of_block(np.arange(top, bottom, dtype=np.float64))[:, None]
        x = grid.fits_centre_of_block(np.arange(left, right, dtype=np.float64))[None, :]
        inside = np.zeros((bottom - top, right - left), bool)
        nearest = np.full(inside.shape, np.inf)
        for (x1, y1), (x2, y2) in zip(vertices, np.roll(vertices, -1, axis=0)):
            crosses = (y1 > y) != (y2 > y)  # even-odd rule: a ray to +x crosses this edge
            with np.errstate(divide="ignore", invalid="ignore"):
                at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            inside ^= crosses & (x < at)
            nearest = np.minimum(nearest, _segment_distance(x, y, x1, y1, x2, y2))
        area = np.where(inside, 0.0, np.clip(nearest / ramp, 0.0, 1.0))
        window = weights[top:bottom, left:right]
        np.minimum(window, area, out=window, casting="unsafe")
    return weights


def _segment_distance(x: np.ndarray, y: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    dx, dy = x2 - x1, y2 - y1
    length = dx * dx + dy * dy
    t = np.clip(((x - x1) * dx + (y - y1) * dy) / length, 0.0, 1.0) if length > 0 else 0.0
    return np.hypot(x - (x1 + t * dx), y - (y1 + t * dy))
