"""Losses, the robust starting solve and the optimizer loop.

Two losses are offered. ``reference`` is the method's original per-pixel
log loss, whose fixed 0.001 scale sits far below the noise of a downscaled
image (typically 0.01-0.02 in stretched units), so it follows noise and
converges slowly. ``robust`` (the default) is a Cauchy loss on residuals
measured in units of the measured noise; being linear in the weights for
fixed control points, it is first solved by iteratively reweighted least
squares, and Adam then moves control points and weights together.

The loop keeps the best parameters on the device and talks to the host only
every few iterations (progress, cancel, early stop, learning-rate plateau), so
a GPU is not stalled by a sync per iteration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import Cancelled
from .progress import CancelCheck, ProgressCallback
from .spline import SplineState, bending_matrix, polynomial_terms, radial_basis, term_count

__all__ = [
    "FitData",
    "FitOutcome",
    "LOSSES",
    "reference_loss",
    "robust_loss",
    "noise_levels",
    "robust_solve",
    "optimize",
]


# Scale of the per-pixel log loss: residuals well below it count linearly, above it logarithmically.
LOSS_SCALE = 1e-3
# An iteration improves on the best loss only by more than this.
MIN_DELTA = 5e-5
# The learning rate halves on a plateau but not below min(lr, LR_FLOOR).
LR_FLOOR = 1e-4
# Iterations between host checks.
CHECK_EVERY = 10
# Cauchy scale of the robust loss, in units of the measured noise.
ROBUST_SCALE = 2.0
# Reweighting rounds of the robust starting solve ...
IRLS_ROUNDS = 10
# ... of which all but the last few solve on every IRLS_STRIDE-th sample only: early rounds just
# find which samples to trust, and the normal matrices (samples x points^2) are the solve's cost.
IRLS_FULL_ROUNDS = 3
IRLS_STRIDE = 4
# Ridge on all unknowns of the robust solve, keeping it nonsingular when control points coincide.
IRLS_TIKHONOV = 1e-9


@dataclass
class FitData:
    """Background samples on the fitting device: the pixels not fully masked."""

    points: torch.Tensor  # (P, 2) coordinates
    values: torch.Tensor  # (C, P) stretched, downscaled image
    weights: torch.Tensor  # (1, P) or (C, P) mask weights in (0, 1]
    noise: torch.Tensor  # (C, 1) noise level of each channel, stretched units


@dataclass
class FitOutcome:
    state: SplineState
    loss: float
    iterations: int
    stopped_early: bool


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


def noise_levels(data_ds: np.ndarray, mask_ds: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """Per-channel noise sigma ``(C,)`` of the downscaled image, from neighbour differences.

    The median absolute second difference of three horizontally adjacent
    background pixels ignores most objects and cancels the gradient's local
    slope, which a first difference counts as noise (a gradient 50x the noise
    doubled that estimate and halved every object's significance).
    """
    background = mask_ds.max(axis=0) > 0
    triples = background[:, 2:] & background[:, 1:-1] & background[:, :-2]
    levels = []
    for channel in data_ds:
        curvature = np.abs(channel[:, 2:] - 2.0 * channel[:, 1:-1] + channel[:, :-2])[triples]
        curvature = curvature[np.isfinite(curvature)]
        sigma = float(np.median(curvature)) / (0.6745 * np.sqrt(6.0)) if curvature.size else 0.0
        levels.append(sigma)
    levels = np.asarray(levels, np.float32)
    # A noiseless (synthetic or heavily smoothed) image still needs a finite scale.
    return np.maximum(levels, floor)


def _polynomial_basis(centers: torch.Tensor, degree: int) -> torch.Tensor:
    """Orthonormal ``(N, N)`` Q of P (the polynomial terms at the centers): its first M columns
    span P, the rest the null space of ``P^T`` (the side conditions ``P^T w = 0``)."""
    return torch.linalg.qr(polynomial_terms(centers, degree), mode="complete")[0]


def robust_solve(
    data: FitData, centers: torch.Tensor, order: int, smoothing: float = 0.0, degree: int = 1
) -> SplineState:
    """Weights and polynomial part for fixed ``centers`` minimizing the Cauchy loss plus bending
    energy, by IRLS.

    Each round is a weighted least-squares solve per channel; the reweighting
    makes stars and nebulae (large residuals) count little. The kernel
    weights are kept in the null space of the side conditions ``P^T w = 0``
    (a basis ``Z`` from a QR of ``P``), where ``w^T K w`` is the spline's
    bending energy and ``smoothing`` x it a proper roughness penalty: it keeps
    the surface from bulging across masked areas, where no data hold it. The
    polynomial part (degree ``degree``) is not penalized: a trend of that
    degree crosses a masked area unbent.
    """
    count = len(centers)
    points = data.points
    centers64 = centers.double()
    terms = term_count(degree)
    null_space = _polynomial_basis(centers64, degree)[:, terms:]  # (N, N - M)
    free = count - terms
    basis = torch.cat(
        [
            null_space.T @ radial_basis(points, centers, order).double(),
            polynomial_terms(points.double(), degree).T,
        ]
    )  # (N, P): N - M kernel combinations and the polynomial part
    regularizer = torch.eye(count, dtype=torch.float64, device=basis.device) * IRLS_TIKHONOV
    if smoothing > 0.0:
        regularizer[:free, :free] += smoothing * null_space.T @ bending_matrix(centers64, order) @ null_space
    values = data.values.double()
    weights = data.weights.double().expand_as(values)
    scale = (ROBUST_SCALE * data.noise).double()
    for round_ in range(IRLS_ROUNDS):
        part = slice(None, None, 1 if round_ >= IRLS_ROUNDS - IRLS_FULL_ROUNDS else IRLS_STRIDE)
        solutions = []
        for channel in range(values.shape[0]):
            used, trust = basis[:, part], weights[channel, part]
            weighted = used * trust
            normal = weighted @ used.T / trust.sum()
            rhs = weighted @ values[channel, part] / trust.sum()
            # LU rather than least squares: MKL's gelsy is not bit-reproducible run to run.
            solutions.append(torch.linalg.solve(normal + regularizer, rhs))
        theta = torch.stack(solutions, dim=1)  # (N, C)
        residual = (values - theta.T @ basis) / scale
        weights = data.weights.double() / (1.0 + residual * residual)
    kernel_weights = (null_space @ theta[:free]).float()
    return SplineState(centers.clone(), kernel_weights.contiguous(), theta[free:].float().contiguous(), order)


class _Adam:
    """Adam (Kingma & Ba) with PyTorch's default constants.

    Our own few lines rather than ``torch.optim.Adam``, whose first step costs
    about a second per process (it initializes the compiler stack), more than
    the whole fit of a typical image.
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        correction1 = 1.0 - beta1**self.steps
        root_correction2 = math.sqrt(1.0 - beta2**self.steps)
        for param, (mean, square) in zip(self.params, self.moments):
            grad = param.grad
            mean.mul_(beta1).add_(grad, alpha=1.0 - beta1)
            square.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
            denominator = (square.sqrt() / root_correction2).add_(self.eps)
            param.addcdiv_(mean, denominator, value=-self.lr / correction1)

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None


@torch.no_grad()
def _project_side_conditions(state: SplineState) -> None:
    """Remove the part of the kernel weights that breaks ``P^T w = 0`` for the current centers."""
    basis = _polynomial_basis(state.centers, state.degree)[:, : len(state.polynomial)]
    state.weights.sub_(basis @ (basis.T @ state.weights))


def optimize(
    data: FitData,
    initial: SplineState,
    *,
    epochs: int,
    lr: float,
    alpha: float,
    patience: int,
    loss: str = "robust",
    smoothing: float = 0.0,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> FitOutcome:
    """Minimize the chosen loss with Adam, stopping early and restoring the best state.

    With the robust loss and ``smoothing`` > 0 the objective is the one
    :func:`robust_solve` minimizes (bending energy included), and the kernel
    weights are projected back onto ``P^T w = 0`` after each step, so a
    robust start is already optimal for its control points and Adam only
    keeps what moving them gains.
    """
    base_loss = LOSSES[loss]
    bending = smoothing if loss == "robust" else 0.0

    def loss_function(state: SplineState) -> torch.Tensor:
        value = base_loss(state(data.points), data, alpha)
        if bending > 0.0:
            energy = (state.weights * (bending_matrix(state.centers, state.order) @ state.weights)).sum(dim=0)
            value = value + bending * (energy / (ROBUST_SCALE * data.noise[:, 0]) ** 2).mean()
        return value

    state = initial.detached()
    params = [state.centers, state.weights, state.polynomial]
    for tensor in params:
        tensor.requires_grad_(True)
    best = [tensor.detach().clone() for tensor in params]
    device = state.centers.device
    best_loss = torch.tensor(math.inf, device=device)
    since_best = torch.zeros((), dtype=torch.int64, device=device)
    optimizer = _Adam(params, lr=lr)
    floor = min(lr, LR_FLOOR)
    plateau = max(1, patience // 2)
    last_reduction = 0
    iteration = 0
    stopped_early = False
    while iteration < epochs:
        optimizer.zero_grad()
        value = loss_function(state)
        value.backward()
        with torch.no_grad():
            improved = value < best_loss - MIN_DELTA
            best_loss = torch.where(improved, value, best_loss)
            since_best = torch.where(improved, 0, since_best + 1)
            for saved, tensor in zip(best, params):
                saved.copy_(torch.where(improved, tensor, saved))
        optimizer.step()
        if bending > 0.0:
            _project_side_conditions(state)
        iteration += 1
        if iteration % CHECK_EVERY and iteration != epochs:
            continue
        waited = int(since_best)
        if progress is not None:
            progress(iteration / epochs, f"fit {iteration}/{epochs}, loss {float(best_loss):.5f}")
        if cancel is not None and cancel():
            raise Cancelled("cancelled during the fit")
        if waited >= patience:
            stopped_early = True
            break
        if waited >= plateau and iteration - last_reduction >= plateau and optimizer.lr > floor:
            optimizer.lr = max(floor, optimizer.lr / 2)
            last_reduction = iteration
    if epochs == 0:
        with torch.no_grad():
            best_loss = loss_function(state)
    fitted = SplineState(best[0], best[1], best[2], state.order)
    return FitOutcome(fitted, float(best_loss), iteration, stopped_early)
