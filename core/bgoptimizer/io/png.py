"""Minimal 8-bit PNG writer for previews (no imaging dependency needed)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from .atomic import OutputFiles, atomic_write

__all__ = ["write_png", "to_display"]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def to_display(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` floats in [0, 1], rows in FITS order -> ``(H, W, C)`` uint8, top row first."""
    clipped = np.clip(np.nan_to_num(image, nan=0.0), 0.0, 1.0)
    return np.ascontiguousarray((clipped * 255.0 + 0.5).astype(np.uint8)[:, ::-1].transpose(1, 2, 0))


def write_png(path: str | Path, image: np.ndarray, files: OutputFiles | None = None) -> Path:
    """Write a ``(C, H, W)`` image with values in [0, 1] (C = 1 or 3) as an 8-bit PNG, atomically
    (with ``files``: at its commit)."""
    pixels = to_display(image)
    height, width, channels = pixels.shape
    color_type = {1: 0, 3: 2}[channels]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )
    return atomic_write(path, lambda temporary: temporary.write_bytes(data), files)
