"""FITS reading and writing (astropy), at the planar float32 edge."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from ..errors import FileFormatError
from .atomic import OutputFiles, atomic_writing
from .bands import BandSink, deliver
from .fits_tiles import TiledGzipWriter
from .image_file import FLOAT32, ImageFile, kept_type, to_samples, to_unit_range

__all__ = ["read_fits", "write_fits", "fits_band_writer", "clean_header", "FITS_EXTENSIONS"]

# How samples lie in the file, by BITPIX (BZERO shifts unsigned and signed-byte ones).
_DISK = {8: ">u1", 16: ">i2", 32: ">i4", -32: ">f4"}


FITS_EXTENSIONS = (".fit", ".fits", ".fts")

# Structure and scaling keywords are rewritten by astropy for the float32 output.
_STRUCTURAL = ("SIMPLE", "XTENSION", "BITPIX", "EXTEND", "PCOUNT", "GCOUNT", "BZERO", "BSCALE",
               "BLANK", "DATAMIN", "DATAMAX", "CHECKSUM", "DATASUM")


def read_fits(path: Path) -> ImageFile:
    """The first HDU holding an image, as ``(C, H, W)`` float32 (integers scaled to [0, 1]; ``BLANK``
    pixels missing, NaN)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AstropyWarning)
        try:
            # Unscaled: astropy turns integers with BLANK into physical floats (or fails on signed
            # bytes), so the stored integers are brought to their type here, as without BLANK.
            with fits.open(path, memmap=False, do_not_scale_image_data=True) as hdus:
                arrays = [hdu for hdu in hdus if hdu.is_image and hdu.data is not None]
                images = [hdu for hdu in arrays if hdu.data.ndim >= 2]
                if not images:
                    raise FileFormatError(f"{path}: {_no_image(arrays)}")
                header = images[0].header.copy()
                samples, blank = _logical_samples(images[0].data, header)
        except FileFormatError:
            raise
        except (OSError, ValueError, TypeError) as error:
            raise FileFormatError(f"{path}: {_truncation(caught) or f'not a readable FITS file ({error})'}") from None
    if samples.ndim == 3 and samples.shape[0] == 1:
        samples, blank = samples[0], None if blank is None else blank[0]
    if samples.ndim == 2:
        samples, blank = samples[None], None if blank is None else blank[None]
    if samples.ndim != 3 or samples.shape[0] not in (1, 3):
        raise FileFormatError(f"{path}: image of shape {samples.shape}; expected mono or 3-channel RGB")
    sample_type = kept_type(samples.dtype)
    data = to_unit_range(samples, str(path), reuse=True)
    if blank is not None:
        data[blank] = np.nan
    return ImageFile(data, clean_header(header), {}, "fits", path, sample_type)


def _no_image(arrays: list) -> str:
    """Why a FITS file holds no image: nothing at all, or only 1-D arrays (spectra, tables' columns)."""
    if arrays:
        shape = arrays[0].data.shape
        return (f"no image in this FITS file: it holds a 1-D array of {shape[0]} values; an image is 2-D "
                "(mono) or 3-D (RGB)")
    return "no image in this FITS file"


def _flip_sign(stored: np.ndarray, logical: np.dtype) -> np.ndarray:
    """``stored`` shifted by half its range into ``logical`` (in place): the sign bit flipped."""
    bits = stored if stored.flags.writeable else stored.copy()
    unsigned = bits.view(bits.dtype.str.replace("i", "u"))
    unsigned ^= 1 << (8 * bits.dtype.itemsize - 1)
    return unsigned.view(logical.newbyteorder(bits.dtype.byteorder))


# Integers that BZERO turns into another integer type (FITS stores unsigned 16/32-bit and signed bytes
# so): (BITPIX, BZERO) -> that type; the sign bit flipped is the shift.
_SHIFTED = {(8, -128): np.int8, (16, 32768): np.uint16, (32, 2147483648): np.uint32}


def _logical_samples(stored: np.ndarray, header: fits.Header) -> tuple[np.ndarray, np.ndarray | None]:
    """The samples as the header says to read them, and where ``BLANK`` marks missing pixels (None: none).

    Integers stay integers of their logical type (to be scaled to [0, 1]
    like any file of that type); other BZERO/BSCALE give physical floats.
    """
    bitpix = header["BITPIX"]
    zero, scale = header.get("BZERO", 0), header.get("BSCALE", 1)
    if bitpix < 0:
        return (stored if (zero, scale) == (0, 1) else stored * scale + zero), None
    blank = (stored == header["BLANK"]) if isinstance(header.get("BLANK"), int) else None
    if blank is not None and not blank.any():
        blank = None
    if scale == 1 and zero == 0:
        return stored, blank
    logical = _SHIFTED.get((bitpix, zero)) if scale == 1 else None
    if logical is not None:
        return _flip_sign(stored, np.dtype(logical)), blank
    return (stored.astype(np.float64 if bitpix >= 32 else np.float32) * scale + zero), blank


