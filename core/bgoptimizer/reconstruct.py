"""Step 7: the spline at full resolution with the stretch undone, in bands of rows."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from .bands import BAND_PIXELS, band_rows
from .preparation import Prepared
from .progress import ProgressCallback
from .spline import SplineState, evaluate_grid

__all__ = ["model_bands"]

# Pixels between exact spline evaluations in grid reconstruction.
_GRID_STEP = 4


def model_bands(
    state: SplineState, prepared: Prepared, exact: bool, progress: ProgressCallback | None
) -> Iterator[tuple[int, np.ndarray]]:
    """The linear background in bands of rows, ``(top, (C, rows, W))``: the spline at full
    resolution, stretch undone (step 7); never the whole model at once.

    In the stretched fit domain the model is clamped to [0, 1] before
    inverting (above 1 the stretch clipped: no background lives there); the
    linear fit domain is not clipped (:meth:`ChannelStretch.unbend`).
    """
    _, height, width = prepared.shape
    if exact or min(height, width) < 4 * _GRID_STEP:
        bands = _exact_bands(state, prepared)
    else:
        bands = _grid_bands(state, prepared)
    for top, stretched in bands:
        linear = np.empty(stretched.shape, np.float32)
        for channel, stretch in enumerate(prepared.fit_stretches):
            linear[channel] = stretch.invert(stretched[channel])
        yield top, linear
        if progress is not None:
            progress((top + linear.shape[1]) / height, "reconstruct")


def _exact_bands(state: SplineState, prepared: Prepared) -> Iterator[tuple[int, np.ndarray]]:
    """Every pixel evaluated, in bands of bounded memory."""
    _, height, width = prepared.shape
    device = state.centers.device
    x = (torch.arange(width, dtype=torch.float32, device=device) + 0.5) / prepared.length
    band = band_rows(width, 1)
    with torch.no_grad():
        for top in range(0, height, band):
            bottom = min(height, top + band)
            y = (torch.arange(top, bottom, dtype=torch.float32, device=device) + 0.5) / prepared.length
            yield top, evaluate_grid(state, x, y).cpu().numpy()


def _grid_nodes(size: int) -> np.ndarray:
    """Pixel-center positions every ``_GRID_STEP`` pixels, from one step before the first pixel to
    at least one step after the last, so that no pixel is interpolated from a border-clamped kernel."""
    count = int(np.ceil((size - 1) / _GRID_STEP)) + 3
    return 0.5 + _GRID_STEP * (np.arange(count) - 1.0)


def _grid_bands(state: SplineState, prepared: Prepared) -> Iterator[tuple[int, np.ndarray]]:
    """The model in the fit domain on a coarse grid, upsampled bicubically, in bands.

    With ``align_corners`` an output of ``(n - 1) * step + 1`` samples from n
    nodes puts node k exactly on output k * step, i.e. on pixel k * step - step.
    Bands of node rows are interpolated with two spare nodes on each side,
    which the bicubic kernel needs, so banding changes nothing but memory.
    Interpolating before any clamp (:func:`model_bands`) keeps its kink out of the kernel.
    """
    _, height, width = prepared.shape
    step = _GRID_STEP
    device = state.centers.device
    x_nodes, y_nodes = _grid_nodes(width), _grid_nodes(height)
    x = torch.from_numpy(x_nodes / prepared.length).float().to(device)
    y = torch.from_numpy(y_nodes / prepared.length).float().to(device)
    with torch.no_grad():
        nodes = evaluate_grid(state, x, y).cpu()
    out_width = (len(x_nodes) - 1) * step + 1
    band = max(1, BAND_PIXELS // (out_width * step))  # node rows per band
    for first in range(0, len(y_nodes) - 1, band):
        last = min(len(y_nodes) - 1, first + band)
        top, bottom = max(first * step, step), min(last * step, step + height)  # output rows, image part
        if top >= bottom:
            continue
        low, high = max(0, first - 2), min(len(y_nodes), last + 3)
        upsampled = torch.nn.functional.interpolate(
            nodes[None, :, low:high], size=((high - low - 1) * step + 1, out_width), mode="bicubic",
            align_corners=True,
        )[0, :, top - low * step : bottom - low * step, step : step + width]
        yield top - step, upsampled.numpy()
