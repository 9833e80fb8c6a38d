"""NaN-aware block reduction (downscaling by an integer factor).

Missing pixels are NaN and are ignored by the block statistic; a block with
no valid pixel gives NaN. Partial blocks at the right and top edges are kept
(padded with NaN), so no image border is lost.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

__all__ = ["block_reduce", "block_centers", "reduced_size"]


def reduced_size(length: int, factor: int) -> int:
    return -(-length // factor)


def block_centers(length: int, factor: int) -> np.ndarray:
    """Centers of the blocks along one axis, in pixel-edge coordinates (pixel i spans [i, i+1))."""
    starts = np.arange(0, length, factor, dtype=np.float64)
    ends = np.minimum(starts + factor, length)
    return (starts + ends) / 2.0


def block_reduce(image: np.ndarray, factor: int, func: str = "median") -> np.ndarray:
    """Reduce a ``(C, H, W)`` float image by ``factor`` with a NaN-ignoring median or mean.

    Returns a ``(C, ceil(H / factor), ceil(W / factor))`` float32 array.
    """
    if func not in ("median", "mean"):
        raise ParameterError(f"downscale_func must be 'median' or 'mean'; got {func!r}")
    if factor == 1:
        return image.astype(np.float32, copy=True)
    channels, height, width = image.shape
    rows, cols = reduced_size(height, factor), reduced_size(width, factor)
    padded = np.full((channels, rows * factor, cols * factor), np.nan, dtype=np.float32)
    padded[:, :height, :width] = image
    blocks = padded.reshape(channels, rows, factor, cols, factor).transpose(0, 1, 3, 2, 4)
    blocks = blocks.reshape(channels, rows, cols, factor * factor)
    valid = np.isfinite(blocks)
    count = valid.sum(axis=-1)
    empty = count == 0
    if func == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            result = np.where(valid, blocks, 0.0).sum(axis=-1) / count
    else:
        ordered = np.sort(blocks, axis=-1)  # NaN sorts last
        low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[..., None], -1)[..., 0]
        high = np.take_along_axis(ordered, (count // 2)[..., None] - empty[..., None], -1)[..., 0]
        result = (low + high) / 2.0
    result[empty] = np.nan
    return result.astype(np.float32, copy=False)