def _truncation(caught: list[warnings.WarningMessage]) -> str | None:
    """What a truncated file lacks, from astropy's warning (its exception only says an array cannot be reshaped)."""
    for warning in caught:
        sizes = re.search(r"truncated: actual file length \((\d+)\) is smaller than the expected size \((\d+)\)",
                          str(warning.message))
        if sizes:
            return (f"the file is truncated: {sizes[1]} bytes of the {sizes[2]} its header announces "
                    "(an interrupted copy or download?)")
    return None


def clean_header(header: fits.Header) -> fits.Header:
    """The keywords without those describing how samples were stored (the output's are its own)."""
    cleaned = header.copy()
    for key in _STRUCTURAL:
        cleaned.remove(key, ignore_missing=True, remove_all=True)
    for key in [key for key in cleaned if key.startswith("NAXIS")]:
        cleaned.remove(key, ignore_missing=True, remove_all=True)
    return cleaned


def write_fits(path: Path, data: np.ndarray, header: fits.Header, compress: bool = False,
               files: OutputFiles | None = None, sample_type: np.dtype = FLOAT32) -> Path:
    """Write ``(C, H, W)`` float32 data (a 2-D image when C = 1), atomically (with ``files``: at its commit),
    as ``sample_type`` (:func:`.to_samples`).

    Compression is lossless GZIP of the samples (floats not quantized), see :mod:`.fits_tiles`.
    """
    with fits_band_writer(path, data.shape, header, files, compress, sample_type) as sink:
        deliver(data)(sink)
    return Path(path)


def _fits_samples(rows: np.ndarray, image_header: fits.Header, sample_type: np.dtype) -> np.ndarray:
    """Float rows as the file holds them: ``sample_type``'s values, shifted by BZERO, big-endian."""
    samples = to_samples(rows, sample_type)
    zero = int(image_header.get("BZERO", 0))
    if zero:
        samples = samples.astype(np.int64) - zero
    return np.ascontiguousarray(samples, dtype=_DISK[image_header["BITPIX"]])


def _image_header(header: fits.Header, shape: tuple[int, int, int], sample_type: np.dtype) -> fits.Header:
    """The primary header of a ``sample_type`` image of ``shape`` with ``header``'s keywords."""
    channels, height, width = shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        # A one-pixel image of the right dimensionality and type gets the structural keywords (BITPIX,
        # BZERO of unsigned types); then the sizes.
        hdu = fits.PrimaryHDU(np.zeros((1,) * (2 if channels == 1 else 3), sample_type), header=clean_header(header))
        hdu.verify("silentfix")
        full = hdu.header.copy()
    for axis, size in enumerate((width, height, channels)[: full["NAXIS"]], 1):
        full[f"NAXIS{axis}"] = size
    return full


@contextmanager
def fits_band_writer(path: Path, shape: tuple[int, int, int], header: fits.Header,
                     files: OutputFiles | None = None, compress: bool = False,
                     sample_type: np.dtype = FLOAT32) -> Iterator[BandSink]:
    """A ``(C, H, W)`` float32 image written as the block delivers it in bands of rows to the sink it is
    given, atomically, as ``sample_type``.

    ``sink(top, rows)`` puts ``(C, rows, W)`` at row ``top`` straight into the
    file, so the image is never held whole: a background model can be written
    while it is being computed and used. Uncompressed, bands may come in any
    order; compressed (:mod:`.fits_tiles`), top to bottom. The file appears
    only once the block has ended without an error (with ``files``: at its commit).
    """
    channels, height, width = shape
    image_header = _image_header(header, shape, sample_type)
    size = np.dtype(_DISK[image_header["BITPIX"]]).itemsize

    def encode(rows: np.ndarray) -> np.ndarray:
        return _fits_samples(rows, image_header, sample_type)

    with atomic_writing(path, files) as temporary, open(temporary, "r+b") as stream:
        if compress:
            with TiledGzipWriter(stream, shape, image_header, encode) as tiles:
                yield tiles.add
                tiles.finish()
            return
        head = image_header.tostring().encode("ascii")
        stream.write(head)

        def sink(top: int, rows: np.ndarray) -> None:
            for channel in range(channels):
                stream.seek(len(head) + (channel * height + top) * width * size)
                stream.write(encode(rows[channel]).tobytes())

        yield sink
        stream.truncate(-(-(len(head) + channels * height * width * size) // 2880) * 2880)
