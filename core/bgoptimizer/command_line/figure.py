"""Pictures for people: labelled panels side by side, one display stretch for all, and a profile plot.

Composed top row first (as a screen shows them) and written as an 8-bit PNG;
the labels use a small built-in bitmap font (capitals, digits and a few
signs), so the demo needs no imaging library.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..io import write_png

__all__ = ["labelled_row", "profile_plot", "stack", "write_figure"]

_GLYPHS = {  # 5x7, a row of five pixels per string
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110", "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    " ": "00000 00000 00000 00000 00000 00000 00000", "%": "11000 11001 00010 00100 01000 10011 00011",
    ".": "00000 00000 00000 00000 00000 01100 01100", "-": "00000 00000 00000 11111 00000 00000 00000",
    "(": "00010 00100 01000 01000 01000 00100 00010", ")": "01000 00100 00010 00010 00010 00100 01000",
    ",": "00000 00000 00000 00000 01100 00100 01000", ":": "00000 01100 01100 00000 01100 01100 00000",
    "/": "00000 00001 00010 00100 01000 10000 00000", "=": "00000 00000 11111 00000 11111 00000 00000",
}
_SCALE = 2  # screen pixels per font pixel
_BAR = 7 * _SCALE + 10  # height of a label bar
_BACKGROUND = (0.12, 0.12, 0.14)
WHITE, GREEN, ORANGE = (0.95, 0.95, 0.95), (0.35, 0.9, 0.35), (1.0, 0.6, 0.15)


def _text(text: str, color: tuple[float, float, float]) -> np.ndarray:
    """``text`` (upper-cased) as ``(3, 14, w)`` pixels on the figure's background."""
    rows = []
    for char in text.upper():
        glyph = _GLYPHS.get(char, _GLYPHS[" "])
        rows.append(np.array([[bit == "1" for bit in row] for row in glyph.split()], bool))
        rows.append(np.zeros((7, 1), bool))
    bits = np.kron(np.concatenate(rows, axis=1), np.ones((_SCALE, _SCALE), bool))
    pixels = np.empty((3, *bits.shape), np.float32)
    for channel, (ink, paper) in enumerate(zip(color, _BACKGROUND)):
        pixels[channel] = np.where(bits, ink, paper)
    return pixels


def _canvas(height: int, width: int) -> np.ndarray:
    return np.broadcast_to(np.array(_BACKGROUND, np.float32)[:, None, None], (3, height, width)).copy()


def _put(canvas: np.ndarray, pixels: np.ndarray, top: int, left: int) -> None:
    height = min(pixels.shape[1], canvas.shape[1] - top)
    width = min(pixels.shape[2], canvas.shape[2] - left)
    canvas[:, top : top + height, left : left + width] = pixels[:, :height, :width]


def labelled_row(panels: Sequence[np.ndarray], titles: Sequence[str], gap: int = 8) -> np.ndarray:
    """Display-ready ``(C, H, W)`` panels (values in [0, 1], top row first) side by side, each under its
    title: ``(3, h, w)``."""
    height = max(panel.shape[1] for panel in panels)
    width = sum(panel.shape[2] for panel in panels) + gap * (len(panels) - 1)
    canvas = _canvas(_BAR + height, width)
    left = 0
    for panel, title in zip(panels, titles):
        _put(canvas, _text(title, WHITE), 5, left + 4)
        _put(canvas, np.broadcast_to(panel, (3, *panel.shape[1:])), _BAR, left)
        left += panel.shape[2] + gap
    return canvas


def profile_plot(curves: Sequence[tuple[np.ndarray, str, tuple[float, float, float]]], width: int,
                 height: int = 180, title: str = "") -> np.ndarray:
    """Curves (values along a line, legend, colour) drawn over ``width`` pixels: ``(3, h, w)``, the legend
    in each curve's colour; every curve after the first dashed, so that one lying on the first lets it show."""
    canvas = _canvas(height, width)
    _put(canvas, _text(title, WHITE), 5, 4)
    left = 8 + _text(title, WHITE).shape[2] + 24 if title else 4
    for _, legend, color in curves:
        _put(canvas, _text(legend, color), 5, left)
        left += _text(legend, color).shape[2] + 24
    top, bottom, margin = _BAR + 4, height - 6, 6
    canvas[:, [top, bottom], margin : width - margin] = 0.5  # the plot's frame
    canvas[:, top:bottom + 1, [margin, width - margin - 1]] = 0.5
    values = np.concatenate([curve for curve, _, _ in curves])
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low if high > low else 1.0
    for number, (curve, _, color) in enumerate(curves):
        x = np.linspace(margin + 1, width - margin - 2, len(curve))
        y = bottom - 2 - (curve - low) / span * (bottom - top - 4)
        columns = np.arange(margin + 1, width - margin - 1)
        rows = np.interp(columns, x, y)
        for column, row, following in zip(columns, rows, np.append(rows[1:], rows[-1])):
            if number and (column // 8) % 2:
                continue
            first, last = sorted((int(round(row)), int(round(following))))
            canvas[:, first - 1 : last + 2, column] = np.array(color, np.float32)[:, None]
    return canvas


def stack(*rows: np.ndarray, gap: int = 8) -> np.ndarray:
    """Figure rows one above the other, centred: ``(3, h, w)``."""
    width = max(row.shape[2] for row in rows)
    canvas = _canvas(sum(row.shape[1] for row in rows) + gap * (len(rows) - 1), width)
    top = 0
    for row in rows:
        _put(canvas, row, top, (width - row.shape[2]) // 2)
        top += row.shape[1] + gap
    return canvas


def write_figure(path: str | Path, figure: np.ndarray) -> Path:
    """Write a figure composed top row first as a PNG (whose writer takes FITS row order)."""
    return write_png(path, figure[:, ::-1])
