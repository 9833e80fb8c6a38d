"""Small image operations on ``(h, w)`` maps of the downscaled image: filters, boxes, components."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["median3", "box_sum", "box_average", "components", "reach", "dilate"]


def _image(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None, None]


def median3(values: np.ndarray) -> np.ndarray:
    """The 3x3 median of each pixel (edges replicated): a residual's single-pixel outliers removed."""
    height, width = values.shape
    padded = F.pad(_image(values), (1, 1, 1, 1), mode="replicate")
    windows = padded.unfold(2, 3, 1).unfold(3, 3, 1).reshape(height, width, 9)
    return windows.median(dim=-1).values.numpy()


def box_sum(values: np.ndarray, radius: int) -> np.ndarray:
    """Sum of ``values`` over the ``(2 radius + 1)``-square around each pixel, clipped at the edges.

    Differences of cumulative sums along each axis: the cost does not grow
    with the box, which reaches a tenth of the image for a large object's wings.
    """
    total = values.astype(np.float64)
    for axis in (0, 1):
        size = total.shape[axis]
        cumulative = np.concatenate([np.zeros_like(total.take([0], axis)), total.cumsum(axis)], axis)
        index = np.arange(size)
        upper = np.minimum(index + radius + 1, size)
        lower = np.maximum(index - radius, 0)
        total = cumulative.take(upper, axis) - cumulative.take(lower, axis)
    return total


def box_average(values: np.ndarray, valid: np.ndarray, size: int) -> np.ndarray:
    """Mean of the valid ``values`` in a ``size`` x ``size`` box (``size`` odd) around each pixel."""
    radius = size // 2
    count = box_sum(valid, radius)
    return (box_sum(np.where(valid, values, 0.0), radius) / np.maximum(count, 1e-6)).astype(np.float32)


def components(flags: np.ndarray) -> np.ndarray:
    """Connected components (8-neighbourhood) of ``flags``: each pixel's component number, -1 off it.

    Minimum-label propagation with pointer jumping (each label is a pixel's
    flat index, and a pixel takes its label's label), which converges in a
    few passes even for long, winding components. The 3x3 minimum is taken as
    two 1-D passes, over the flags' bounding box only.
    """
    result = np.full(flags.shape, -1, np.int32)
    rows, cols = np.nonzero(flags.any(axis=1))[0], np.nonzero(flags.any(axis=0))[0]
    if not len(rows):
        return result
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    inside_box = flags[box]
    height, width = inside_box.shape
    outside = height * width
    labels = np.where(inside_box, np.arange(outside, dtype=np.int32).reshape(height, width), outside)
    padded = np.full((height + 2, width + 2), outside, np.int32)
    while True:
        padded[1:-1, 1:-1] = labels
        across = np.minimum(np.minimum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
        smallest = np.minimum(np.minimum(across[:-2], across[1:-1]), across[2:])
        smallest = np.where(inside_box, smallest, outside)
        members = smallest[inside_box]
        smallest[inside_box] = np.append(smallest.ravel(), outside)[members]
        if np.array_equal(smallest, labels):
            result[box] = np.where(inside_box, labels, -1)
            return result
        labels = smallest


def reach(start: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Pixels of ``allowed`` connected (8-neighbourhood) to ``start``."""
    labels = components(allowed)
    touched = np.unique(labels[start & allowed])
    return allowed & np.isin(labels, touched)


def dilate(flags: np.ndarray, radius: int) -> np.ndarray:
    """Square dilation: pixels with a flagged pixel within ``radius`` along both axes."""
    if radius <= 0:
        return flags
    return box_sum(flags, radius) > 0.5
