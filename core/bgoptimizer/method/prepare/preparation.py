"""Steps 1-4 of the method: validate, stretch, downscale and mask a linear image into what the fit sees.

The block median commutes with the (non-decreasing) stretch, so the linear
image is reduced first and only the small image is stretched; pixels that are
missing, outside the thresholds or excluded by a user mask get weight 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import InputImageError, MaskError, ParameterError
from ...io.arrays import as_planar
from ...io.bands import band_rows, sample_step
from ...params import Parameters
from ...progress import ProgressCallback
from .downscale import block_reduce, reduced_size
from .exclusion import area_weights
from .grid import Grid
from .mask import missing_to_nan, reduce_user_mask, threshold_mask
from .stretch import ChannelStretch, fit_stretch

__all__ = ["MIN_SAMPLES", "Prepared", "prepare", "downscaled_bands", "stretch_channels"]

# Image data in any unit stays far below this (float32 reaches 3.4e38: block sums and differences of values
# below it stay finite); random bytes read as floats do not, and overflow the stretch.
_LARGEST_PIXEL = 1e30
# Fewer background samples than this cannot constrain a spline.
MIN_SAMPLES = 16


@dataclass
class Prepared:
    """Steps 1-4 of the method: what the fit sees (and what the preview shows)."""

    shape: tuple[int, int, int]  # full-resolution (C, H, W)
    factor: int
    stretches: list[ChannelStretch]
    stretched_ds: np.ndarray  # (C, h, w) float32, NaN where no valid pixel
    mask_ds: np.ndarray  # (1 or C, h, w) float32 weights in [0, 1]
    fit_stretches: list[ChannelStretch]  # linear -> fit domain: the stretch, or its linear part
    fit_ds: np.ndarray  # (C, h, w) float32, the downscaled image in the fit domain (NaN as above)

    @property
    def grid(self) -> Grid:
        """The image's pixels, blocks and spline coordinates."""
        return Grid(self.shape[1], self.shape[2], self.factor)


