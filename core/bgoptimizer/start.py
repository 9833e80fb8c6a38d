"""The starting spline: control points laid out (or taken from a previous fit) and their first weights."""

from __future__ import annotations

import numpy as np
import torch

from .fit import FitData, robust_solve
from .params import Parameters
from .preparation import Prepared
from .spline import SplineState, initial_centers, solve_interpolation

__all__ = ["layout", "initial_state"]

def layout(prepared: Prepared, params: Parameters, count: int | None = None, layout: str | None = None) -> np.ndarray:
    """Control points laid out by ``params`` (or the given count and layout), seeded."""
    return initial_centers(count or params.points, prepared.extent, layout or params.init,
                           np.random.default_rng(params.seed))


def initial_state(
    prepared: Prepared, params: Parameters, data: FitData, device: torch.device, previous: SplineState | None
) -> SplineState:
    """Starting spline: robust regression (robust loss) or interpolation of control values (reference).

    The control points are laid out by ``params.init``, or taken from
    ``previous`` (a fit of a similar image with ``params.points`` points).
    """
    if previous is not None:
        centers = previous.centers.detach().cpu().numpy().astype(np.float32)
        centers = np.clip(centers, 0.0, np.asarray(prepared.extent, np.float32))
    else:
        centers = layout(prepared, params)
    if params.loss == "robust":
        return robust_solve(data, torch.from_numpy(centers).to(device), params.order, params.smoothing,
                            params.poly_degree)
    _, rows_ds, cols_ds = prepared.fit_ds.shape
    cols = np.clip((centers[:, 0] * prepared.length / prepared.factor).astype(int), 0, cols_ds - 1)
    rows = np.clip((centers[:, 1] * prepared.length / prepared.factor).astype(int), 0, rows_ds - 1)
    median = data.values.median(dim=1).values.cpu().numpy()
    pixel = np.nan_to_num(prepared.fit_ds[:, rows, cols].T, nan=0.0)
    weight = prepared.mask_ds[:, rows, cols].T
    values = weight * pixel + (1.0 - weight) * median
    weights, polynomial = solve_interpolation(centers, values, params.order, params.poly_degree)
    return SplineState(
        torch.from_numpy(centers).to(device),
        torch.from_numpy(weights).to(device),
        torch.from_numpy(polynomial).to(device),
        params.order,
    )
