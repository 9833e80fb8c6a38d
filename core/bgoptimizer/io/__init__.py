"""Image files in and out: FITS and XISF as ``(C, H, W)`` float32 plus metadata."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from .atomic import OutputFiles, atomic_write, check_output_dir
from .bands import BandSink
from .fits_io import FITS_EXTENSIONS, fits_band_writer, read_fits, write_fits
from .image_file import FLOAT32, ImageFile, to_unit_range
from .png import to_display, write_png
from .xisf_io import read_xisf, write_xisf, xisf_band_writer, xisf_sample_format

__all__ = [
    "ImageFile",
    "read_image",
    "read_header",
    "write_image",
    "fits_band_writer",
    "image_band_writer",
    "BandSink",
    "write_png",
    "to_display",
    "to_unit_range",
    "image_format",
    "output_sample_type",
    "extension_for",
    "atomic_write",
    "OutputFiles",
    "check_output_dir",
]


def image_format(path: str | Path) -> str:
    """``fits`` or ``xisf`` from the file name, or a `FileFormatError` naming it."""
    suffix = Path(path).suffix.lower()
    if suffix in FITS_EXTENSIONS:
        return "fits"
    if suffix == ".xisf":
        return "xisf"
    raise FileFormatError(f"{path}: unsupported file type {suffix or '(none)'!r}; use FITS (.fit, .fits, .fts) or .xisf")


def extension_for(fmt: str, source: str | Path | None = None) -> str:
    """The output extension: the source's own when it is of that format."""
    if source is not None and image_format(source) == fmt:
        return Path(source).suffix
    return ".fits" if fmt == "fits" else ".xisf"


def output_sample_type(path: str | Path, source: ImageFile, keep_bit_depth: bool) -> np.dtype:
    """How ``path`` stores the corrected ``source``: float32, or with ``keep_bit_depth`` the source's
    integers (refused for signed ones in XISF, which has none)."""
    if not keep_bit_depth:
        return FLOAT32
    if image_format(path) == "xisf":
        xisf_sample_format(source.sample_type)
    return source.sample_type


def read_image(path: str | Path) -> ImageFile:
    """Read a FITS or XISF image as ``(C, H, W)`` float32, rows in FITS order."""
    path = Path(path)
    fmt = image_format(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    return read_fits(path) if fmt == "fits" else read_xisf(path)


def read_header(path: str | Path) -> fits.Header:
    """The keywords of a FITS or XISF image, without its pixels where the format allows (FITS)."""
    path = Path(path)
    if image_format(path) == "xisf":
        return read_xisf(path).header
    try:
        return fits.getheader(path)
    except (OSError, ValueError) as error:
        raise FileFormatError(f"{path}: not a readable FITS file ({error})") from None


def write_image(
    path: str | Path,
    data: np.ndarray,
    header: fits.Header | None = None,
    properties: dict[str, Any] | None = None,
    compress: bool = False,
    files: OutputFiles | None = None,
    sample_type: np.dtype = FLOAT32,
) -> Path:
    """Write ``(C, H, W)`` float32 data in the format the extension names, as ``sample_type`` samples,
    atomically (with ``files``: when it commits, together with its other files)."""
    path = Path(path)
    header = header if header is not None else fits.Header()
    if image_format(path) == "fits":
        return write_fits(path, data, header, compress, files, sample_type)
    return write_xisf(path, data, header, properties, compress, files, sample_type)


@contextmanager
def image_band_writer(
    path: str | Path,
    shape: tuple[int, int, int],
    header: fits.Header | None = None,
    properties: dict[str, Any] | None = None,
    compress: bool = False,
    files: OutputFiles | None = None,
) -> Iterator[BandSink]:
    """A ``(C, H, W)`` float32 image written, in the format the extension names, as the block delivers it in
    bands of rows (top to bottom) to the sink it is given; atomically, the file appearing only when the block
    ends without an error; held whole only for compressed XISF."""
    path = Path(path)
    header = header if header is not None else fits.Header()
    if image_format(path) == "fits":
        writer = fits_band_writer(path, shape, header, files, compress)
    else:
        writer = xisf_band_writer(path, shape, header, properties, files, compress)
    with writer as sink:
        yield sink
