"""The losses the fit minimizes (besides the bending energy the optimizer adds).

``reference`` is the method's original per-pixel log loss, whose fixed 0.001
scale sits far below the noise of a downscaled image (typically 0.01-0.02 in
stretched units), so it follows noise and converges slowly. ``robust`` (the
default) is a Cauchy loss on residuals measured in units of the measured
noise (:func:`~bgoptimizer.samples.noise_levels`).
"""

from __future__ import annotations

import torch

from .samples import FitData

__all__ = ["LOSSES", "ROBUST_SCALE", "reference_loss", "robust_loss"]

# Scale of the per-pixel log loss: residuals well below it count linearly, above it logarithmically.
LOSS_SCALE = 1e-3
# Cauchy scale of the robust loss, in units of the measured noise.
ROBUST_SCALE = 2.0


def reference_loss(model: torch.Tensor, data: FitData, alpha: float) -> torch.Tensor:
    """The method's robust loss: mean over pixels of log(scale + error + color + alpha * penalties)."""
    residual = data.weights * (data.values - model)
    magnitude = residual.abs()
    error = magnitude.mean(dim=0)
    overshoot = (magnitude - residual).mean(dim=0)
    negative = (model.abs() - model).mean()
    terms = error + alpha * (overshoot + negative)
    if residual.shape[0] > 1:
        spread = residual - residual.mean(dim=0)
        terms = terms + (spread * spread).mean(dim=0)
    return torch.log(LOSS_SCALE + terms).mean()


def robust_loss(model: torch.Tensor, data: FitData, alpha: float) -> torch.Tensor:
    """Mask-weighted Cauchy loss of noise-scaled residuals plus ``alpha`` x the negative-model penalty."""
    scale = ROBUST_SCALE * data.noise
    scaled = (data.values - model) / scale
    cauchy = (data.weights * torch.log1p(scaled * scaled)).sum(dim=1) / data.weights.sum(dim=1)
    negative = (torch.relu(-model) / scale).mean(dim=1)
    return (cauchy + alpha * negative).mean()


LOSSES = {"robust": robust_loss, "reference": reference_loss}
