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
from .fit import FitReport
from .given import FitInputs, RunControl
from .objects.morphology import dilate
from .pipeline import extract_background
from .prepare.downscale import block_reduce

__all__ = ["Normalization", "normalize_to_reference"]

# The local sky the scale is measured above: a block median of this many pixels, upsampled.
_SKY_BLOCK = 32
# Pixels standing out of the reference's local sky by this many noise sigmas, and their neighbours, ...
_SIGNAL_SIGMA = 5.0
_SIGNAL_GROWTH = 2
# ... measured in TILES x TILES tiles, each holding at least _MIN_SIGNAL of them.
_TILES = 8
_MIN_SIGNAL = 50
# A registered frame's light above its sky follows the reference's (correlation 1 for the same frame,
# 0.5 for one shifted by 2 pixels; 0.0 +- 0.05 for another field): below this the frames do not match.
_MIN_AGREEMENT = 0.2
# A transparency change dims a frame; beyond these bounds it is not the reference's field.
_PLAUSIBLE_SCALE = (0.05, 20.0)
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


def _compare(frame: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's ``frame / reference`` brightness, from the light above the local sky of both, and how
    well that light agrees in place (correlation; NaN where the reference has too little of it to tell)."""
    scales, agreements = [], []
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
        agreements.append(_correlation(above_ours[signal], above_theirs[signal]))
    return np.asarray(scales, np.float32), np.asarray(agreements)


def _correlation(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Pearson's correlation of two samples; NaN for fewer than _MIN_SIGNAL or a constant one."""
    ours, theirs = np.nan_to_num(ours).astype(np.float64), np.nan_to_num(theirs).astype(np.float64)
    if ours.size < _MIN_SIGNAL or ours.std() == 0 or theirs.std() == 0:
        return float("nan")
    return float(np.corrcoef(ours, theirs)[0, 1])


def _check_match(scales: np.ndarray, agreements: np.ndarray) -> None:
    """Refuse a frame that does not show the reference's field where the reference shows it (not registered,
    another target): its stars do not fall on the reference's, or its brightness against it is implausible."""
    worst = float(np.nanmin(agreements, initial=np.inf))
    if worst < _MIN_AGREEMENT:
        raise InputImageError(f"does not match the reference: the stars and objects of the two do not fall on each "
                              f"other (correlation {worst:.2f}, registered frames give 0.5 to 1); register the "
                              "frames first")
    low, high = _PLAUSIBLE_SCALE
    if not ((scales > low) & (scales < high)).all():
        shown = " ".join(f"{value:.4f}" for value in scales)
        raise InputImageError(f"does not match the reference: its brightness against the reference ({shown}) is "
                              f"not between {low} and {high:g}; register the frames first, or check that they show "
                              "the same field")


def normalize_to_reference(
    frame: np.ndarray, reference: np.ndarray, params: Parameters | None = None, *, device: str = "auto"
) -> Normalization:
    """``frame`` brought to ``reference``'s background and brightness (both ``(C, H, W)``, registered).

    Subtract mode: ``frame = scale * reference + smooth`` is solved for the
    smooth difference and the scale, and ``(frame - smooth) / scale`` returned.
    Divide mode: the smooth ratio ``frame / reference`` is fitted and divided
    out (it holds the scale). The fit is ``params``' with object protection
    off (objects cancel) and no neutral sky (the reference sets the colour);
    a glow steeper than the smoothing lets the spline bend is followed as in
    an extraction (``adapt_smoothing``), which cannot take in an object here
    (bench/normalize_sequence.py: worst frame against the reference 0.52 %
    of the sky with it, 0.87 % without; galaxy and edge glows 2.35 / 4.40 %).
    """
    params = params or Parameters()
    if frame.shape != reference.shape:
        raise InputImageError(f"the frame is {frame.shape[2]}x{frame.shape[1]} with {frame.shape[0]} channel(s) "
                              f"and the reference {reference.shape[2]}x{reference.shape[1]} with "
                              f"{reference.shape[0]}: frames must be registered to the reference")
    fit_params = dataclasses.replace(params, protect_objects=False, neutral=False)
    valid = _valid(frame, reference)
    if valid.sum() < _MIN_SIGNAL:
        raise InputImageError("has no pixels in common with the reference (missing, 0, in one or the other)")
    mask = valid.astype(np.float32)
    frame = np.where(valid, frame, 0.0).astype(np.float32)
    reference = np.where(valid, reference, 0.0).astype(np.float32)
    measured, agreements = _compare(frame, reference, valid)
    _check_match(measured, agreements)
    if params.mode == "divide":
        ratio = np.where(valid, frame / np.where(valid, reference, 1.0), 1.0).astype(np.float32)
        result = extract_background(ratio * _LEVEL, fit_params, inputs=FitInputs(mask=mask),
                                    control=RunControl(device=device))
        difference = result.background / _LEVEL
        normalized = np.where(valid, frame / difference, 0.0)
        scale = np.array([np.median(band[valid]) for band in difference], np.float32)
    else:
        scale = measured
        residual = frame - scale[:, None, None] * reference
        offset = _LEVEL - np.array([np.median(band[valid]) for band in residual], np.float32)
        result = extract_background(residual + offset[:, None, None], fit_params, inputs=FitInputs(mask=mask),
                                    control=RunControl(device=device))
        difference = result.background - offset[:, None, None]
        normalized = np.where(valid, (frame - difference) / scale[:, None, None], 0.0)
    return Normalization(normalized.astype(np.float32), difference.astype(np.float32), scale, result.report)
