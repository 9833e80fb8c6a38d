"""The in-memory form of an image file: planar float32 pixels plus metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

__all__ = ["ImageFile", "to_unit_range"]

# Divisors that bring integer samples to [0, 1], as Siril does on load.
_INTEGER_RANGE = {
    np.dtype(np.uint8): 255.0,
    np.dtype(np.uint16): 65535.0,
    np.dtype(np.uint32): 4294967295.0,
    np.dtype(np.int8): 127.0,
    np.dtype(np.int16): 32767.0,
    np.dtype(np.int32): 2147483647.0,
}


@dataclass
class ImageFile:
    """Pixels ``(C, H, W)`` float32 in FITS row order (bottom row first) and the file's metadata."""

    data: np.ndarray
    header: fits.Header = field(default_factory=fits.Header)  # FITS keywords
    properties: dict[str, Any] = field(default_factory=dict)  # XISF properties, if any
    format: str = "fits"
    path: Path | None = None


def to_unit_range(samples: np.ndarray, source: str, reuse: bool = False) -> np.ndarray:
    """Integer samples scaled to [0, 1]; floats unchanged; always native float32.

    With ``reuse`` the caller hands ``samples`` over: big-endian float32 (FITS)
    is then byte-swapped in place instead of copied, so reading costs one
    image of memory, not two.
    """
    from ..errors import FileFormatError
    from ..preparation import as_float32

    dtype = samples.dtype.newbyteorder("=")
    if dtype.kind == "f":
        if reuse and dtype == np.float32 and not samples.dtype.isnative and samples.flags.writeable:
            return samples.byteswap(inplace=True).view(dtype)
        return as_float32(samples, source)
    if dtype not in _INTEGER_RANGE:
        raise FileFormatError(f"{source}: unsupported sample type {samples.dtype}")
    scaled = samples.astype(np.float32)
    scaled /= np.float32(_INTEGER_RANGE[dtype])
    return scaled
