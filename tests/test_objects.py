"""Large-object protection and the bending-energy smoothing, on synthetic nebulae and the M94 stack."""

import numpy as np
import pytest

from bgoptimizer import Parameters, extract_background
from bgoptimizer.method.objects.morphology import box_average, components, dilate, reach
from bgoptimizer.synthetic import Nebula, SkyLevels, absorbed_share, gradient_error, make_glow_scene, make_scene
from bgoptimizer.synthetic import gradient as synthetic_gradient

from .conftest import relative_rms


@pytest.mark.parametrize("gradient_kind", ["mixed", "linear", "dome"])
def test_large_faint_nebula_stays_out_of_the_model(gradient_kind):
    """Measured: mixed 2.9 % absorbed, 0.15 % RMS; linear 3.3 %, 0.14 %; dome 3.1 %, 0.17 % (the
    r^5 kernel and the quadratic part carry the gradient's slope and curvature across the hole;
    with r^4 log r and smoothing 3e-5 the dome took in 9 %, the mixed gradient 5 %)."""
    scene = make_scene(1500, 1000, gradient_kind=gradient_kind, nebula=True, seed=11)
    protected = extract_background(scene.image, Parameters())
    followed = extract_background(scene.image, Parameters(protect_objects=False))
    assert protected.report.objects > 0.3  # the nebula and its wings are masked
    assert absorbed_share(protected.background, scene.background, scene.nebula) <= 6.0
    assert absorbed_share(followed.background, scene.background, scene.nebula) >= 80.0
    assert gradient_error(protected.background, scene.background)[0] <= 0.5


@pytest.mark.parametrize(("gradient_kind", "largest_error"), [("quadratic", 0.3), ("radial", 0.3), ("dome", 0.4),
                                                           ("glow", 0.8)])
def test_stars_only_scenes_mask_no_object(gradient_kind, largest_error):
    """Measured 0.09 / 0.10 / 0.15 % RMS; a sharp glow beyond a corner is the hardest: 0.68 %."""
    scene = make_scene(900, 600, gradient_kind=gradient_kind, nebula=False, seed=3)
    result = extract_background(scene.image, Parameters())
    assert result.report.objects == 0.0
    assert gradient_error(result.background, scene.background)[0] <= largest_error


def test_strong_glow_misfit_by_the_coarse_fit_is_not_taken_for_an_object():
    """A glow 50x the noise: the coarse fit misses it by up to -50 sigma and +28 sigma. Seeding at
    a fixed 6 sigma took the positive lobe for an object that grew to 49 % of the frame (16.5 % RMS);
    seeds must now also rise above the deepest deficit: measured 1.37 % RMS, nothing masked."""
    scene = make_scene(900, 600, gradient_kind="glow", nebula=False, seed=2, levels=SkyLevels(gradient=0.1))
    result = extract_background(scene.image, Parameters())
    assert result.report.objects == 0.0
    assert gradient_error(result.background, scene.background)[0] <= 2.5


def test_nebula_beside_a_glow_the_coarse_fit_misses_is_still_found():
    """The coarse fit misses the glow by down to -10.4 sigma; the nebula's core rises to only +9.8, but
    over 1.5 % of the frame against 0.6 % of deficits. Requiring cores to rise above the deepest
    deficit lost it (3.3 % RMS, 89 % absorbed); measured now 0.83 % RMS, 3 % absorbed."""
    scene = make_scene(1500, 1000, gradient_kind="glow", nebula=True, seed=7)
    result = extract_background(scene.image, Parameters())
    assert result.report.objects > 0.3
    assert absorbed_share(result.background, scene.background, scene.nebula) <= 10.0
    assert gradient_error(result.background, scene.background)[0] <= 1.5


def test_a_lumpy_nebula_grows_past_its_brighter_second_lobe():
    """A large nebula (sigma a fifth of the frame) under a dome, found at its fainter lobe: the next lobe's
    light rose above the faintest ring (2.0 -> 4.2 sigma) inside the frame, which stopped the growth at a third
    of the frame (37 % absorbed, 1.66 % RMS). A rise stops it only near the border now: measured 5.9 %, 0.34 %."""
    scene = make_scene(1500, 1000, gradient_kind="dome", nebula=Nebula(size=0.2), seed=2,
                       same_at_every_size=True)
    result = extract_background(scene.image, Parameters())
    assert absorbed_share(result.background, scene.background, scene.nebula) <= 10.0
    assert gradient_error(result.background, scene.background)[0] <= 0.6


