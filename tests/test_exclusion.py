"""Areas drawn by the user and kept out of the fit: geometry, soft edges, orientation, messages."""

import numpy as np
import pytest

from bgoptimizer import FitInputs, MaskError, Parameters, extract_background
from bgoptimizer.method.cfa import extract_cfa_background
from bgoptimizer.method.prepare.exclusion import EDGE_SOFTNESS, area_weights
from bgoptimizer.method.prepare.grid import Grid
from bgoptimizer.synthetic import make_scene

from .conftest import relative_rms


def _circle(x: float, y: float, radius: float, count: int = 24) -> np.ndarray:
    angle = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.c_[x + radius * np.cos(angle), y + radius * np.sin(angle)]


def test_weights_are_zero_inside_and_rise_over_the_soft_edge():
    square = np.array([[80, 40], [160, 40], [160, 120], [80, 120]])  # columns 80-160, FITS rows 40-120
    weights = area_weights([square], Grid(200, 240, 8))
    inside = weights == 0
    rows, cols = np.nonzero(inside)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (5, 14, 10, 19)  # block centres 3.5 + 8 k
    ramp = EDGE_SOFTNESS * 8
    np.testing.assert_allclose(weights[10, 9], (80 - (9 * 8 + 3.5)) / ramp, atol=1e-6)  # 4.5 px outside
    np.testing.assert_allclose(weights[10, 20], (20 * 8 + 3.5 - 160) / ramp, atol=1e-6)
    assert weights[10, :7].min() == 1.0 and weights[:2].min() == 1.0  # beyond the ramp: untouched
    assert weights.dtype == np.float32
    # A concave area: the notch of an L stays background.
    ell = np.array([[0, 0], [160, 0], [160, 40], [40, 40], [40, 160], [0, 160]])
    weights = area_weights([ell], Grid(200, 240, 8), softness=0.01)
    assert weights[2, 2] == 0 and weights[2, 15] == 0 and weights[15, 2] == 0 and weights[15, 15] == 1


def test_an_area_outside_the_frame_changes_nothing():
    assert area_weights([_circle(5000, 5000, 100)], Grid(200, 240, 8)).min() == 1.0


@pytest.mark.parametrize(
    "areas, message",
    [
        ([np.array([[0, 0], [10, 10]])], "exclusion area 1: 2 vertices do not enclose an area"),
        ([_circle(50, 50, 20), np.array([[0, 0], [np.nan, 1], [3, 3]])], "exclusion area 2: a vertex is not"),
        ([np.arange(6.0)], r"exclusion area 1: vertices must be \(x, y\) pairs; got shape \(6,\)"),
    ],
)
def test_an_area_that_is_no_area_is_refused_by_number(areas, message):
    with pytest.raises(MaskError, match=message):
        area_weights(areas, Grid(200, 240, 8))


@pytest.fixture(scope="module")
def blob_scene():
    """A sky with a compact glow (not protected here) whose position in FITS rows is known."""
    scene = make_scene(900, 600, gradient_kind="mixed", nebula=False, seed=3)
    rows, cols = np.mgrid[0:600, 0:900]
    glow = 0.02 * np.exp(-((cols - 650) ** 2 + (rows - 170) ** 2) / (2 * 60.0**2))
    return scene, (scene.image + glow[None]).astype(np.float32)


def test_excluding_the_glow_keeps_it_out_of_the_model(blob_scene):
    scene, image = blob_scene
    valid = np.ones(image.shape, bool)
    params = Parameters(protect_objects=False)  # the areas alone protect it
    followed = extract_background(image.copy(), params)
    excluded = extract_background(image.copy(), params, inputs=FitInputs(exclude=[_circle(650, 170, 180)]))
    upside_down = extract_background(image.copy(), params, inputs=FitInputs(exclude=[_circle(650, 600 - 1 - 170, 180)]))
    assert 100 * relative_rms(followed.background, scene.background, valid) > 1.2  # 1.74 %: the glow taken in
    assert 100 * relative_rms(excluded.background, scene.background, valid) < 0.25  # 0.12 % measured
    assert 100 * relative_rms(upside_down.background, scene.background, valid) > 1.2  # rows are FITS rows
    assert excluded.report.samples < 0.85 * followed.report.samples


def test_a_frame_wholly_excluded_says_what_excluded_it(blob_scene):
    _, image = blob_scene
    everything = np.array([[-10, -10], [1000, -10], [1000, 700], [-10, 700]])
    with pytest.raises(MaskError, match=r"only 0 of 8475 downscaled pixels are background .*excluded by the "
                                        r"exclusion areas\); a fit needs"):
        extract_background(image.copy(), Parameters(), inputs=FitInputs(exclude=[everything]))


def test_a_raw_frame_takes_the_areas_in_mosaic_coordinates(blob_scene):
    scene, image = blob_scene
    mosaic = image[1:2].copy()  # one channel stands for a raw frame: the glow is in every phase
    params = Parameters(protect_objects=False, points=32)
    truth = scene.background[1:2]
    valid = np.ones(mosaic.shape, bool)
    excluded = extract_cfa_background(mosaic.copy(), params, inputs=FitInputs(exclude=[_circle(650, 170, 180)]))
    followed = extract_cfa_background(mosaic.copy(), params)
    assert relative_rms(excluded.background, truth, valid) < 0.5 * relative_rms(followed.background, truth, valid)
