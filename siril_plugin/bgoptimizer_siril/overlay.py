"""Siril's image overlay: the areas the user draws there to exclude, and the outlines of the objects
the fit keeps out on its own.

Overlay points are Siril's display coordinates: x to the right and y down
from the top edge of the displayed image, pixel edges at whole numbers. The
engine takes FITS order (row 0 first, which Siril displays at the bottom) with
pixel centres at whole numbers, so rows flip here and only here.
"""

from __future__ import annotations

import numpy as np
import sirilpy as s

__all__ = ["AREA_COLOR", "OBJECT_COLOR", "drawn_areas", "count_areas", "start_drawing", "clear_areas",
           "show_objects", "clear_objects", "describe_areas"]

AREA_COLOR = 0xFF8000C0  # RGBA: the orange of the areas the user draws for us
OBJECT_COLOR = 0xE0303090  # RGBA: red, translucent; how our own outlines are told from the user's areas


def _polygons(siril) -> list:
    return list(siril.overlay_get_polygons_list() or [])


def _users(siril) -> list:
    """The user's polygons in Siril's overlay: every one but our object outlines."""
    return [polygon for polygon in _polygons(siril) if polygon.color != OBJECT_COLOR]


def drawn_areas(siril, height: int) -> list[np.ndarray]:
    """The user's polygons as the engine's ``(N, 2)`` full-resolution ``(x, y)`` vertices of an image
    ``height`` rows high."""
    return [np.array([(point.x - 0.5, height - 0.5 - point.y) for point in polygon.points], np.float64)
            for polygon in _users(siril)]


def count_areas(siril) -> int:
    return len(_users(siril))


def describe_areas(count: int) -> str:
    """How a run's HISTORY and log name the drawn areas."""
    return f"{count} area{'s' * (count != 1)} drawn in Siril"


def start_drawing(siril) -> None:
    """Let the user draw one area on the image in Siril's window (press, drag around it, release)."""
    siril.overlay_draw_polygon(color=AREA_COLOR, fill=False)


def clear_areas(siril) -> int:
    """Remove the user's areas (not our object outlines); how many were removed."""
    areas = _users(siril)
    for polygon in areas:
        siril.overlay_delete_polygon(polygon.polygon_id)
    return len(areas)


def clear_objects(siril) -> None:
    for polygon in _polygons(siril):
        if polygon.color == OBJECT_COLOR:
            siril.overlay_delete_polygon(polygon.polygon_id)


def show_objects(siril, objects: np.ndarray, factor: int, shape: tuple[int, int]) -> int:
    """Outline each object of the ``(h, w)`` downscaled map in Siril's view (see
    :func:`~bgoptimizer.object_outlines`), replacing the outlines shown before. How many are shown."""
    clear_objects(siril)
    from bgoptimizer import object_outlines  # the engine, loaded by the Preview that found the objects

    outlines = object_outlines(objects, factor, shape)
    for outline in outlines:
        points = [s.FPoint(float(x), float(shape[0] - y)) for x, y in outline]  # rows flipped for display
        siril.overlay_add_polygon(s.Polygon(points=points, color=OBJECT_COLOR, fill=False))
    return len(outlines)
