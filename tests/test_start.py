"""The robust start (method/model/start.py): the side conditions kept, a masked hole bridged by the bending
energy, and a quadratic trend carried across it by the polynomial part."""

import numpy as np
import torch

from bgoptimizer.method.model.samples import FitData
from bgoptimizer.method.model.start import robust_solve


def _samples_around_a_hole(seed: int, surface) -> tuple[FitData, torch.Tensor]:
    """3000 samples of ``surface(points)`` plus noise 0.01 on the unit square, a hole of radius 0.3
    in the middle left out, and 64 random control points."""
    rng = np.random.default_rng(seed)
    points = torch.from_numpy(rng.random((3000, 2)).astype(np.float32))
    outside = ((points - 0.5) ** 2).sum(1) > 0.3**2
    noise = torch.from_numpy(rng.normal(0.0, 0.01, len(points)).astype(np.float32))
    values = (surface(points) + noise)[None]
    data = FitData(points[outside], values[:, outside], torch.ones(1, int(outside.sum())), torch.tensor([[0.01]]))
    return data, torch.from_numpy(rng.random((64, 2)).astype(np.float32))


def test_smoothed_solve_keeps_the_side_conditions_and_flattens_a_hole():
    data, centers = _samples_around_a_hole(0, lambda points: 0.2 + 0.1 * points[:, 0])
    grid = torch.stack(torch.meshgrid(torch.linspace(0.3, 0.7, 21), torch.linspace(0.3, 0.7, 21), indexing="ij"), -1)
    grid = grid.reshape(-1, 2)
    truth = 0.2 + 0.1 * grid[:, 0]
    smooth = robust_solve(data, centers, 2, smoothing=1e-5)
    loose = robust_solve(data, centers, 2, smoothing=0.0)
    affine = torch.cat([torch.ones(64, 1), centers], 1)
    assert torch.allclose(affine.T @ smooth.weights, torch.zeros(3, 1), atol=1e-4)
    smooth_error = float((smooth(grid)[0] - truth).abs().max())
    loose_error = float((loose(grid)[0] - truth).abs().max())
    assert smooth_error < 0.02 < loose_error  # within 2 noise sigmas across the hole, vs a bulge


def test_quadratic_trend_crosses_a_hole_unbent_with_a_quadratic_polynomial_part():
    """A vignetting-like bowl with a hole of radius 0.3 in the middle: the stiff spline's affine
    part cannot bend into the hole, the quadratic part carries the bowl across it."""
    def bowl(points: torch.Tensor) -> torch.Tensor:  # 0.1 from the middle to the corners: 10 sigmas
        return 0.3 - 0.4 * ((points - 0.5) ** 2).sum(1)

    data, centers = _samples_around_a_hole(1, bowl)
    middle = torch.tensor([[0.5, 0.5], [0.4, 0.55], [0.6, 0.45]])
    fits = {degree: robust_solve(data, centers, 2, 1e-2, degree) for degree in (1, 2)}
    errors = {degree: float((fit(middle)[0] - bowl(middle)).abs().max()) for degree, fit in fits.items()}
    quadratic = fits[2]
    terms = torch.cat([torch.ones(64, 1), centers, centers**2, centers[:, :1] * centers[:, 1:]], 1)
    assert torch.allclose(terms.T @ quadratic.weights, torch.zeros(6, 1), atol=1e-4)  # side conditions
    assert errors[2] < 0.005 < 0.02 < errors[1], errors  # half a noise sigma, vs a flattened cap
