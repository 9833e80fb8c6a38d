import numpy as np
import pytest
import torch

from bgoptimizer.method.model.samples import FitData, noise_levels
from bgoptimizer.method.model.spline import SplineState, evaluate, initial_centers, solve_interpolation, term_count
from bgoptimizer.method.model.start import robust_solve


@pytest.mark.parametrize("layout", ["random", "grid"])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_initial_solve_reproduces_control_values(order, layout):
    rng = np.random.default_rng(3)
    centers = initial_centers(32, (1.0, 0.6), layout, rng)
    x, y = centers[:, 0], centers[:, 1]
    sky = 0.25 + 0.1 * x - 0.05 * y + 0.08 * np.exp(-((x - 0.8) ** 2 + (y - 0.5) ** 2) / 0.1)
    values = (sky[:, None] * [1.0, 0.9, 0.8] + rng.normal(0, 0.005, (len(x), 3))).astype(np.float32)
    weights, polynomial = solve_interpolation(centers, values, order, 2 if order >= 4 else 1)
    state = SplineState(*(torch.from_numpy(a) for a in (centers, weights, polynomial)), order)
    reproduced = state(torch.from_numpy(centers)).numpy().T
    # Interpolating the noise takes large r^5 weights, whose float32 sums lose ~1e-4: still 1/20 of the noise.
    assert np.max(np.abs(reproduced - values)) < (2.5e-4 if order == 5 else 1e-4)


def test_quadratic_polynomial_part_reproduces_a_quadratic_everywhere():
    """With degree 2 a quadratic sky is all polynomial: exact between the control points too."""
    rng = np.random.default_rng(4)
    centers = initial_centers(32, (1.0, 0.6), "random", rng)

    def bowl(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0], xy[:, 1]
        return 0.3 - 0.2 * (x - 0.5) ** 2 - 0.3 * (y - 0.3) ** 2 + 0.05 * x * y

    points = rng.uniform(0, [1.0, 0.6], (500, 2)).astype(np.float32)
    errors = {}
    for degree in (1, 2):
        weights, polynomial = solve_interpolation(centers, bowl(centers)[:, None], 2, degree)
        assert polynomial.shape == (term_count(degree), 1)
        state = SplineState(*(torch.from_numpy(a) for a in (centers, weights, polynomial)), 2)
        assert state.degree == degree
        errors[degree] = float(np.abs(state(torch.from_numpy(points)).numpy()[0] - bowl(points)).max())
    assert errors[2] < 1e-5 < 1e-3 < errors[1], errors


def test_random_layout_is_seeded_and_spread():
    first = initial_centers(32, (1.0, 0.6), "random", np.random.default_rng(5))
    again = initial_centers(32, (1.0, 0.6), "random", np.random.default_rng(5))
    assert np.array_equal(first, again) and first.shape == (32, 2)
    gaps = np.sqrt(((first[:, None] - first[None]) ** 2).sum(-1) + np.eye(32))
    assert gaps.min() > 0.03  # uniform draws of 32 points often come closer than 0.01
    assert first[:, 1].max() < 0.6


def test_grid_layout_is_regular_and_inside():
    centers = initial_centers(32, (1.0, 0.5), "grid", np.random.default_rng(0))
    assert centers.shape == (36, 2)  # round(sqrt(32))**2
    assert centers[:, 0].min() > 0 and centers[:, 0].max() < 1.0
    assert centers[:, 1].max() < 0.5


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("degree", [1, 2])
def test_hand_written_gradient_matches_autograd(order, degree):
    torch.manual_seed(0)
    points = torch.rand(300, 2, dtype=torch.float64)
    centers = torch.rand(9, 2, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(9, 3, dtype=torch.float64, requires_grad=True)
    polynomial = torch.randn(term_count(degree), 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c, w, p: evaluate(points, c, w, p, order), (centers, weights, polynomial))


def test_robust_solve_survives_coincident_control_points():
    rng = np.random.default_rng(0)
    points = torch.from_numpy(rng.uniform(0, 1, (400, 2)).astype(np.float32))
    values = (0.2 + 0.1 * points[:, 0])[None]
    data = FitData(points, values, torch.ones(1, 400), torch.full((1, 1), 0.01))
    centers = torch.tensor([[0.2, 0.2], [0.2, 0.2], [0.8, 0.5], [0.5, 0.9]])
    state = robust_solve(data, centers, 2)
    model = evaluate(points, state.centers, state.weights, state.polynomial, 2)
    assert float(state.weights.abs().max()) < 1.0  # no huge cancelling pair
    assert float((model - values).abs().max()) < 1e-3


def test_robust_solve_rejects_stars_and_matches_full_sample_reweighting(monkeypatch):
    """The early reweighting rounds on a quarter of the samples land where all-sample rounds do."""
    rng = np.random.default_rng(4)
    count, noise = 12_000, 0.004
    points = torch.from_numpy(rng.uniform(0, 1, (count, 2)).astype(np.float32))
    x, y = points[:, 0].numpy(), points[:, 1].numpy()
    sky = 0.25 + 0.08 * x - 0.04 * y + 0.06 * np.exp(-((x - 0.9) ** 2 + (y + 0.1) ** 2) / 0.3)
    values = sky + rng.normal(0, noise, count)
    stars = rng.random(count) < 0.1
    values[stars] += rng.uniform(0.05, 0.5, stars.sum())  # bright, one-sided outliers
    data = FitData(points, torch.from_numpy(values.astype(np.float32))[None], torch.ones(1, count),
                   torch.full((1, 1), noise))
    centers = torch.from_numpy(initial_centers(64, (1.0, 1.0), "random", np.random.default_rng(1)))
    strided = robust_solve(data, centers, 2, smoothing=1e-5)(points)[0].numpy()
    monkeypatch.setattr("bgoptimizer.method.model.start.IRLS_STRIDE", 1)
    full = robust_solve(data, centers, 2, smoothing=1e-5)(points)[0].numpy()
    assert np.sqrt(np.mean((strided - sky) ** 2)) < 0.25 * noise  # the stars pulled nothing up
    assert np.max(np.abs(strided - full)) < 0.1 * noise


def test_noise_level_ignores_a_steep_gradient_and_sparse_outliers():
    """Second differences cancel a local slope: a tilt of 3 sigma per pixel plus a bowl, with 1 % of
    the pixels far out (star residues); first differences read about 3x the noise here."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:200, 0:300].astype(np.float64)
    sigma = 0.01
    sky = 0.03 * x + 0.02 * y + 1e-4 * (x - 150) ** 2 + rng.normal(0.0, sigma, x.shape)
    sky[rng.random(x.shape) < 0.01] += 1.0
    mask = np.ones((1, 200, 300), np.float32)
    mask[0, :, 100:103] = 0  # a masked column band: no triple spans it
    sky[:, 100:103] = 50.0
    assert noise_levels(sky[None], mask)[0] == pytest.approx(sigma, rel=0.05)
