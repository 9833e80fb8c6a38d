"""The final fit's samples: every background pixel counts, in bins when there are many."""

import numpy as np
import torch

from bgoptimizer import Parameters, extract_background
from bgoptimizer.method.model.samples import MAX_FIT_SAMPLES, fit_data, noise_levels
from bgoptimizer.method.prepare.preparation import Prepared
from bgoptimizer.synthetic import absorbed_share, make_scene

CPU = torch.device("cpu")


def _prepared(fit_ds: np.ndarray, mask_ds: np.ndarray, factor: int = 8) -> Prepared:
    channels, height, width = fit_ds.shape
    return Prepared((channels, height * factor, width * factor), factor, [], fit_ds, mask_ds, [], fit_ds)


def _planes(cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.stack([0.1 + 2e-4 * cols - 1e-4 * rows, 0.3 - 1e-4 * cols + 3e-4 * rows])


def _plane_with_a_hole(height: int, width: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two channels of tilted planes plus noise, a masked disk, half-weight rows and missing pixels."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    fit_ds = _planes(cols, rows) + np.random.default_rng(0).normal(0.0, noise, (2, height, width))
    mask_ds = np.ones((1, height, width))
    mask_ds[0, (rows - height / 2) ** 2 + (cols - width / 3) ** 2 < (height / 4) ** 2] = 0.0
    mask_ds[0, :7] = 0.5
    fit_ds[:, 40:45, 100:130] = np.nan
    mask_ds[0, 40:45, 100:130] = 0.0  # as ``prepare`` leaves pixels with no value
    return fit_ds.astype(np.float32), mask_ds.astype(np.float32)


def test_bins_keep_every_pixel_and_sit_at_their_centroids():
    height, width = 180, 250  # 45k pixels, 38k of them background: 2 x 2 bins
    prepared = _prepared(*_plane_with_a_hole(height, width, noise=0.0))
    data = fit_data(prepared, CPU, binned=True)
    pixels = fit_data(prepared, CPU)
    assert len(data.points) <= MAX_FIT_SAMPLES < len(pixels.points)
    # The weights of the bins add up to those of the pixels (missing pixels weigh nothing).
    assert abs(float(data.weights.sum()) * 4 - prepared.mask_ds.sum()) < 0.1
    # A plane's weighted mean over a bin is its value at the weighted centroid.
    col, row = prepared.grid.blocks_of_spline(data.points.double().numpy()).T  # downscaled pixel indices
    assert np.allclose(data.values.numpy(), _planes(col, row), atol=1e-6)


def test_bins_keep_the_noise_of_the_pixels():
    """The robust loss's scale stays the pixels' noise, not the bins' (half of it)."""
    prepared = _prepared(*_plane_with_a_hole(180, 250, noise=1e-3))
    binned, pixels = fit_data(prepared, CPU, binned=True), fit_data(prepared, CPU)
    assert len(binned.points) < len(pixels.points)
    assert torch.equal(binned.noise, pixels.noise)
    assert np.allclose(binned.noise.numpy(), 1e-3, rtol=0.05)


def test_few_pixels_are_used_as_they_are():
    fit_ds, mask_ds = _plane_with_a_hole(90, 120, noise=1e-3)
    data = fit_data(_prepared(fit_ds, mask_ds), CPU, binned=True)
    assert len(data.points) == (mask_ds > 0).sum()
    assert np.isclose(float(data.noise[0, 0]), noise_levels(fit_ds, mask_ds)[0])


def test_light_dome_under_a_large_nebula_on_a_large_frame():
    """The benchmark's 3000x2000 dome scene: with a random 12k of its 94k downscaled pixels the fill
    of the masked nebula was noisy enough to take in 10.6 % of it; binned, 7.9 %."""
    scene = make_scene(3000, 2000, gradient_kind="dome", nebula=True, seed=11)
    result = extract_background(scene.image, Parameters())
    assert result.report.samples > 4 * MAX_FIT_SAMPLES
    assert absorbed_share(result.background, scene.background, scene.nebula) <= 8.5