def test_a_small_galaxy_between_two_glows_keeps_its_core():
    """Two glows' misfit widens the spread the box-averaged extent is measured against past a small galaxy's
    light: its core (16.7 sigma over the coarse fit) was refuted in the first round and the model took 53 % of
    its flux. Its seeds now stay: measured 2 % masked, 24 % absorbed."""
    scene = make_glow_scene("two_glows_galaxy", 9, 1500, 1000, same_at_every_size=True)
    result = extract_background(scene.image, Parameters())
    assert result.report.objects > 0.01
    assert absorbed_share(result.background, scene.background, scene.nebula) <= 35.0


def _light_centre(light: np.ndarray) -> np.ndarray:
    """The flux-weighted centre of the first channel, as a share of the width and height."""
    height, width = light.shape[1:]
    rows, cols = np.mgrid[0:height, 0:width]
    return np.array([(cols * light[0]).sum() / width, (rows * light[0]).sum() / height]) / light[0].sum()


def test_same_at_every_size_draws_one_object_at_every_size():
    """The benchmarks' resolution table needs one sky at several sizes; by default the object is drawn after
    the stars, whose number grows with the size, so another size gives another object."""
    def nebula(size: int, same: bool) -> np.ndarray:
        return make_scene(size, size * 2 // 3, seed=4, same_at_every_size=same).nebula

    def galaxy(size: int, same: bool) -> np.ndarray:
        return make_glow_scene("horizon_galaxy", 4, size, size * 2 // 3, same_at_every_size=same).nebula

    small, large = nebula(300, True), nebula(600, True)
    assert np.abs(large[:, ::2, ::2] - small).max() < 0.001 * small.max()
    assert np.abs(nebula(600, False)[:, ::2, ::2] - nebula(300, False)).max() > 0.2 * small.max()
    assert np.abs(_light_centre(galaxy(600, True)) - _light_centre(galaxy(300, True))).max() < 0.001
    assert np.abs(_light_centre(galaxy(600, False)) - _light_centre(galaxy(300, False))).max() > 0.01


def test_vignetting_cap_under_a_galaxy_is_not_taken_for_object(m94):
    """A strong radial falloff centered on M94: the masked galaxy must not grow over the cap."""
    valid = m94 > 0
    sky = float(np.median(m94[valid]))
    shape = synthetic_gradient("radial", *m94.shape[1:]) * sky
    gradient = np.stack([shape, 0.8 * shape, 0.6 * shape])
    params = Parameters()
    own = extract_background(m94, params).background
    injected = extract_background(np.where(valid, m94 + gradient, 0).astype(np.float32), params)
    errors = [relative_rms(r, g, v) for r, g, v in zip(injected.background - own, gradient, valid)]
    assert max(errors) <= 0.01, errors
    assert injected.report.objects < 0.2


def test_a_horizon_glow_is_not_grown_into_an_object():
    """A glow rising from one edge, no object: the fit without a misfit seed near the edge could not follow
    the glow, and its misfit grew round after round over 64 % of the frame (10.7 % RMS); now 0 %, 0.45 %."""
    scene = make_glow_scene("horizon", 7)
    result = extract_background(scene.image, Parameters())
    assert result.report.objects < 0.05
    assert gradient_error(result.background, scene.background)[0] < 1.0


def test_a_galaxy_beside_a_glow_does_not_grow_into_the_glow():
    """A large galaxy and a glow from the edge: the galaxy's mask grew into the glow (49 % of the frame,
    7.7 % RMS); now it keeps its core there (28 %, 2.4 % RMS, 9 % of the galaxy absorbed)."""
    scene = make_glow_scene("glow_big_galaxy", 1)
    result = extract_background(scene.image, Parameters())
    assert 0.1 < result.report.objects < 0.4
    assert gradient_error(result.background, scene.background)[0] < 3.0
    assert absorbed_share(result.background, scene.background, scene.nebula) < 15.0


def test_a_galaxy_beside_a_horizon_glow_does_not_take_the_frame():
    """3000x2000: a galaxy's mask grew round after round along a horizon glow to 61 % of the frame (5.1 % RMS,
    the failure of the issue); now 24 %, 1.3 % RMS, none of the galaxy absorbed."""
    scene = make_glow_scene("horizon_galaxy", 6, 3000, 2000)
    result = extract_background(scene.image, Parameters())
    assert result.report.objects < 0.3
    assert gradient_error(result.background, scene.background)[0] < 1.5
    assert absorbed_share(result.background, scene.background, scene.nebula) < 10.0


def test_a_galaxy_between_two_glows_stops_growing_where_the_glow_rises():
    """3000x2000: a galaxy's mask grew round by round into a glow's shoulder (ring peaks 2.5, 3.8, 12.2 sigma)
    to 42 % of the frame, 3.1 % RMS; growth now stops where the ring it adds gets brighter: 20 %, 0.67 %."""
    scene = make_glow_scene("two_glows_galaxy", 2, 3000, 2000)
    result = extract_background(scene.image, Parameters())
    assert result.report.objects < 0.3
    assert gradient_error(result.background, scene.background)[0] < 1.0


def test_an_object_brightest_at_the_border_keeps_its_core():
    """Level rising to the border (a glow): the grown object falls back to its core; an object whose light
    falls towards the border, even reaching it, keeps what it grew."""
    from bgoptimizer.method.objects.detection import _not_into_glows

    height, width = 40, 60
    x = np.arange(width, dtype=np.float32)[None, :].repeat(height, 0)
    core = np.zeros((height, width), bool)
    core[18:22, 28:32] = True
    grown = np.zeros((height, width), bool)
    grown[10:30, 20:60] = True  # reaching the right border
    rising = 1.0 + x / width  # brightest at the border
    np.testing.assert_array_equal(_not_into_glows(grown, core, rising), core)
    falling = np.exp(-np.abs(x - 30) / 30)  # a galaxy centred at column 30: a third of its peak at the border
    np.testing.assert_array_equal(_not_into_glows(grown, core, falling), grown)


def test_components_and_reach_follow_eight_connectivity():
    flags = np.zeros((6, 8), bool)
    flags[0, 0] = flags[1, 1] = flags[2, 2] = True  # one diagonal chain
    flags[4, 5:8] = True  # a second component
    labels = components(flags)
    assert labels[0, 0] == labels[1, 1] == labels[2, 2] != labels[4, 6]
    assert (labels[~flags] == -1).all()
    start = np.zeros_like(flags)
    start[2, 2] = True
    assert (reach(start, flags) == (flags & (np.arange(6)[:, None] < 3))).all()


def test_box_average_and_dilation_match_a_direct_window_loop():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(23, 31))
    valid = rng.random((23, 31)) > 0.3
    flags = rng.random((23, 31)) > 0.97
    average, dilated = box_average(values, valid, 7), dilate(flags, 4)
    for row in range(23):
        for col in range(31):
            window = (slice(max(row - 3, 0), row + 4), slice(max(col - 3, 0), col + 4))
            assert average[row, col] == pytest.approx(values[window][valid[window]].mean(), abs=1e-5)
            reach = (slice(max(row - 4, 0), row + 5), slice(max(col - 4, 0), col + 5))
            assert dilated[row, col] == flags[reach].any()


def test_object_detection_uses_its_own_kernel_whatever_the_fit_options():
    """Detection fits r^4 log r with its own smoothing and quadratic part: the same objects are found
    for a thin plate with an affine part and only 5 points (fewer than the detection's 6 polynomial terms)."""
    scene = make_scene(600, 400, gradient_kind="linear", nebula=True, seed=2)
    default = extract_background(scene.image, Parameters())
    thin_plate = extract_background(scene.image, Parameters(order=2, poly_degree=1, smoothing=1e-3))
    few_points = extract_background(scene.image, Parameters(points=5, order=2, poly_degree=1))
    assert default.report.objects > 0.3
    assert thin_plate.report.objects == default.report.objects
    assert few_points.report.objects > 0.3
