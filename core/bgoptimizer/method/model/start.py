"""The starting spline: control points laid out (or taken from a previous fit) and their first weights.

With the robust loss the weights come from iteratively reweighted least
squares for fixed control points (the Cauchy loss is linear in the weights
there); object detection's many fits are such solves too.
"""

from __future__ import annotations

import numpy as np
import torch

from ...params import Parameters
from ..prepare.preparation import Prepared
from .losses import ROBUST_SCALE
from .samples import FitData
from .spline import (
    SplineState,
    bending_matrix,
    initial_centers,
    polynomial_basis,
    polynomial_terms,
    radial_basis,
    solve_interpolation,
    term_count,
)

__all__ = ["layout", "robust_solve", "robust_solve_beside", "initial_state"]

# Reweighting rounds of the robust starting solve ...
IRLS_ROUNDS = 10
# ... of which all but the last few solve on every IRLS_STRIDE-th sample only: early rounds just
# find which samples to trust, and the normal matrices (samples x points^2) are the solve's cost.
IRLS_FULL_ROUNDS = 3
IRLS_STRIDE = 4
# Ridge on all unknowns of the robust solve, keeping it nonsingular when control points coincide.
IRLS_TIKHONOV = 1e-9


def robust_solve(
    data: FitData, centers: torch.Tensor, order: int, smoothing: float = 0.0, degree: int = 1
) -> SplineState:
    """The spline alone by :func:`robust_solve_beside` (no object profiles)."""
    return robust_solve_beside(data, centers, order, smoothing, degree)[0]


def robust_solve_beside(
    data: FitData, centers: torch.Tensor, order: int, smoothing: float = 0.0, degree: int = 1,
    profiles: torch.Tensor | None = None,
) -> tuple[SplineState, torch.Tensor]:
    """Weights and polynomial part for fixed ``centers`` minimizing the Cauchy loss plus bending
    energy, by IRLS, beside the non-negative amplitudes ``(K, C)`` of the object ``profiles``
    (``(K, P)`` at the samples; see :mod:`..objects.profiles`), which are not penalized.

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
    null_space = polynomial_basis(centers64, degree)[:, terms:]  # (N, N - M)
    free = count - terms
    basis = torch.cat(
        [
            null_space.T @ radial_basis(points, centers, order).double(),
            polynomial_terms(points.double(), degree).T,
        ]
    )  # (N, P): N - M kernel combinations and the polynomial part
    extra = 0 if profiles is None else len(profiles)
    if extra:
        basis = torch.cat([basis, profiles.double()])
    regularizer = torch.eye(count + extra, dtype=torch.float64, device=basis.device) * IRLS_TIKHONOV
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
            solutions.append(_nonnegative_tail(normal + regularizer, rhs, extra))
        theta = torch.stack(solutions, dim=1)  # (N + K, C)
        residual = (values - theta.T @ basis) / scale
        weights = data.weights.double() / (1.0 + residual * residual)
    kernel_weights = (null_space @ theta[:free]).float()
    state = SplineState(centers.clone(), kernel_weights.contiguous(), theta[free:count].float().contiguous(), order)
    return state, theta[count:]


def _nonnegative_tail(normal: torch.Tensor, rhs: torch.Tensor, extra: int) -> torch.Tensor:
    """The solution of ``normal x = rhs`` whose last ``extra`` unknowns are >= 0, by an active set
    (Lawson and Hanson): a tail unknown is freed while the residual pulls it up, and the most negative
    one is fixed at 0 again. Unconstrained, an object's narrow profile under its mask took large
    negative amplitudes that its broad ones made up for, and the sky followed them (0.8 -> 45 % RMS)."""
    # LU rather than least squares: MKL's gelsy is not bit-reproducible run to run.
    if not extra:  # the spline alone (every detection solve): one solve
        return torch.linalg.solve(normal, rhs)
    size = len(rhs)
    free = torch.ones(size, dtype=torch.bool, device=rhs.device)
    free[size - extra:] = False
    for _ in range(3 * extra + 1):
        solution = torch.zeros_like(rhs)
        solution[free] = torch.linalg.solve(normal[free][:, free], rhs[free])
        tail = solution[size - extra:]
        if (tail < 0).any():
            free[size - extra + int(torch.argmin(tail))] = False
            continue
        pull = (rhs - normal @ solution)[size - extra:]
        pull[free[size - extra:]] = 0.0
        if float(pull.max()) <= 1e-12 * float(rhs.abs().max()):
            break
        free[size - extra + int(torch.argmax(pull))] = True
    return solution


def layout(prepared: Prepared, params: Parameters, count: int | None = None, layout: str | None = None) -> np.ndarray:
    """Control points laid out by ``params`` (or the given count and layout), seeded."""
    return initial_centers(count or params.points, prepared.grid.extent, layout or params.init,
                           np.random.default_rng(params.seed))


def initial_state(
    prepared: Prepared, params: Parameters, data: FitData, device: torch.device, previous: SplineState | None,
    profiles: torch.Tensor | None = None,
) -> tuple[SplineState, torch.Tensor]:
    """Starting spline: robust regression (robust loss) or interpolation of control values (reference),
    and the amplitudes ``(K, C)`` of the object ``profiles`` fitted beside it (robust loss only).

    The control points are laid out by ``params.init``, or taken from
    ``previous`` (a fit of a similar image with ``params.points`` points).
    """
    if previous is not None:
        centers = previous.centers.detach().cpu().numpy().astype(np.float32)
        centers = np.clip(centers, 0.0, np.asarray(prepared.grid.extent, np.float32))
    else:
        centers = layout(prepared, params)
    if params.loss == "robust":
        return robust_solve_beside(data, torch.from_numpy(centers).to(device), params.order, params.smoothing,
                                   params.poly_degree, profiles)
    _, rows_ds, cols_ds = prepared.fit_ds.shape
    cols = prepared.grid.block_index(centers[:, 0], cols_ds)
    rows = prepared.grid.block_index(centers[:, 1], rows_ds)
    median = data.values.median(dim=1).values.cpu().numpy()
    pixel = np.nan_to_num(prepared.fit_ds[:, rows, cols].T, nan=0.0)
    weight = prepared.mask_ds[:, rows, cols].T
    values = weight * pixel + (1.0 - weight) * median
    weights, polynomial = solve_interpolation(centers, values, params.order, params.poly_degree)
    state = SplineState(
        torch.from_numpy(centers).to(device),
        torch.from_numpy(weights).to(device),
        torch.from_numpy(polynomial).to(device),
        params.order,
    )
    return state, torch.zeros((0, len(data.values)), dtype=torch.float64, device=device)
