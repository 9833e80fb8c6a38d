"""The image loaded in Siril, as the core wants it, and the way back.

Siril hands out ``(H, W)`` mono or ``(C, H, W)`` planar pixels, float32 or
uint16, rows bottom-up (FITS order): the core's layout already, so only the
integer scaling and the mono axis need converting.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sirilpy as s
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from bgoptimizer import MODEL_TAG, InputImageError, as_planar
from bgoptimizer.io import ImageFile, to_unit_range

__all__ = [
    "header_from_text",
    "to_core",
    "PixelLayout",
    "read_loaded_image",
    "loaded_image_path",
    "default_model_path",
]


@dataclass(frozen=True)
class PixelLayout:
    """How Siril handed the pixels out: 2-D for mono or not, float32 or 16-bit. Results go back the
    same way, as Siril's own processing keeps an image's bit depth (``subsky`` keeps 16 bits)."""

    mono_2d: bool
    dtype: np.dtype

    def back(self, data: np.ndarray) -> np.ndarray:
        """A core result ``(C, H, W)`` float32 in this layout."""
        if self.dtype == np.uint16:  # the core keeps results in [0, 1] for such data: round to 16 bits
            data = np.rint(np.clip(data, 0.0, 1.0) * 65535.0).astype(np.uint16)
        data = np.ascontiguousarray(data, dtype=self.dtype)
        return data[0] if self.mono_2d else data


def header_from_text(text: str | None) -> fits.Header:
    """Siril's header text as a `Header`: cards one per line (or 80-character cards run together),
    ending with ``END`` and a NUL, which are not cards."""
    if not text:
        return fits.Header()
    text = text.replace("\x00", "")
    cards = text.split("\n") if "\n" in text else [text[i : i + 80] for i in range(0, len(text), 80)]
    kept = []
    for card in cards:
        if card.rstrip() == "END":
            break
        if card.strip():
            kept.append(card)
    with warnings.catch_warnings():  # a non-standard card is kept as astropy can; it is fixed on writing
        warnings.simplefilter("ignore", AstropyWarning)
        return fits.Header.fromstring("\n".join(kept), sep="\n")


def to_core(pixels: np.ndarray, source: str) -> tuple[np.ndarray, PixelLayout]:
    """Siril pixels as float32 ``(C, H, W)`` in [0, 1], and how they came."""
    if pixels is None:
        raise InputImageError(f"{source}: Siril returned no pixel data")
    if pixels.dtype not in (np.float32, np.uint16):
        raise InputImageError(f"{source}: unexpected pixel type {pixels.dtype} (Siril gives float32 or uint16)")
    return as_planar(to_unit_range(pixels, source), source), PixelLayout(pixels.ndim == 2, pixels.dtype)


def read_loaded_image(siril) -> tuple[ImageFile, PixelLayout]:
    """Pixels and header of the loaded image (call inside ``image_lock``), and how to give results back."""
    data, layout = to_core(siril.get_image_pixeldata(), "the loaded image")
    return ImageFile(data, header_from_text(siril.get_image_fits_header(return_as="str"))), layout


def loaded_image_path(siril) -> Path | None:
    """The file the loaded image came from, when Siril knows it."""
    filename = siril.get_image_filename()
    if not filename:
        return None
    path = Path(filename)
    return path if path.is_absolute() else Path(siril.get_siril_wd()) / path


def fits_extension(siril) -> str:
    """Siril's FITS extension preference (``setext``: .fit, .fits or .fts), as Siril names its own files."""
    try:
        extension = siril.get_siril_config("core", "extension")
    except (s.SirilError, AttributeError):  # a Siril that cannot say: its default
        extension = None
    return extension if extension in (".fit", ".fits", ".fts") else ".fit"


def default_model_path(siril, name: str) -> Path:
    """``<name>_bgModel`` with Siril's FITS extension, in its working directory."""
    return Path(siril.get_siril_wd()) / f"{name}{MODEL_TAG}{fits_extension(siril)}"
