"""Polyharmonic spline: kernel, interpolation solve and evaluation.

``s(x) = sum_i w_i phi(|x - c_i|) + v . p(x)`` with one value per channel:
``centers`` ``(N, 2)``, ``weights`` ``(N, C)``, ``polynomial`` ``(M, C)``, where
``p(x)`` holds the M monomials of degree at most d (``[1, x, y]`` for d = 1,
the method's affine part; d = 2 adds ``x^2, xy, y^2``). Coordinates are
``(x, y)`` in units of the image's longer side, so the kernel is isotropic in
pixels whatever the aspect ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...terms import polynomial_degree, term_count

__all__ = [
    "polynomial_basis",
    "SplineState",
    "polynomial_terms",
    "term_count",
    "polynomial_degree",
    "radial_basis",
    "bending_matrix",
    "evaluate",
    "evaluate_grid",
    "solve_interpolation",
    "initial_centers",
]

# Candidates per point of the best-candidate random layout.
_CANDIDATES = 8
# Grid evaluations are chunked to about this many kernel values.
_KERNEL_CHUNK = 1_000_000
# Squared distances are floored here: the kernels' derivatives are singular at 0.
_MIN_D2 = 1e-12


def _kernel(d2: torch.Tensor, order: int, slope: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """phi(d2) (r, r^2 log r, r^3, r^4 log r or r^5 of the squared distance) and, if asked, d(phi)/d(d2).

    Works in place on ``d2`` (which becomes phi): at most two ``(N, P)`` buffers
    (three for r^4 log r and r^5 with the slope).
    """
    d2 = d2.clamp_min_(_MIN_D2)
    if order == 1:
        root = d2.sqrt_()
        return root, root.reciprocal().mul_(0.5) if slope else None
    if order == 2:
        log = d2.log()
        return d2.mul_(log).mul_(0.5), log.mul_(0.5).add_(0.5) if slope else None
    if order == 3:
        root = d2.sqrt()
        return d2.mul_(root), root.mul_(1.5) if slope else None
    if order == 4:
        log = d2.log()
        slope_value = (log + 0.5).mul_(d2) if slope else None
        return d2.mul_(d2).mul_(log).mul_(0.5), slope_value
    if order == 5:
        root = d2.sqrt()
        slope_value = (root * d2).mul_(2.5) if slope else None
        return d2.mul_(d2).mul_(root), slope_value
    raise ValueError(f"order must be 1, 2, 3, 4 or 5; got {order}")


def polynomial_terms(points: torch.Tensor, degree: int) -> torch.Tensor:
    """``(P, M)`` monomials ``1, x, y, x^2, xy, y^2, ...`` of degree at most ``degree`` at ``points``."""
    x, y = points[:, :1], points[:, 1:2]
    columns = [torch.ones_like(x)]
    for total in range(1, degree + 1):
        columns.extend(x ** (total - power) * y**power for power in range(total + 1))
    return torch.cat(columns, dim=1)


def _lifted_points(points: torch.Tensor) -> torch.Tensor:
    """``(P, 4)`` rows ``[-2x, -2y, 1, x^2 + y^2]``: with :func:`_lifted_centers`, one matmul gives d2."""
    ones = torch.ones_like(points[:, :1])
    return torch.cat([-2.0 * points, ones, (points * points).sum(1, keepdim=True)], dim=1)


def _lifted_centers(centers: torch.Tensor) -> torch.Tensor:
    ones = torch.ones_like(centers[:, :1])
    return torch.cat([centers, (centers * centers).sum(1, keepdim=True), ones], dim=1)


def _squared_distances(points: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """``(N, P)`` squared distances |c|^2 + |p|^2 - 2 c.p as a single matrix product."""
    return _lifted_centers(centers) @ _lifted_points(points).T


def radial_basis(points: torch.Tensor, centers: torch.Tensor, order: int) -> torch.Tensor:
    """``(N, P)`` kernel values phi(|c_n - p|) of every control point at every point."""
    return _kernel(_squared_distances(points, centers), order, slope=False)[0]


class _RadialPart(torch.autograd.Function):
    """``w^T phi(|c - p|)``, ``(C, P)``, with a hand-written backward.

    Autograd through the kernel keeps a dozen ``(P, N)`` temporaries; here the
    backward needs only phi and its slope, and the control-point gradient
    ``sum_p g_pn (p - c_n)`` is two matrix products.
    """

    @staticmethod
    def forward(ctx, points, centers, weights, order):  # type: ignore[override]
        basis, slope = _kernel(_squared_distances(points, centers), order, slope=True)
        ctx.save_for_backward(points, centers, weights, basis, slope)
        return weights.T @ basis

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        points, centers, weights, basis, slope = ctx.saved_tensors
        grad_weights = basis @ grad_out.T if ctx.needs_input_grad[2] else None
        grad_centers = None
        if ctx.needs_input_grad[1]:
            pull = (weights @ grad_out).mul_(slope)  # dLoss/d(d2), (N, P)
            grad_centers = -2.0 * (pull @ points - centers * pull.sum(1, keepdim=True))
        return None, grad_centers, grad_weights, None


def bending_matrix(centers: torch.Tensor, order: int) -> torch.Tensor:
    """``(N, N)`` matrix B with ``w^T B w`` the spline's bending energy (up to a constant factor).

    Valid for weights with ``P^T w = 0`` (P: the polynomial part's terms at
    the centers, degree 1 or more; 2 or more for r^4 log r and r^5), on which
    the kernel matrix is definite: positive for r^2 log r and r^3, negative
    for r, r^4 log r and r^5 (hence the signs).
    Differentiable in ``centers`` (no in-place kernel).
    """
    d2 = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1).clamp_min(_MIN_D2)
    if order == 1:
        return -d2.sqrt()
    if order == 2:
        return 0.5 * d2 * d2.log()
    if order == 3:
        return d2 * d2.sqrt()
    if order == 4:
        return -0.5 * d2 * d2 * d2.log()
    if order == 5:
        return -(d2 * d2 * d2.sqrt())
    raise ValueError(f"order must be 1, 2, 3, 4 or 5; got {order}")


def evaluate(
    points: torch.Tensor,
    centers: torch.Tensor,
    weights: torch.Tensor,
    polynomial: torch.Tensor,
    order: int,
) -> torch.Tensor:
    """Spline values ``(C, P)`` at ``points`` ``(P, 2)``; the polynomial's degree follows from its rows."""
    if torch.is_grad_enabled() and (centers.requires_grad or weights.requires_grad):
        radial = _RadialPart.apply(points, centers, weights, order)
    else:
        radial = weights.T @ radial_basis(points, centers, order)
    return radial + polynomial.T @ polynomial_terms(points, polynomial_degree(len(polynomial))).T


