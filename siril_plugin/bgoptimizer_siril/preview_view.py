"""The preview's pixels, drawn for Tk: control points and object outlines marked, smooth scaling to the
area, and the PPM bytes Tk's photo image reads (no imaging library needed). Pure numpy: testable without
a display."""

from __future__ import annotations

import numpy as np

__all__ = ["VIEWS", "BEFORE", "AFTER", "ppm", "marked", "scaled_to"]

# What the preview can show, all computed by one Preview.
VIEWS = ("What the fit sees (dimmed: not background)", "Objects (red) and control points (yellow)",
         "Background model", "Corrected image", "Input image")
BEFORE, AFTER = VIEWS[4], VIEWS[3]  # what the before/after button switches between


def ppm(pixels: np.ndarray) -> bytes:
    """``(H, W, C)`` uint8 as binary PGM/PPM, which Tk's photo image reads without any imaging library."""
    height, width, channels = pixels.shape
    magic = b"P6" if channels == 3 else b"P5"
    return magic + f" {width} {height} 255\n".encode() + pixels.tobytes()


def marked(shown: np.ndarray, objects: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The image with the objects' outlines in red and the control points as yellow crosses."""
    marked = np.repeat(shown, 3, axis=0) if shown.shape[0] == 1 else shown.copy()
    inside = np.pad(objects, 1, mode="edge")
    edge = objects & ~(inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2] & inside[1:-1, 2:])
    marked[:, edge] = np.array([1.0, 0.2, 0.2])[:, None]
    height, width = objects.shape
    for x, y in np.rint(points).astype(int):
        for dx, dy in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
            if 0 <= x + dx < width and 0 <= y + dy < height:
                marked[:, y + dy, x + dx] = (1.0, 0.9, 0.1)
    return marked


def scaled_to(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(h, w, C)`` resized smoothly (bilinear, pixel centres aligned) to fill ``width`` x ``height`` with its
    aspect kept: a 90x60 preview drawn 480 px wide shows no blocks."""
    factor = min(width / pixels.shape[1], height / pixels.shape[0])
    size = (max(1, int(pixels.shape[0] * factor)), max(1, int(pixels.shape[1] * factor)))
    image = pixels.astype(np.float32)
    for axis, count in enumerate(size):
        position = np.clip((np.arange(count) + 0.5) / factor - 0.5, 0, pixels.shape[axis] - 1)
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, pixels.shape[axis] - 1)
        weight = (position - low).reshape((-1, 1, 1) if axis == 0 else (1, -1, 1))
        image = np.take(image, low, axis=axis) * (1 - weight) + np.take(image, high, axis=axis) * weight
    return np.ascontiguousarray(np.clip(image + 0.5, 0, 255).astype(np.uint8))
