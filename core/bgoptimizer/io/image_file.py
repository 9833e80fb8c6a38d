"""The in-memory form of an image file: planar float32 pixels plus metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from .arrays import as_float32

__all__ = ["ImageFile", "to_unit_range", "to_samples", "kept_type", "FLOAT32"]

FLOAT32 = np.dtype(np.float32)  # what outputs are written as unless the input's integers are kept

# (offset, divisor) that bring integer samples to [0, 1], as Siril does on load: unsigned by their
# largest value. FITS has no signed bytes: int8 is BITPIX 8 with BZERO -128, bytes shifted by 128, so
# shifted back they span 0..255 like any byte. Signed 16/32-bit samples keep their sign (bias-subtracted
# data are negative where they are) and are divided by their largest value.
_INTEGER_RANGE = {
    np.dtype(np.uint8): (0.0, 255.0),
    np.dtype(np.uint16): (0.0, 65535.0),
    np.dtype(np.uint32): (0.0, 4294967295.0),
    np.dtype(np.int8): (128.0, 255.0),
    np.dtype(np.int16): (0.0, 32767.0),
    np.dtype(np.int32): (0.0, 2147483647.0),
}


@dataclass
class ImageFile:
    """Pixels ``(C, H, W)`` float32 in FITS row order (bottom row first) and the file's metadata."""

    data: np.ndarray
    header: fits.Header = field(default_factory=fits.Header)  # FITS keywords
    properties: dict[str, Any] = field(default_factory=dict)  # XISF properties, if any
    format: str = "fits"
    path: Path | None = None
    sample_type: np.dtype = FLOAT32  # how the file stored its samples (uint16 for BZERO-scaled 16-bit FITS)


def to_unit_range(samples: np.ndarray, source: str, reuse: bool = False) -> np.ndarray:
    """Integer samples scaled to [0, 1] (signed 16/32-bit ones to [-1, 1]); floats unchanged; always
    native float32.

    With ``reuse`` the caller hands ``samples`` over: big-endian float32 (FITS)
    is then byte-swapped in place instead of copied, so reading costs one
    image of memory, not two.
    """
    from ..errors import FileFormatError

    dtype = samples.dtype.newbyteorder("=")
    if dtype.kind == "f":
        if reuse and dtype == np.float32 and not samples.dtype.isnative and samples.flags.writeable:
            return samples.byteswap(inplace=True).view(dtype)
        return as_float32(samples, source)
    if dtype not in _INTEGER_RANGE:
        raise FileFormatError(f"{source}: unsupported sample type {samples.dtype}")
    offset, divisor = _INTEGER_RANGE[dtype]
    scaled = samples.astype(np.float32)
    if offset:
        scaled += np.float32(offset)
    scaled /= np.float32(divisor)
    return scaled


def kept_type(stored: np.dtype) -> np.dtype:
    """The sample type an output can keep of a file's ``stored`` one: its integers, else float32."""
    stored = np.dtype(stored).newbyteorder("=")
    return stored if stored in _INTEGER_RANGE else FLOAT32


def to_samples(data: np.ndarray, sample_type: np.dtype) -> np.ndarray:
    """Values as ``sample_type`` stores them: float32 as they are; integers as :func:`to_unit_range` read
    them, inverted, rounded and clipped to the type's range."""
    sample_type = np.dtype(sample_type)
    if sample_type.kind == "f":
        return data.astype(np.float32, copy=False)
    offset, divisor = _INTEGER_RANGE[sample_type]
    limits = np.iinfo(sample_type)
    return np.clip(np.rint(data.astype(np.float64) * divisor - offset), limits.min, limits.max).astype(sample_type)