@dataclass
class SplineState:
    """The fitted spline: control points, kernel weights and polynomial part (tensors)."""

    centers: torch.Tensor
    weights: torch.Tensor
    polynomial: torch.Tensor
    order: int

    @property
    def degree(self) -> int:
        return polynomial_degree(len(self.polynomial))

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        return evaluate(points, self.centers, self.weights, self.polynomial, self.order)

    def detached(self) -> SplineState:
        return SplineState(
            self.centers.detach().clone(),
            self.weights.detach().clone(),
            self.polynomial.detach().clone(),
            self.order,
        )


def evaluate_grid(
    state: SplineState,
    x: torch.Tensor,
    y: torch.Tensor,
) -> torch.Tensor:
    """Spline values ``(C, len(y), len(x))`` on the grid of ``x`` (columns) and ``y`` (rows).

    Evaluated a few rows at a time, so that the (points x control points)
    kernel matrix stays near ``_KERNEL_CHUNK`` values whatever the grid's size.
    """
    rows = max(1, _KERNEL_CHUNK // max(1, len(x) * len(state.centers)))
    chunks = []
    for top in range(0, len(y), rows):
        grid_y, grid_x = torch.meshgrid(y[top : top + rows], x, indexing="ij")
        points = torch.stack((grid_x.reshape(-1), grid_y.reshape(-1)), dim=1)
        chunks.append(state(points).reshape(-1, len(grid_y), len(x)))
    return torch.cat(chunks, dim=1)


def solve_interpolation(
    centers: np.ndarray, values: np.ndarray, order: int, degree: int = 1, ridge: float = 1e-7
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(N, C)`` and polynomial part ``(M, C)`` of the spline through ``values`` at ``centers``.

    Solved in float64: the saddle-point system of a polyharmonic spline is
    ill-conditioned in float32, and at N+3 unknowns the cost is nil. A tiny
    ridge keeps coincident control points solvable.
    """
    centers64 = torch.from_numpy(np.asarray(centers, dtype=np.float64))
    count = len(centers64)
    basis = radial_basis(centers64, centers64, order).numpy()
    poly = polynomial_terms(centers64, degree).numpy()
    size = count + poly.shape[1]
    system = np.zeros((size, size))
    system[:count, :count] = basis + ridge * np.eye(count)
    system[:count, count:] = poly
    system[count:, :count] = poly.T
    rhs = np.zeros((size, values.shape[1]))
    rhs[:count] = values
    try:
        solution = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        solution = np.linalg.lstsq(system, rhs, rcond=None)[0]
    return solution[:count].astype(np.float32), solution[count:].astype(np.float32)


def initial_centers(
    count: int, extent: tuple[float, float], layout: str, generator: np.random.Generator
) -> np.ndarray:
    """Initial control points ``(N, 2)`` inside ``[0, extent_x) x [0, extent_y)``.

    ``grid`` places ``round(sqrt(N))**2`` points at the centers of a regular
    grid of cells. ``random`` draws uniform points by best-candidate sampling
    (each point is the farthest from the others of a few uniform candidates):
    still random, but without the near-coincident pairs that make the
    interpolation system ill-conditioned, and with the corners covered.
    """
    width, height = extent
    if layout == "grid":
        side = max(2, round(np.sqrt(count)))
        gx = (np.arange(side) + 0.5) / side * width
        gy = (np.arange(side) + 0.5) / side * height
        xx, yy = np.meshgrid(gx, gy)
        return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    if layout == "random":
        size = np.array([width, height])
        chosen = generator.random((1, 2)) * size
        for _ in range(count - 1):
            candidates = generator.random((_CANDIDATES, 2)) * size
            gaps = ((candidates[:, None, :] - chosen[None]) ** 2).sum(-1).min(axis=1)
            chosen = np.vstack([chosen, candidates[np.argmax(gaps)]])
        return chosen.astype(np.float32)
    raise ValueError(f"init must be 'random' or 'grid'; got {layout!r}")


def polynomial_basis(centers: torch.Tensor, degree: int) -> torch.Tensor:
    """Orthonormal ``(N, N)`` Q of P (the polynomial terms at the centers): its first M columns
    span P, the rest the null space of ``P^T`` (the side conditions ``P^T w = 0``)."""
    return torch.linalg.qr(polynomial_terms(centers, degree), mode="complete")[0]
