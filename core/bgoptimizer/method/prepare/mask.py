"""Which downscaled pixels are background: missing values, thresholds, user masks.

Masks are float32 weights in [0, 1] of shape ``(1, h, w)`` (one mask for every
channel) or ``(C, h, w)`` (one per channel); 0 means "not background".
"""

from __future__ import annotations

import numpy as np

from ...errors import MaskError
from .downscale import block_reduce

__all__ = ["is_present", "missing_to_nan", "threshold_mask", "reduce_user_mask"]


def is_present(image: np.ndarray) -> np.ndarray:
    """Where ``image`` holds data: not exactly 0 (registration borders, dead areas) and not NaN.

    Exactly 0, not "near" 0: no tolerance fits every unit (a frame in physical flux units,
    ~1e-17, is all "near" 0), and a registration's empty border is exactly 0.
    """
    return (image != 0) & ~np.isnan(image)


def missing_to_nan(image: np.ndarray) -> np.ndarray:
    """A float32 copy of ``image`` with missing pixels (exactly 0) set to NaN."""
    result = np.array(image, dtype=np.float32, copy=True)
    result[result == 0] = np.nan
    return result


def threshold_mask(stretched_ds: np.ndarray, low: float, high: float) -> np.ndarray:
    """1 where every channel of the stretched, downscaled pixel lies in ``[low, high]``.

    One channel out of range (a star saturated in red only) excludes the pixel
    for all channels, so the color-balance term never compares a masked
    channel with unmasked ones.
    """
    with np.errstate(invalid="ignore"):
        inside = (stretched_ds >= low) & (stretched_ds <= high)
    return inside.all(axis=0, keepdims=True).astype(np.float32)


def reduce_user_mask(mask: np.ndarray, image_shape: tuple[int, int, int], factor: int, func: str) -> np.ndarray:
    """Check a full-resolution user mask against the image and downscale it like the image.

    ``mask`` is ``(1, H, W)`` or ``(C, H, W)`` with values in [0, 1]; a
    one-channel mask applies to every channel of a color image.
    """
    channels, height, width = image_shape
    if mask.ndim == 2:
        mask = mask[None]
    if mask.ndim != 3 or mask.shape[1:] != (height, width):
        raise MaskError(
            f"{{mask}}: size {mask.shape[-1]}x{mask.shape[-2]} does not match "
            f"the image's {width}x{height}", "mask"
        )
    if mask.shape[0] not in (1, channels):
        raise MaskError(
            f"{{mask}}: {mask.shape[0]} channels cannot apply to a {channels}-channel image", "mask"
        )
    finite = np.where(np.isfinite(mask), mask, 0.0).astype(np.float32)
    if finite.min() < 0.0 or finite.max() > 1.0:
        raise MaskError(f"{{mask}}: values must lie in [0, 1] (got {finite.min():g} to {finite.max():g})", "mask")
    reduced = block_reduce(finite, factor, func)
    return np.nan_to_num(reduced, nan=0.0)
