"""The image loaded in Siril, as the core wants it, and the way back.

Siril hands out ``(H, W)`` mono or ``(C, H, W)`` planar pixels, float32 or
uint16, rows bottom-up (FITS order): the core's layout already, so only the
integer scaling and the mono axis need converting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from bgoptimizer import InputImageError, Parameters
from bgoptimizer.batch import history_line
from bgoptimizer.io import write_image
from bgoptimizer.io.image_file import to_unit_range
from bgoptimizer.pipeline import as_planar

__all__ = [
    "LoadedImage",
    "header_from_text",
    "to_core",
    "to_siril",
    "read_loaded_image",
    "loaded_image_path",
    "default_model_path",
    "save_model",
]

MODEL_SUFFIX = "_bgModel.fit"


@dataclass
class LoadedImage:
    data: np.ndarray  # (C, H, W) float32 in [0, 1]
    header: fits.Header
    path: Path | None  # the file Siril loaded it from, when known
    mono_2d: bool  # Siril gave a 2-D array: give 2-D back

    @property
    def name(self) -> str:
        return self.path.stem if self.path is not None else "image"


def header_from_text(text: str | None) -> fits.Header:
    """Siril's header text (cards one per line, or 80-character cards run together) as a `Header`."""
    if not text:
        return fits.Header()
    if "\n" in text:
        return fits.Header.fromstring(text, sep="\n")
    return fits.Header.fromstring(text)


def to_core(pixels: np.ndarray, source: str) -> tuple[np.ndarray, bool]:
    """Siril pixels as float32 ``(C, H, W)`` in [0, 1], and whether they came as a 2-D array."""
    if pixels is None:
        raise InputImageError(f"{source}: Siril returned no pixel data")
    if pixels.dtype not in (np.float32, np.uint16):
        raise InputImageError(f"{source}: unexpected pixel type {pixels.dtype} (Siril gives float32 or uint16)")
    return as_planar(to_unit_range(pixels, source), source), pixels.ndim == 2


def to_siril(data: np.ndarray, mono_2d: bool) -> np.ndarray:
    """A core result in the layout Siril gave, always float32."""
    data = np.ascontiguousarray(data, dtype=np.float32)
    return data[0] if mono_2d else data


def read_loaded_image(siril) -> LoadedImage:
    """Pixels, header and file of the loaded image (call inside ``image_lock``)."""
    data, mono_2d = to_core(siril.get_image_pixeldata(), "loaded image")
    return LoadedImage(data, header_from_text(siril.get_image_fits_header(return_as="str")), loaded_image_path(siril),
                       mono_2d)


def loaded_image_path(siril) -> Path | None:
    """The file the loaded image came from, when Siril knows it."""
    filename = siril.get_image_filename()
    if not filename:
        return None
    path = Path(filename)
    return path if path.is_absolute() else Path(siril.get_siril_wd()) / path


def default_model_path(siril, name: str) -> Path:
    """``<name>_bgModel.fit`` in Siril's working directory."""
    return Path(siril.get_siril_wd()) / f"{name}{MODEL_SUFFIX}"


def save_model(path: Path, background: np.ndarray, header: fits.Header, params: Parameters) -> Path:
    """Write the background model atomically with the image's header and a HISTORY line."""
    header = header.copy()
    header.add_history(history_line(params, "background model"))
    return write_image(path, background, header)
