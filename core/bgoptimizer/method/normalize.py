"""A registered frame's background normalized to a reference frame's, before stacking.

When the gradient changes from sub to sub, stacking rejection compares frames
that disagree. The smooth difference between a frame and the reference is
what differs: objects and stars are in both and cancel in it, so nothing
needs protecting, and the robust loss rejects what one frame alone holds (a
satellite trail, a plane). A transparency change scales the whole frame: the
scale is measured on what stands out of both frames' local sky (stars,
nebulae), in tiles whose median ratio ignores a trail crossing a few.
Missing pixels (0 after registration, or not finite) in either frame are left
out of every estimate and stay missing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import InputImageError
from ..params import Parameters
from .downscale import block_reduce
from .fit import FitReport
from .morphology import dilate
from .pipeline import extract_background

__all__ = ["Normalization", "normalize_to_reference"]

# The local sky the scale is measured above: a block median of this many pixels, upsampled.
_SKY_BLOCK = 32
# Pixels standing out of the reference's local sky by this many noise sigmas, and their neighbours, ...
_SIGNAL_SIGMA = 5.0
_SIGNAL_GROWTH = 2
# ... measured in TILES x TILES tiles, each holding at least _MIN_SIGNAL of them.
_TILES = 8
_MIN_SIGNAL = 50
# The smooth difference is fitted around this level (the engine works on positive images).
_LEVEL = 0.5


@dataclass
class Normalization:
    normalized: np.ndarray  # (C, H, W) float32: the frame with the smooth difference removed and its scale undone
    difference: np.ndarray  # (C, H, W) float32: the smooth difference (subtract) or ratio (divide) removed
    scale: np.ndarray  # (C,) the frame's brightness against the reference's (transparency)
    report: FitReport


def _valid(frame: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(H, W)``: pixels present in both frames."""
    present = np.isfinite(frame) & np.isfinite(reference) & (frame != 0) & (reference != 0)
    return present.all(axis=0)


def _local_sky(channel: np.ndarray) -> np.ndarray:
    reduced = block_reduce(channel[None], _SKY_BLOCK)[0]
    sky = np.repeat(np.repeat(reduced, _SKY_BLOCK, axis=0), _SKY_BLOCK, axis=1)
    return sky[: channel.shape[0], : channel.shape[1]]


def _scales(frame: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each channel's ``frame / reference`` brightness, from the light above the local sky of both."""
    scales = []
    height, width = valid.shape
    rows = np.minimum(np.arange(height) * _TILES // height, _TILES - 1)
    cols = np.minimum(np.arange(width) * _TILES // width, _TILES - 1)
    tile = rows[:, None] * _TILES + cols[None, :]
    for ours, theirs in zip(frame, reference):
        ours = np.where(valid, ours, np.nan)
        theirs = np.where(valid, theirs, np.nan)
        above_ours, above_theirs = ours - _local_sky(ours), theirs - _local_sky(theirs)
        spread = 1.4826 * np.nanmedian(np.abs(above_theirs - np.nanmedian(above_theirs)))
        signal = dilate(np.nan_to_num(above_theirs, nan=0.0) > _SIGNAL_SIGMA * spread, _SIGNAL_GROWTH) & valid
        ratios = []
        for index in range(_TILES * _TILES):
            chosen = signal & (tile == index)
            if chosen.sum() >= _MIN_SIGNAL:
                total = float(np.nansum(above_theirs[chosen]))
                if total > 0:
                    ratios.append(float(np.nansum(above_ours[chosen])) / total)
        scales.append(float(np.median(ratios)) if ratios else 1.0)
    return np.asarray(scales, np.float32)


def normalize_to_reference(
    frame: np.ndarray, reference: np.ndarray, params: Parameters | None = None, *, device: str = "auto"
) -> Normalization:
    """``frame`` brought to ``reference``'s background and brightness (both ``(C, H, W)``, registered).

    Subtract mode: ``frame = scale * reference + smooth`` is solved for the
    smooth difference and the scale, and ``(frame - smooth) / scale`` returned.
    Divide mode: the smooth ratio ``frame / reference`` is fitted and divided
    out (it holds the scale). The fit is ``params``' with object protection
    off (objects cancel) and no neutral sky (the reference sets the colour).
    """
    params = params or Parameters()
    if frame.shape != reference.shape:
        raise InputImageError(f"the frame is {frame.shape[2]}x{frame.shape[1]} with {frame.shape[0]} channel(s) "
                              f"and the reference {reference.shape[2]}x{reference.shape[1]} with "
                              f"{reference.shape[0]}: frames must be registered to the reference")
    fit_params = dataclasses.replace(params, protect_objects=False, neutral=False, adapt_smoothing=False)
    valid = _valid(frame, reference)
    mask = valid.astype(np.float32)
    frame = np.where(valid, frame, 0.0).astype(np.float32)
    reference = np.where(valid, reference, 0.0).astype(np.float32)
    if params.mode == "divide":
        ratio = np.where(valid, frame / np.where(valid, reference, 1.0), 1.0).astype(np.float32)
        result = extract_background(ratio * _LEVEL, fit_params, mask=mask, device=device)
        difference = result.background / _LEVEL
        normalized = np.where(valid, frame / difference, 0.0)
        scale = np.array([np.median(band[valid]) for band in difference], np.float32)
    else:
        scale = _scales(frame, reference, valid)
        residual = frame - scale[:, None, None] * reference
        offset = _LEVEL - np.array([np.median(band[valid]) for band in residual], np.float32)
        result = extract_background(residual + offset[:, None, None], fit_params, mask=mask, device=device)
        difference = result.background - offset[:, None, None]
        normalized = np.where(valid, (frame - difference) / scale[:, None, None], 0.0)
    return Normalization(normalized.astype(np.float32), difference.astype(np.float32), scale, result.report)
