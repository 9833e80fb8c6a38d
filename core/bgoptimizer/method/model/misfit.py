"""A coherent misfit of the sky the fit kept, and the less stiff refit that follows it.

A glow rising steeply from the frame's edge bends faster than the default
smoothing lets the spline bend. The Cauchy loss then takes the part it cannot
reach for outliers, so neither more iterations nor moved control points
follow it (Adam on the control points, and an exact variable-projection
descent on them, left such models as they were or worse). What shows it is
the kept sky itself: its residual, which is noise where the model fits, has a
median of a sizeable fraction of the noise over a whole region along the
frame's edge, and a 10x less stiff spline halves it.

Following it is the default (``adapt_smoothing``; switched off, the run
warns where it would change the result visibly): on edge-glow skies at
1500x1000 (seeds 1-12) the worst error fell from 3.7 to 1.8 % of the
gradient and the real DSLR frame's sky regions came flatter (their spread
1.5 / 1.4 / 4.2 -> 0.9 / 1.1 / 3.8 % of the input's). A less stiff spline
also takes in more of a large faint object that object detection did not
mask (two of twelve two-glow skies with a galaxy: 19 -> 31 % and 0 -> 13 %
of its flux). It is never done where much of the frame is masked, since the
bending energy is what carries the model across masked areas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .samples import FitData
from .spline import SplineState
from .start import robust_solve

__all__ = ["coherent_misfit", "relax_smoothing", "ModelChange", "model_change"]

# The frame is cut into CELLS x CELLS regions; a region needs MIN_CELL_SAMPLES kept samples to count.
CELLS = 8
MIN_CELL_SAMPLES = 20
# A region whose median residual exceeds this many noise sigmas is a misfit, not noise. Measured at
# 1500x1000 on 36 scenes (stars only and with a large nebula under six gradients, and the five edge-glow
# kinds; seeds 1-3): the large-nebula scenes, which 10x less smoothing makes worse, stay at or below 0.42;
# the steep glows it helps reach 0.9-8.9.
COHERENT_MISFIT = 0.75
# Each refit divides the smoothing by RELAX_FACTOR, at most RELAX_STEPS times, while the misfit shrinks.
RELAX_FACTOR = 10.0
RELAX_STEPS = 2
# A refit is kept only when it leaves at most this share of the misfit: a glow the stiffer spline could not
# follow shrinks to 0.42-0.49 of it at 10x less smoothing (ten edge-glow scenes) and the real DSLR frame's
# glow to 0.57; what a less stiff spline cannot follow either (the ragged edges of the reprojected SDSS
# frames) keeps 0.74-1.0.
MIN_SHRINK = 0.6
# Only when objects cover less than this share of the frame: a less stiff spline follows the unmasked wings
# of a galaxy masked over 28 % of the frame beside a glow (bench/edge_glows.py, glow_big_galaxy seed 1:
# 9 -> 41 % of its flux absorbed at 1/3); at 0.15 the 1500x1000 edge-glow skies keep every gain below.
MAX_MASKED_SHARE = 0.15


# A less stiff model is worth a warning only when it would change the result visibly: by more than this
# many noise sigmas of the downscaled image (99th percentile over the kept sky). Measured (10x less
# smoothing, 1500x1000): the real DSLR frame, whose default result is flat to 0.5 sigma, 0.79; two-glow
# skies where it cuts the error from 0.7 to 0.45 % of the gradient, 1.0-2.0; where it cuts it from 2.3-3.7
# to 1.2-1.8 %, 5.9-8.1.
MATTERS = 2.5


@dataclass(frozen=True)
class ModelChange:
    """How much another model would change the result: in noise sigmas of the downscaled image, and as a
    share of the model's range (the words a warning uses)."""

    sigmas: float
    share: float

    @property
    def matters(self) -> bool:
        return self.sigmas > MATTERS


def model_change(data: FitData, state: SplineState, other: SplineState) -> ModelChange:
    """The largest (99th percentile, over the kept samples and the channels) change of the model that
    ``other`` would make, its level aside."""
    with torch.no_grad():
        current = state(data.points)
        change = other(data.points) - current
        change = (change - change.median(dim=1, keepdim=True).values).abs().quantile(0.99, dim=1)
        spread = (current.amax(dim=1) - current.amin(dim=1)).clamp_min(torch.finfo(current.dtype).tiny)
    return ModelChange(float((change / data.noise[:, 0]).max()), float((change / spread).max()))


def coherent_misfit(data: FitData, state: SplineState, extent: tuple[float, float]) -> float:
    """The largest median residual of the kept samples in one region along the frame's edge, in noise
    sigmas (light entering from an edge is steepest there)."""
    with torch.no_grad():
        residual = ((data.values - state(data.points)) / data.noise).cpu().numpy()
    points = data.points.cpu().numpy()
    column = np.minimum((points[:, 0] / extent[0] * CELLS).astype(np.int64), CELLS - 1)
    row = np.minimum((points[:, 1] / extent[1] * CELLS).astype(np.int64), CELLS - 1)
    on_border = (column == 0) | (row == 0) | (column == CELLS - 1) | (row == CELLS - 1)
    cell = np.where(on_border, row * CELLS + column, -1)
    worst = 0.0
    for index in np.unique(cell[cell >= 0]):
        chosen = cell == index
        if chosen.sum() >= MIN_CELL_SAMPLES:
            worst = max(worst, float(np.abs(np.median(residual[:, chosen], axis=1)).max()))
    return worst


def relax_smoothing(
    data: FitData, state: SplineState, smoothing: float, degree: int, extent: tuple[float, float], masked: float,
    steps: int = RELAX_STEPS,
) -> tuple[SplineState, float]:
    """``state`` refitted with less smoothing while that shrinks a coherent misfit along the frame's
    edge (at most ``steps`` times); the smoothing kept.

    The control points stay where the fit put them; each refit is the robust
    starting solve, which is the optimum for them.
    """
    if smoothing <= 0.0 or masked >= MAX_MASKED_SHARE:
        return state, smoothing
    misfit = coherent_misfit(data, state, extent)
    for _ in range(steps):
        if misfit <= COHERENT_MISFIT:
            break
        relaxed = robust_solve(data, state.centers.detach(), state.order, smoothing / RELAX_FACTOR, degree)
        relaxed_misfit = coherent_misfit(data, relaxed, extent)
        if relaxed_misfit > MIN_SHRINK * misfit:
            break
        state, smoothing, misfit = relaxed, smoothing / RELAX_FACTOR, relaxed_misfit
    return state, smoothing
