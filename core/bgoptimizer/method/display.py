"""Images for people to look at: every display stretch and display conversion, in one place.

The preview shows the downscaled image with the stretch the method fitted to
the input (the same curve for the input, the model and the corrected image,
so that they compare); the demo's side-by-side uses an automatic screen
stretch of its own; both end as 8-bit pixels, top row first
(:func:`bgoptimizer.io.to_display`, a file format's edge, kept free of torch).
"""

from __future__ import annotations

import numpy as np

from .downscale import block_reduce, reduced_size
from .preparation import Prepared, as_planar, downscaled_bands, stretch_channels
from .stretch import fit_stretch

__all__ = ["preview_image", "display_like", "shown_from_fit", "display_stretch"]

# The demo's screen stretch: the 99.9 % quantile to white, the median to this level (like Siril's autostretch).
_SCREEN_QUANTILE, _SCREEN_MEDIAN = 0.999, 0.2


def preview_image(prepared: Prepared) -> np.ndarray:
    """The stretched, downscaled image with masked-out pixels dimmed to a quarter: ``(C, h, w)``."""
    shown = np.nan_to_num(prepared.stretched_ds, nan=0.0)
    weight = prepared.mask_ds.max(axis=0, keepdims=True) if prepared.mask_ds.shape[0] > 1 else prepared.mask_ds
    return (shown * (0.25 + 0.75 * weight)).astype(np.float32)


def display_like(prepared: Prepared, image: np.ndarray) -> np.ndarray:
    """``image`` (e.g. the corrected result of a run) downscaled and display-stretched as ``prepared``'s
    input was, so that before and after compare: ``(C, h, w)`` in [0, 1]."""
    image = as_planar(image)
    channels, height, width = image.shape
    factor = prepared.factor
    shown = np.empty((channels, reduced_size(height, factor), reduced_size(width, factor)), np.float32)
    for rows, chunk in downscaled_bands(image, factor):
        shown[:, rows] = block_reduce(chunk, factor, "median")
    stretch_channels(shown, prepared.stretches)
    return np.nan_to_num(shown, nan=0.0)


def shown_from_fit(prepared: Prepared, model_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A model of the downscaled image in the fit's domain, and the image with it removed (sky level
    kept), each shown with the input's display stretch: ``(C, h, w)`` in [0, 1]."""
    model, corrected = np.empty_like(model_fit), np.empty_like(model_fit)
    for channel, (fit_stretch_, shown) in enumerate(zip(prepared.fit_stretches, prepared.stretches)):
        linear_model = fit_stretch_.invert(model_fit[channel])
        linear_image = fit_stretch_.invert(prepared.fit_ds[channel])
        model[channel] = shown.apply(linear_model)
        corrected[channel] = shown.apply(linear_image - linear_model + np.median(linear_model))
    return np.nan_to_num(model), np.nan_to_num(corrected)


def display_stretch(image: np.ndarray) -> np.ndarray:
    """An automatic screen stretch (like Siril's autostretch) of a linear ``(C, H, W)`` image."""
    stretches = fit_stretch(np.where(image > 0, image, np.nan), _SCREEN_QUANTILE, _SCREEN_MEDIAN)
    return np.stack([stretch.apply(channel) for stretch, channel in zip(stretches, image)])
