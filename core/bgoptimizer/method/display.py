"""Images for people to look at: every display stretch and display conversion, in one place.

The preview shows the downscaled image with one stretch for all channels,
fitted to the input (linked, as Siril's linked autostretch: a colour cast
shows, as it will in the result; the same curve for the input, the model and
the corrected image, so that they compare); the demo's side-by-side uses an
automatic screen stretch of its own; both end as 8-bit pixels, top row first
(:func:`bgoptimizer.io.to_display`, a file format's edge, kept free of torch).
"""

from __future__ import annotations

import numpy as np

from ..io.arrays import as_planar
from .prepare.downscale import block_reduce, reduced_size
from .prepare.preparation import Prepared, downscaled_bands, stretch_channels
from .prepare.stretch import ChannelStretch, fit_stretch

__all__ = ["preview_image", "display_like", "shown_from_fit", "display_stretch", "linked_stretches"]

# The preview's linked stretch: this quantile of all channels together to white (the fit's default).
_PREVIEW_QUANTILE = 0.99
# The demo's screen stretch: the 99.9 % quantile to white, the median to this level (like Siril's autostretch).
_SCREEN_QUANTILE, _SCREEN_MEDIAN = 0.999, 0.2


def _linear(prepared: Prepared) -> np.ndarray:
    """The downscaled input in its own units (the fit domain's normalization undone)."""
    return np.stack([stretch.invert(channel.astype(np.float64)).astype(np.float32)
                     for channel, stretch in zip(prepared.fit_ds, prepared.fit_stretches)])


def linked_stretches(prepared: Prepared, linear: np.ndarray | None = None) -> list[ChannelStretch]:
    """One stretch for every channel, fitted on all of them together (black point, white point and
    midtones shared), so that the channels keep their balance on screen. ``linear``: the downscaled input
    in its own units, when the caller has it already."""
    linear = _linear(prepared) if linear is None else linear
    (stretch,) = fit_stretch(linear.reshape(1, -1, linear.shape[-1]), _PREVIEW_QUANTILE,
                             prepared.stretches[0].target)
    return [stretch] * len(linear)


def preview_image(prepared: Prepared) -> np.ndarray:
    """The downscaled input, linked-stretched, with masked-out pixels dimmed to a quarter: ``(C, h, w)``."""
    linear = _linear(prepared)
    shown = np.nan_to_num(_stretched(linear, linked_stretches(prepared, linear)), nan=0.0)
    weight = prepared.mask_ds.max(axis=0, keepdims=True) if prepared.mask_ds.shape[0] > 1 else prepared.mask_ds
    return (shown * (0.25 + 0.75 * weight)).astype(np.float32)


def _stretched(linear: np.ndarray, stretches: list[ChannelStretch]) -> np.ndarray:
    return np.stack([stretch.apply(channel) for stretch, channel in zip(stretches, linear)]).astype(np.float32)


def display_like(prepared: Prepared, image: np.ndarray) -> np.ndarray:
    """``image`` (e.g. the corrected result of a run) downscaled and shown with ``prepared``'s linked
    stretch, so that before and after compare, colour included: ``(C, h, w)`` in [0, 1]."""
    image = as_planar(image)
    channels, height, width = image.shape
    factor = prepared.factor
    shown = np.empty((channels, reduced_size(height, factor), reduced_size(width, factor)), np.float32)
    for rows, chunk in downscaled_bands(image, factor):
        shown[:, rows] = block_reduce(chunk, factor, "median")
    stretch_channels(shown, linked_stretches(prepared))
    return np.nan_to_num(shown, nan=0.0)


def shown_from_fit(prepared: Prepared, model_fit: np.ndarray, neutral: bool,
                   mode: str = "subtract") -> tuple[np.ndarray, np.ndarray]:
    """A model of the downscaled image in the fit's domain, and the image with it subtracted or divided out
    (``mode``; each channel's sky level kept, or with ``neutral`` one level for all, as the run will do),
    linked-stretched: ``(C, h, w)`` in [0, 1]."""
    linear_model = np.stack([stretch.invert(channel) for stretch, channel in zip(prepared.fit_stretches, model_fit)])
    levels = np.median(linear_model.reshape(len(linear_model), -1), axis=1)
    if neutral:
        levels[:] = levels.mean()
    linear = _linear(prepared)
    if mode == "divide":
        with np.errstate(divide="ignore", invalid="ignore"):
            corrected = linear / linear_model * levels[:, None, None]
    else:
        corrected = linear - linear_model + levels[:, None, None]
    shown = linked_stretches(prepared, linear)
    return np.nan_to_num(_stretched(linear_model, shown)), np.nan_to_num(_stretched(corrected, shown))


def display_stretch(image: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """An automatic screen stretch (like Siril's autostretch) of a linear ``(C, H, W)`` image; with ``like``,
    the one stretch fitted on all of ``like``'s channels together (linked, as the preview's), so that
    images shown side by side compare, colour cast included."""
    if like is None:
        reference = np.where(image > 0, image, np.nan)
        return _stretched(image, fit_stretch(reference, _SCREEN_QUANTILE, _SCREEN_MEDIAN))
    reference = np.where(like > 0, like, np.nan).reshape(1, -1, like.shape[-1])
    (stretch,) = fit_stretch(reference, _SCREEN_QUANTILE, _SCREEN_MEDIAN)
    return _stretched(image, [stretch] * len(image))
