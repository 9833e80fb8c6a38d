"""Step 7: the spline at full resolution with the stretch undone, in bands of rows."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from ...io.bands import band_rows
from ...progress import ProgressCallback
from ..model.spline import SplineState, evaluate_grid
from ..prepare.preparation import Prepared

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
    grid = prepared.grid
    x = grid.spline_of_pixel_centres(torch.arange(width, dtype=torch.float32, device=device))
    band = band_rows(width, 1)
    with torch.no_grad():
        for top in range(0, height, band):
            bottom = min(height, top + band)
            y = grid.spline_of_pixel_centres(torch.arange(top, bottom, dtype=torch.float32, device=device))
            yield top, evaluate_grid(state, x, y).cpu().numpy()


def _grid_nodes(size: int) -> np.ndarray:
    """Pixel-center positions every ``_GRID_STEP`` pixels, from one step before the first pixel to
    at least one step after the last: node ``m`` sits on pixel ``(m - 1) * step``, every pixel
    between two nodes has the two on each side that the cubic kernel weighs, and a pixel on a node
    takes that node's value."""
    count = int(np.ceil((size - 1) / _GRID_STEP)) + 3
    return 0.5 + _GRID_STEP * (np.arange(count) - 1.0)


def _cubic_weights(step: int) -> np.ndarray:
    """``(step, 4)``: the weights of the four nodes around a pixel ``phase / step`` of the way from
    one node to the next (Keys' cubic convolution, a = -0.75, as ``interpolate(mode="bicubic")``)."""
    a = -0.75
    t = np.arange(step)[:, None] / step + np.array([1.0, 0.0, -1.0, -2.0])  # distances to the 4 nodes
    d = np.abs(t)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, far)


def _upsample(nodes: torch.Tensor, axis: int, size: int, step: int) -> torch.Tensor:
    """``size`` pixels along ``axis`` from the nodes (node ``m`` on pixel ``(m - 1) * step``) by cubic
    convolution: pixel ``step * i + phase`` weighs nodes ``i .. i + 3`` (a pixel on node ``i + 1``
    takes its value: the other weights are 0, and the grid's last node may be ``i + 2``). Separable
    and 4 taps per pixel and axis, it does a quarter of the multiply-adds of a 2-D bicubic kernel."""
    shape = list(nodes.shape)
    shape[axis] = size
    pixels = nodes.new_empty(shape)
    for phase, weights in enumerate(_cubic_weights(step)):
        count = len(range(phase, size, step))
        if count == 0:
            continue
        (first, weight), *rest = [(tap, float(weight)) for tap, weight in enumerate(weights) if weight != 0.0]
        total = nodes.narrow(axis, first, count) * weight
        for tap, weight in rest:
            total.add_(nodes.narrow(axis, tap, count), alpha=weight)
        index = [slice(None)] * len(shape)
        index[axis] = slice(phase, size, step)
        pixels[tuple(index)] = total
    return pixels


def _grid_bands(state: SplineState, prepared: Prepared) -> Iterator[tuple[int, np.ndarray]]:
    """The model in the fit domain on a coarse grid, upsampled by cubic convolution, in bands.

    A band of rows starts on a node (``top`` a multiple of the step), so it
    needs the node rows ``top / step`` on and gives the same pixels as the
    whole image would. Interpolating before any clamp (:func:`model_bands`)
    keeps its kink out of the kernel.
    """
    _, height, width = prepared.shape
    step = _GRID_STEP
    device = state.centers.device
    x = torch.from_numpy(prepared.grid.spline_of_edges(_grid_nodes(width))).float().to(device)
    y = torch.from_numpy(prepared.grid.spline_of_edges(_grid_nodes(height))).float().to(device)
    with torch.no_grad():
        nodes = evaluate_grid(state, x, y)
        band = band_rows(width, step)
        for top in range(0, height, band):
            rows = min(band, height - top)
            first = top // step
            on_rows = _upsample(nodes[:, first : first + (rows - 1) // step + 4], 1, rows, step)  # (C, rows, nodes)
            yield top, _upsample(on_rows, 2, width, step).cpu().numpy()
