"""Outlines of the objects a fit kept out, for a front end to draw over the image."""

from __future__ import annotations

import numpy as np

from ..prepare.grid import Grid
from .morphology import components

__all__ = ["object_outlines", "convex_hull"]


def object_outlines(objects: np.ndarray, factor: int, shape: tuple[int, int], smallest: int = 4) -> list[np.ndarray]:
    """The convex hull of each object of the ``(h, w)`` downscaled map, as ``(N, 2)`` full-resolution
    ``(x, y)`` pixel-edge coordinates (row 0 first, as in FITS; clipped to the ``(H, W)`` image), whole
    blocks of ``factor`` pixels; objects under ``smallest`` blocks are left out."""
    height, width = shape
    grid = Grid(height, width, factor)
    labels = components(objects)
    outlines = []
    for label in np.unique(labels[labels >= 0]):
        rows, cols = np.nonzero(labels == label)
        if len(rows) < smallest:
            continue
        x = grid.pixel_edges_of_block_edges(np.concatenate([cols, cols + 1, cols, cols + 1]), width)
        y = grid.pixel_edges_of_block_edges(np.concatenate([rows, rows, rows + 1, rows + 1]), height)
        outlines.append(convex_hull(np.unique(np.c_[x, y], axis=0).astype(np.float64)))
    return outlines


def convex_hull(points: np.ndarray) -> np.ndarray:
    """The hull's vertices in order (Andrew's monotone chain) of distinct ``(N, 2)`` points."""
    ordered = sorted(map(tuple, points))
    if len(ordered) < 3:
        return np.array(ordered)

    def half(sequence: list[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for point in sequence:
            while len(chain) >= 2 and _turn(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain[:-1]

    return np.array(half(ordered) + half(ordered[::-1]))


def _turn(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
