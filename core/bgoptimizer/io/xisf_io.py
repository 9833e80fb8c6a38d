"""XISF at the planar float32 edge: our reader (:mod:`.xisf_reader`), the ``xisf`` package's writer.

XISF stores rows top-down while FITS (and Siril) store them bottom-up: rows
are flipped here so the rest of the code sees FITS order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from .._version import __version__
from ..errors import FileFormatError
from .atomic import OutputFiles, atomic_write
from .image_file import ImageFile, to_unit_range
from .xisf_reader import read_xisf_image

__all__ = ["read_xisf", "write_xisf"]


def _keyword_value(text: str) -> Any:
    text = text.strip()
    if text.startswith("'"):
        return text.strip("'").rstrip()
    if text in ("T", "F"):
        return text == "T"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _header_from_keywords(keywords: list[tuple[str, str, str]]) -> fits.Header:
    header = fits.Header()
    for name, value, comment in keywords:
        if name == "HISTORY":
            header.add_history(comment or value)
        elif name == "COMMENT":
            header.add_comment(comment or value)
        elif 0 < len(name) <= 8:
            header.append((name, _keyword_value(value), comment))
    return header


def _keywords_from_header(header: fits.Header) -> dict[str, list[dict[str, str]]]:
    keywords: dict[str, list[dict[str, str]]] = {}
    for card in header.cards:
        if card.keyword in ("HISTORY", "COMMENT"):
            entry = {"value": "", "comment": str(card.value)}
        elif isinstance(card.value, str):
            entry = {"value": f"'{card.value}'", "comment": card.comment}
        elif isinstance(card.value, bool):
            entry = {"value": "T" if card.value else "F", "comment": card.comment}
        else:
            entry = {"value": str(card.value), "comment": card.comment}
        keywords.setdefault(card.keyword, []).append(entry)
    return keywords


def read_xisf(path: Path) -> ImageFile:
    """The first image of a XISF file as ``(C, H, W)`` float32 in FITS row order."""
    image = read_xisf_image(path)
    planar = image.samples[:, ::-1]
    if planar.shape[0] not in (1, 3):
        raise FileFormatError(f"{path}: {planar.shape[0]} channels; expected mono or RGB")
    header = _header_from_keywords(image.keywords)
    return ImageFile(to_unit_range(np.ascontiguousarray(planar), str(path)), header, image.properties, "xisf", path)


def write_xisf(
    path: Path, data: np.ndarray, header: fits.Header, properties: dict[str, Any] | None = None,
    compress: bool = False, files: OutputFiles | None = None,
) -> Path:
    """Write ``(C, H, W)`` float32 data as XISF (lz4hc with byte shuffling when compressed), atomically
    (with ``files``: at its commit)."""
    import xisf

    samples = np.ascontiguousarray(np.moveaxis(data[:, ::-1], 0, -1), dtype=np.float32)
    metadata = {"FITSKeywords": _keywords_from_header(header), "XISFProperties": dict(properties or {})}
    codec = "lz4hc" if compress else None

    def write(temporary: Path) -> None:
        xisf.XISF.write(str(temporary), samples, creator_app=f"bgoptimizer {__version__}",
                        image_metadata=metadata, codec=codec, shuffle=compress)

    return atomic_write(path, write, files)
