"""Images as the engine computes on them: float32, channels first. At the file-format edges and for the API's
callers alike, and free of the engine's own imports (Siril's plugin checks an image while torch still loads)."""

from __future__ import annotations

import numpy as np

from ..errors import InputImageError

__all__ = ["as_planar", "as_float32"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_planar(image: np.ndarray, name: str = "the image") -> np.ndarray:
    """Check an image and return it as float32 ``(C, H, W)`` with C = 1 or 3 (``name`` says which)."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[0] not in (1, 3):
        raise InputImageError(f"{name} has shape {array.shape}; expected (H, W) or (C, H, W) with C = 1 or 3")
    if array.dtype.kind not in "fiu":
        raise InputImageError(f"{name} has pixels of type {array.dtype}; expected numbers")
    array = as_float32(array, name)
    if np.isinf(array).any():
        count = int(np.isinf(array).sum())
        raise InputImageError(f"{name} has {count} infinite pixel{'s' * (count != 1)}; repair or clip them first")
    return array


def as_float32(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` as float32, refusing finite values beyond float32's range (a cast would make them
    infinite, and the image would be blamed for infinities it does not have)."""
    if array.dtype.kind == "f" and array.dtype.itemsize > 4:
        with np.errstate(invalid="ignore"):
            peak = float(np.nanmax(np.abs(array), initial=0.0, where=np.isfinite(array)))
        if peak > _FLOAT32_MAX:
            raise InputImageError(f"{name} has pixel values up to {peak:.3g}, beyond the 32-bit float range "
                                  "(3.4e38) this tool computes in; rescale the image first")
    return array.astype(np.float32, copy=False)
