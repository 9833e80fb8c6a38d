"""Step 8: the model removed from the image (subtracted or divided out), keeping its sky level: each
channel's own, or (neutral) one level for all channels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from ...errors import InputImageError
from ...io.bands import band_rows, sample_step
from ..common.tensors import tensor_view
from ..prepare.mask import is_present

__all__ = ["correct"]


def correct(image: np.ndarray, model_bands: Iterable[tuple[int, np.ndarray]], mode: str,
             out: np.ndarray | None = None, neutral: bool = False) -> np.ndarray:
    """Remove the background, keeping the original level; missing pixels stay 0 (step 8).

    The model comes in bands of rows, ``(top, (C, rows, W))``, each used once,
    so that it never has to be held whole. ``out`` (which may be ``image``
    itself) receives the result instead of a new array. A first pass writes
    the raw difference or ratio (NaN where pixels are missing), measures its
    range and samples the model; a second, in place, restores each channel's
    sky level (its median in the input, in both modes), shifts or clips when
    the range demands it (a shift only when the input had no negative value,
    a clip at 1 only for data of [0, 1]) and zeroes the missing pixels:
    whatever the data's unit, the result relative to it is the same. With
    ``neutral`` every channel is brought to the mean of the channels' levels
    instead of its own (a neutral sky). With ``out=image``, a failure leaves
    ``image`` partly corrected.
    """
    channels, height, width = image.shape
    step = sample_step(height, width)
    sample = image[:, ::step, ::step].copy()  # before ``out`` may overwrite it
    model_sample = np.empty_like(sample)
    corrected = np.empty_like(image, dtype=np.float32) if out is None else out
    raw = _raw_pass(image, model_bands, mode, corrected, model_sample, step)
    gain, offset = _restoring(sample, model_sample, mode, neutral)
    lowest, highest = raw.lowest * gain + offset, raw.highest * gain + offset  # gain > 0: order kept
    # Data without negative values (Siril's [0, 1]) stay so; data that have them (sky-subtracted
    # survey frames) keep their level as it is, negative sky included.
    shift = -float(lowest.min()) if lowest.min() < 0 and not raw.negative_input else 0.0
    # Data in Siril's [0, 1] range stay in it: what the sky level pushes above 1 (a saturated star's core, or
    # a star divided by a dim corner's model) is clipped there, the sky keeping its level; data beyond
    # [0, 1] have no range to keep, whatever their unit.
    clip = float(highest.max()) + shift > 1.0 >= raw.peak
    _restore(tensor_view(corrected), gain, offset + shift, clip, raw.missing)
    return corrected


@dataclass
class _Raw:
    """What the raw pass saw: each channel's range of the raw result, whether the input had negative values
    or missing pixels, and its largest value."""

    lowest: np.ndarray
    highest: np.ndarray
    negative_input: bool = False
    missing: bool = False
    peak: float = -np.inf


def _raw_pass(image: np.ndarray, model_bands: Iterable[tuple[int, np.ndarray]], mode: str, corrected: np.ndarray,
              model_sample: np.ndarray, step: int) -> _Raw:
    """Write the raw difference or ratio into ``corrected`` (NaN where pixels are missing), band by band,
    sampling the model every ``step`` pixels into ``model_sample``."""
    channels = image.shape[0]
    pixels, result = tensor_view(image), tensor_view(corrected)
    raw = _Raw(np.full(channels, np.inf), np.full(channels, -np.inf))
    for top, model in model_bands:
        bottom = top + model.shape[1]
        first = -(-top // step) * step  # the first sampled row in this band
        model_sample[:, first // step : -(-bottom // step)] = model[:, first - top :: step, ::step]
        for channel in range(channels):
            values = torch.from_numpy(model[channel])
            if mode == "divide" and bool((values <= 0).any()):
                raise InputImageError("{mode} divide: the background model reaches zero or below; use {mode} subtract",
                                      "mode")
            source, target = pixels[channel, top:bottom], result[channel, top:bottom]
            invalid = torch.from_numpy(~is_present(image[channel, top:bottom]))
            raw.negative_input = raw.negative_input or bool((source < 0).any())  # NaN compares False
            some_missing = bool(invalid.any())
            present = source[~invalid] if some_missing else source
            if present.numel():  # before ``target``, which may be ``source``, is written
                raw.peak = max(raw.peak, float(present.amax()))
            (torch.div if mode == "divide" else torch.sub)(source, values, out=target)
            measured = target
            if some_missing:
                raw.missing = True
                target.masked_fill_(invalid, np.nan)
                measured = target[~invalid]
            if measured.numel():
                low, high = torch.aminmax(measured)
                raw.lowest[channel] = min(raw.lowest[channel], float(low))
                raw.highest[channel] = max(raw.highest[channel], float(high))
    return raw


def _restore(result: torch.Tensor, gain: np.ndarray, offset: np.ndarray, clip: bool, missing: bool) -> None:
    """Bring the raw result to the sky level in place, band by band: ``gain`` and ``offset`` per channel, a
    clip at 1 and missing pixels back to 0 where asked."""
    channels, height, width = result.shape
    band = band_rows(width, 1)
    for top in range(0, height, band):
        for channel in range(channels):
            target = result[channel, top : top + band]
            target.mul_(float(gain[channel])).add_(float(offset[channel]))
            if clip:
                target.clamp_(max=1.0)
            if missing:
                target.nan_to_num_(nan=0.0)


def _restoring(sample: np.ndarray, model_sample: np.ndarray, mode: str,
               neutral: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's gain and offset that bring the raw difference or ratio to the input's sky level (each
    channel's median, or with ``neutral`` their mean): the same sky in both modes."""
    channels = len(sample)
    levels, residuals = np.zeros(channels), np.zeros(channels)
    for channel in range(channels):
        valid = is_present(sample[channel])
        image, model = sample[channel][valid], model_sample[channel][valid]
        levels[channel] = np.median(image)
        residuals[channel] = np.median(image / model if mode == "divide" else image - model)
    if neutral:
        levels[:] = levels.mean()
    if mode == "divide":
        return levels / residuals, np.zeros(channels)
    return np.ones(channels), levels - residuals