def downscaled_bands(image: np.ndarray, factor: int) -> Iterator[tuple[slice, np.ndarray]]:
    """The image in bands of whole blocks, missing pixels as NaN, each with the downscaled rows it gives."""
    height, width = image.shape[1:]
    band = band_rows(width, factor)
    for top in range(0, height, band):
        chunk = missing_to_nan(image[:, top : top + band])
        yield slice(top // factor, top // factor + reduced_size(chunk.shape[1], factor)), chunk


def stretch_channels(image: np.ndarray, stretches: list[ChannelStretch]) -> None:
    for channel, stretch in zip(image, stretches):
        channel[...] = stretch.apply(channel)


def prepare(
    image: np.ndarray,
    params: Parameters,
    *,
    mask: np.ndarray | None = None,
    exclude: Sequence[np.ndarray] = (),
    progress: ProgressCallback | None = None,
    checked: bool = False,
) -> Prepared:
    """Stretch, downscale and mask a linear ``(C, H, W)`` image (steps 1-4).

    ``mask`` is the user's full-resolution mask (1 = background), named as
    the parameter ``mask`` in messages; ``exclude`` are areas kept out
    of the fit, ``(N, 2)`` polygons of full-resolution ``(x, y)`` vertices
    (:mod:`.exclusion`).
    ``checked``: the image comes from :func:`as_planar` already (its scan for
    infinite values is not repeated).
    """
    image = image if checked else as_planar(image)
    channels, height, width = image.shape
    factor = params.downscale
    _require_downscaled_size(height, width, factor)
    step = sample_step(height, width)
    sample = missing_to_nan(image[:, ::step, ::step])
    if not np.isfinite(sample).any():
        raise InputImageError("the image has no valid pixel (all zero or NaN)")
    peak = float(np.nanmax(np.abs(sample)))
    if peak > _LARGEST_PIXEL:
        raise InputImageError(f"pixel values reach {peak:.3g}: not image data (a damaged file?)")
    stretches = fit_stretch(sample, params.quantile, params.stretch_target)
    del sample

    stretched_ds, linear_ds = _downscaled(image, params, stretches, progress)
    mask_ds = threshold_mask(stretched_ds, params.threshold_min, params.threshold_max)
    if mask is not None:
        mask_ds = mask_ds * reduce_user_mask(
            np.asarray(mask, np.float32), image.shape, factor, params.downscale_func
        )
    if len(exclude):
        mask_ds = mask_ds * area_weights(exclude, Grid(height, width, factor))
    _require_background(stretched_ds, mask_ds, params, mask is not None, bool(len(exclude)))
    if linear_ds is not None:  # pedestal and scale removed only, not clipped: sky above the quantile keeps its level
        fit_stretches = [stretch.linear_part() for stretch in stretches]
        for channel, stretch in zip(linear_ds, stretches):
            channel[...] = stretch.normalize(channel)
        fit_ds = linear_ds
    else:  # a clipped level says only "at least the quantile": no level to fit
        fit_stretches, fit_ds = stretches, stretched_ds
        with np.errstate(invalid="ignore"):
            mask_ds = mask_ds * (stretched_ds < 1.0).all(axis=0, keepdims=True)
    return Prepared(image.shape, factor, stretches, stretched_ds, mask_ds, fit_stretches, fit_ds)


def _downscaled(image: np.ndarray, params: Parameters, stretches: list[ChannelStretch],
                progress: ProgressCallback | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The image downscaled and stretched, band by band, and (linear fit domain) downscaled unstretched."""
    channels, height, width = image.shape
    factor = params.downscale
    reduced_shape = (channels, reduced_size(height, factor), reduced_size(width, factor))
    stretched_ds = np.empty(reduced_shape, np.float32)
    linear_ds = np.empty(reduced_shape, np.float32) if params.fit_domain == "linear" else None
    # The block median commutes with the (non-decreasing) stretch, so it is taken first and only the
    # small image is stretched; a block mean is not an order statistic and needs the stretch first.
    stretch_first = params.downscale_func != "median"
    for rows, chunk in downscaled_bands(image, factor):
        if stretch_first:
            if linear_ds is not None:
                linear_ds[:, rows] = block_reduce(chunk, factor, params.downscale_func)
            stretch_channels(chunk, stretches)
            stretched_ds[:, rows] = block_reduce(chunk, factor, params.downscale_func)
        else:  # one block median of the linear values serves both
            reduced = block_reduce(chunk, factor, params.downscale_func)
            if linear_ds is not None:
                linear_ds[:, rows] = reduced
            stretch_channels(reduced, stretches)
            stretched_ds[:, rows] = reduced
        if progress is not None:
            progress(min(1.0, rows.stop * factor / height), "stretch and downscale")
    return stretched_ds, linear_ds


def _require_downscaled_size(height: int, width: int, factor: int) -> None:
    """Refuse a downscale that leaves fewer pixels than a fit needs, naming one that would do."""
    if reduced_size(height, factor) * reduced_size(width, factor) >= MIN_SAMPLES:
        return
    fitting = [f for f in range(factor - 1, 0, -1) if reduced_size(height, f) * reduced_size(width, f) >= MIN_SAMPLES]
    advice = (f"use a {{downscale}} of at most {fitting[0]}" if fitting
              else f"the image has fewer than {MIN_SAMPLES} pixels")
    raise ParameterError(
        f"{{downscale}} {factor}: the image ({width}x{height}) shrinks to {reduced_size(width, factor)}x"
        f"{reduced_size(height, factor)} pixels, fewer than the {MIN_SAMPLES} a fit needs; {advice}", "downscale"
    )


def _require_background(stretched_ds: np.ndarray, mask_ds: np.ndarray, params: Parameters, masked: bool,
                        areas: bool) -> None:
    """Refuse when too few downscaled pixels are background, saying what excluded the others."""
    usable = mask_ds.max(axis=0) > 0
    count = int(usable.sum())
    if count >= MIN_SAMPLES:
        return
    missing = ~np.isfinite(stretched_ds).all(axis=0)
    inside = threshold_mask(stretched_ds, params.threshold_min, params.threshold_max)[0] > 0
    causes = {
        "missing (0 or NaN)": int(missing.sum()),
        f"outside {{threshold_min}}..{{threshold_max}} ({params.threshold_min:g}..{params.threshold_max:g})":
            int((~missing & ~inside).sum()),
        "excluded by " + " and ".join(["{mask}"] * masked + ["the exclusion areas"] * areas):
            int((~missing & inside & ~usable).sum()),
    }
    reasons = ", ".join(f"{number} {cause}" for cause, number in causes.items() if number)
    raise MaskError(
        f"only {count} of {usable.size} downscaled pixels are background ({reasons}); "
        f"a fit needs {MIN_SAMPLES}: widen the thresholds or the mask", "threshold_min", "threshold_max",
        *("mask",) * masked
    )
