"""What a fit will do, at the downscaled size, for a front end's preview: the fit of a full run without
reconstructing at full resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..params import Parameters
from ..progress import CancelCheck
from .display import shown_from_fit
from .fit import FitReport, fit_with_objects
from .model.samples import grid_coordinates
from .model.spline import evaluate_grid
from .prepare.preparation import Prepared

__all__ = ["PreviewFit", "preview_fit"]


@dataclass
class PreviewFit:
    """What a fit will do, at the downscaled size: ``(C, h, w)`` display-stretched images in [0, 1]."""

    model: np.ndarray  # the background model
    corrected: np.ndarray  # the image with the model removed (sky level kept)
    objects: np.ndarray  # (h, w) bool: kept out of the fit as large objects
    points: np.ndarray  # (N, 2) control points, in downscaled pixels (x, y)
    report: FitReport


def preview_fit(prepared: Prepared, params: Parameters, *, cancel: CancelCheck | None = None,
                device: str = "auto") -> PreviewFit:
    """The fit on the downscaled image alone (the full run's fit, without steps 7-8), for a preview:
    the model and the corrected image shown with the input's display stretch."""
    state, report, found = fit_with_objects(prepared, params, None, cancel, None, device)
    with torch.no_grad():
        model_fit = evaluate_grid(state, *grid_coordinates(prepared)).cpu().numpy()
    model, corrected = shown_from_fit(prepared, model_fit, params.neutral, params.mode)
    points = prepared.grid.blocks_of_spline(state.centers.detach().cpu().numpy())
    return PreviewFit(model, corrected, found, points, report)
