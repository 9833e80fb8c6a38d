"""Recovered background against a known gradient injected into real and synthetic data."""

import numpy as np
import pytest

from bgoptimizer import Delivery, Parameters, RunControl, extract_background
from bgoptimizer.io import read_image
from bgoptimizer.synthetic import SkyLevels, gradient_error, make_scene

from .conftest import REAL, injected_gradient, relative_rms


def _recovery_error(image: np.ndarray, gradient: np.ndarray) -> list[float]:
    """Per-channel error of the recovered injected gradient.

    The stack has a faint gradient of its own: the model of the un-injected
    image is subtracted so only the injected part is compared.
    """
    valid = image > 0
    injected = np.where(valid, image + gradient, 0.0).astype(np.float32)
    params = Parameters(seed=0)
    own = extract_background(image, params).background
    recovered = extract_background(injected, params).background - own
    return [relative_rms(r, g, v) for r, g, v in zip(recovered, gradient, valid)]


def test_rgb_gradient_on_real_stack(m94):
    sky = float(np.median(m94[m94 > 0]))
    shape = injected_gradient(*m94.shape[1:], sky)  # peak-to-peak = the sky level, many noise sigmas
    gradient = np.stack([shape, 0.8 * shape, 0.6 * shape])
    errors = _recovery_error(m94, gradient)
    assert max(errors) <= 0.03, errors


def test_mono_gradient_on_real_stack(m94):
    mono = m94[1:2]
    sky = float(np.median(mono[mono > 0]))
    errors = _recovery_error(mono, injected_gradient(*mono.shape[1:], sky)[None])
    assert errors[0] <= 0.03, errors


def test_corrected_image_is_flat_and_keeps_sky_level():
    scene = make_scene(600, 400, nebula=False, seed=5)
    result = extract_background(scene.image, Parameters(neutral=False))
    corrected = result.corrected
    for channel in range(3):
        original_level = np.median(scene.image[channel])
        assert abs(np.median(corrected[channel]) - original_level) < 0.1 * scene.noise
        # what is left of the gradient: far below the injected 10 noise sigmas
        quarters = [corrected[channel, :200, :300], corrected[channel, 200:, 300:]]
        assert abs(np.median(quarters[0]) - np.median(quarters[1])) < 0.5 * scene.noise


@pytest.mark.parametrize("mode", ["subtract", "divide"])
def test_a_neutral_background_gives_every_channel_the_same_sky(mode):
    """The real DSLR frame: sky medians 0.032 / 0.021 / 0.009 (a cast). Neutral, as Siril's subsky and GraXpert
    give it: one level for all (their mean); the model is the same either way."""
    image = read_image(REAL / "dslr_sky_lightpollution_linear.fits").data
    own = extract_background(image.copy(), Parameters(mode=mode, neutral=False, epochs=50))
    neutral = extract_background(image.copy(), Parameters(mode=mode, epochs=50))
    np.testing.assert_array_equal(own.background, neutral.background)
    kept = [float(np.median(channel)) for channel in own.corrected]
    levels = [float(np.median(channel)) for channel in neutral.corrected]
    assert np.ptp(kept) > 0.02  # the cast, kept without the option
    assert np.ptp(levels) < 0.0005, levels
    # Their mean, the input's sky in both modes (issue 41, item 4: divide's sky was scaled down to 0.0088
    # to keep its brightest divided star in [0, 1]); what is pushed above 1 is clipped there instead.
    sky = np.mean([np.median(channel) for channel in image])
    assert abs(np.mean(levels) - sky) < 0.0005 and abs(np.mean(kept) - sky) < 0.002, (levels, kept, sky)
    assert neutral.corrected.max() <= 1.0 and (neutral.corrected >= 1.0).sum() < 20
    # Each channel differs by an offset and a gain only (the clipped pixels aside): the correction is the same.
    for before, after in zip(own.corrected, neutral.corrected):
        kept_pixels = (image[0] > 0) & (after < 1.0) & (before < 1.0)
        slope, intercept = np.polyfit(before[kept_pixels], after[kept_pixels], 1)
        assert np.std(after[kept_pixels] - (slope * before[kept_pixels] + intercept)) < 1e-5


@pytest.mark.parametrize("gradient_kind", ["linear", "quadratic"])
def test_sky_brighter_than_the_stretch_quantile_is_modeled(gradient_kind):
    """A gradient 50x the noise puts the brightest corner's sky above the 0.99 quantile. Clipped
    there (and the model clamped at the quantile), it was lost: 0.22 / 0.37 % RMS, 5.7 / 10.3 %
    at worst. The linear fit domain keeps its level: measured 0.026 / 0.028 % RMS, 0.12 / 0.15 %."""
    scene = make_scene(900, 600, gradient_kind=gradient_kind, nebula=False, seed=4, levels=SkyLevels(gradient=0.1))
    result = extract_background(scene.image, Parameters())
    rms, worst = gradient_error(result.background, scene.background)
    assert rms <= 0.06 and worst <= 0.4


def test_seed_makes_runs_reproducible():
    scene = make_scene(300, 200, nebula=False, seed=2)
    params = Parameters(epochs=30)
    first = extract_background(scene.image, params).background
    again = extract_background(scene.image, params).background
    other = extract_background(scene.image, params.replace(seed=1)).background
    np.testing.assert_array_equal(first, again)
    change = float(np.abs(first - other).max()) / float(np.ptp(first))
    assert 0.0 < change < 0.01, change  # another layout: a different model, but not a different answer


_ORIGINAL_METHOD = {"loss": "reference", "fit_domain": "stretched", "order": 2, "poly_degree": 1,
                    "protect_objects": False, "points": 32, "quantile": 0.95}


@pytest.mark.parametrize(
    ("settings", "largest_error"),
    [
        ({}, 0.01),  # measured 0.2 %
        ({"fit_domain": "stretched", "order": 2, "poly_degree": 1}, 0.01),  # 0.3 %
        ({"loss": "reference"}, 0.05),  # 1.4 %
        (_ORIGINAL_METHOD, 0.15),  # 6.7 %: the original method, for comparison
    ],
)
def test_every_loss_and_fit_domain_models_a_stars_only_scene(settings, largest_error):
    scene = make_scene(600, 400, nebula=False, gradient_kind="linear", seed=4)
    result = extract_background(scene.image, Parameters(epochs=300, **settings))
    valid = np.ones(scene.image.shape[1:], bool)
    errors = [relative_rms(m, t, valid) for m, t in zip(result.background, scene.background)]
    assert max(errors) < largest_error, errors


def test_both_modes_give_the_real_frames_sky_the_same_level():
    """Issue 41, item 4: on the real DSLR frame, divide keeps the image's brightness, its sky where subtract
    puts it (and its preview's corrected view with it)."""
    from bgoptimizer import prepare, preview_fit

    image = read_image(REAL / "dslr_sky_lightpollution_linear.fits").data
    skies, previews = {}, {}
    for mode in ("subtract", "divide"):
        params = Parameters(mode=mode, epochs=50)
        skies[mode] = np.median(extract_background(image.copy(), params).corrected, axis=(1, 2))
        previews[mode] = np.median(preview_fit(prepare(image, params), params).corrected, axis=(1, 2))
    np.testing.assert_allclose(skies["divide"], skies["subtract"], rtol=0.01)
    np.testing.assert_allclose(previews["divide"], previews["subtract"], atol=0.02)
    assert previews["divide"].min() > 0.1  # the shown sky, not black


def test_divide_mode_removes_multiplicative_vignetting():
    scene = make_scene(600, 400, nebula=False, gradient_kind="radial", levels=SkyLevels(gradient=0.0), seed=6)
    y, x = np.mgrid[0:400, 0:600]
    vignetting = (1.0 - 0.3 * (((x - 300) / 300.0) ** 2 + ((y - 200) / 300.0) ** 2)).astype(np.float32)
    image = scene.image * vignetting
    corrected = extract_background(image, Parameters(mode="divide", epochs=200)).corrected
    centre, corner = corrected[1, 150:250, 250:350], corrected[1, :80, :80]
    assert abs(np.median(centre) / np.median(corner) - 1.0) < 0.02


@pytest.mark.parametrize("gradient_kind", ["dome", "mixed"])
def test_grid_reconstruction_is_within_a_thousandth_of_exact(gradient_kind):
    scene = make_scene(900, 600, nebula=False, gradient_kind=gradient_kind, seed=3)
    params = Parameters(epochs=50)
    grid = extract_background(scene.image, params).background
    exact = extract_background(scene.image, params.replace(reconstruction="exact")).background
    for fast, reference in zip(grid, exact):
        assert np.abs(fast - reference).max() <= 1e-3 * np.ptp(reference)


@pytest.mark.parametrize("size", [(29, 41), (33, 37), (5, 1001)])
def test_separable_upsampling_is_torch_bicubic(size):
    # Cubic convolution along each axis in turn gives the 2-D bicubic kernel's pixels; every size
    # modulo the step, down to a grid whose last node is the one a corner pixel sits on.
    import torch

    from bgoptimizer.method.output.reconstruct import _GRID_STEP, _grid_nodes, _upsample

    step, (height, width) = _GRID_STEP, size
    nodes = torch.from_numpy(np.random.default_rng(2).random((2, len(_grid_nodes(height)), len(_grid_nodes(width))),
                                                             dtype=np.float32))
    ours = _upsample(_upsample(nodes, 1, height, step), 2, width, step)
    shape = ((nodes.shape[1] - 1) * step + 1, (nodes.shape[2] - 1) * step + 1)
    bicubic = torch.nn.functional.interpolate(nodes[None], size=shape, mode="bicubic", align_corners=True)[0]
    np.testing.assert_allclose(ours, bicubic[:, step : step + height, step : step + width], rtol=0, atol=1e-6)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_every_spline_order_models_a_corner_glow(order):
    scene = make_scene(900, 600, nebula=False, gradient_kind="dome", seed=8)
    result = extract_background(scene.image, Parameters(order=order, epochs=100))
    valid = np.ones(scene.image.shape[1:], bool)
    errors = [relative_rms(m, t, valid) for m, t in zip(result.background, scene.background)]
    assert max(errors) < 0.015, errors


def test_in_place_correction_equals_the_copy_and_reuses_the_input():
    scene = make_scene(400, 300, nebula=False, seed=6)
    params = Parameters(epochs=20)
    copy = extract_background(scene.image, params).corrected
    buffer = scene.image.copy()
    result = extract_background(buffer, params, delivery=Delivery(in_place=True))
    assert result.corrected is buffer
    np.testing.assert_array_equal(buffer, copy)


def test_correction_shifts_negative_results_and_keeps_missing_pixels_zero():
    from bgoptimizer.method.output.correct import correct

    rng = np.random.default_rng(3)
    background = np.broadcast_to(np.linspace(0.0, 0.2, 300, dtype=np.float32), (1, 200, 300)).copy()
    image = (0.1 + background + rng.normal(0, 0.002, background.shape)).astype(np.float32)
    image[0, 50, 280] = 0.001  # a cold pixel where the model is high: its result is negative
    image[0, :10, :10] = 0.0  # missing
    image[0, 20, 20] = np.nan  # missing
    corrected = correct(image, [(0, background)], "subtract")
    missing = (image == 0) | np.isnan(image)
    assert (corrected[missing] == 0).all()
    assert corrected[~missing].min() == 0.0  # shifted up by the most negative result, no lower
    assert corrected[0, 50, 280] == 0.0
    # the sky level (0.2) is kept, plus the shift that lifted the cold pixel to 0
    shift = -(0.001 - background[0, 50, 280] + 0.1)
    assert abs(np.median(corrected[~missing]) - (0.2 + shift)) < 0.001
    in_place = image.copy()
    np.testing.assert_array_equal(correct(in_place, [(0, background)], "subtract", out=in_place), corrected)


def test_flipped_read_only_view_is_accepted_and_left_alone():
    scene = make_scene(300, 200, nebula=False, seed=4)
    view = scene.image[:, ::-1]  # FITS rows flipped to display order: negative strides
    view.flags.writeable = False
    result = extract_background(view, Parameters(epochs=10))
    expected = extract_background(np.ascontiguousarray(view), Parameters(epochs=10))
    np.testing.assert_array_equal(result.corrected, expected.corrected)
    np.testing.assert_array_equal(view, scene.image[:, ::-1])


def test_divide_by_a_model_reaching_zero_is_refused():
    from bgoptimizer.errors import InputImageError
    from bgoptimizer.method.output.correct import correct

    image = np.full((1, 20, 30), 0.1, np.float32)
    model = np.full_like(image, 0.05)
    model[0, 12, 7] = 0.0
    with pytest.raises(InputImageError, match="mode divide: the background model reaches zero"):
        correct(image, [(0, model[:, :10]), (10, model[:, 10:])], "divide")


@pytest.mark.parametrize("unit", [1e-20, 1e-12, 1e-9, 1e9, 1e20])
def test_the_result_does_not_depend_on_the_data_unit(unit):
    """Faint flux units (1e-17 and below) are data, not "missing": only exactly 0 is."""
    scene = make_scene(400, 300, seed=3)
    image = scene.image.copy()
    image[:, :20] = 0.0  # a registration border
    params = Parameters(epochs=30)
    reference = extract_background(image, params)
    scaled = extract_background(image * np.float32(unit), params)
    assert scaled.report.samples == reference.report.samples
    missing = image == 0
    assert (scaled.corrected[missing] == 0).all() and (scaled.corrected[~missing] != 0).all()
    np.testing.assert_allclose(scaled.background / unit, reference.background, rtol=0, atol=1e-6)
    np.testing.assert_allclose(scaled.corrected / unit, reference.corrected, rtol=0, atol=1e-6)


def test_tiny_sky_subtracted_values_are_kept():
    """A real survey frame in Siril's scale (1/65535): values near 0 are sky, not missing pixels."""
    from bgoptimizer.io import read_image

    image = read_image(REAL / "reprojected_sdss_g.fits").data / np.float32(65535)
    assert int((np.abs(image) < 1e-10).sum()) > 100  # what the old tolerance zeroed
    corrected = extract_background(image, Parameters(epochs=0)).corrected
    assert int((corrected == 0).sum()) == int((image == 0).sum())


def test_in_place_correction_equals_a_new_image():
    """The input's range is read before the input is overwritten: data reaching above 1 (no [0, 1] range to
    keep) would otherwise be judged by the corrected values, and rescaled."""
    scene = make_scene(400, 300, seed=5)
    image = scene.image.copy()
    image[:, 150:153, 200:203] = 1.01
    params = Parameters(epochs=0)
    new = extract_background(image, params).corrected
    assert new.max() > 1.0  # not rescaled into [0, 1]: the data had no such range
    in_place = extract_background(image.copy(), params, delivery=Delivery(in_place=True)).corrected
    np.testing.assert_array_equal(in_place, new)


def test_cancel_stops_between_steps_not_only_in_the_optimizer(monkeypatch):
    """Issue 41, item 6: the default fit keeps its robust start, so the optimizer (where cancelling was
    checked) runs 10 iterations: a cancel during object detection waited for detection, the start, the
    model and the correction. Each detection refit, the start and each band of rows is a point to stop at."""
    import bgoptimizer.method.fit as fit
    from bgoptimizer.errors import Cancelled

    scene = make_scene(600, 400, nebula=True, seed=3)
    solves = []
    real_solve = fit.robust_solve

    def counted(*args, **kwargs):
        solves.append(1)
        return real_solve(*args, **kwargs)

    def never(*args, **kwargs):
        raise AssertionError("the optimizer ran after the cancel")

    monkeypatch.setattr(fit, "robust_solve", counted)
    monkeypatch.setattr(fit, "optimize", never)
    with pytest.raises(Cancelled):  # pressed while the first detection fit ran
        extract_background(scene.image, Parameters(), control=RunControl(cancel=lambda: len(solves) >= 1))
    assert len(solves) == 1
    with pytest.raises(Cancelled):  # pressed before anything: not even the image is prepared
        extract_background(scene.image, Parameters(), control=RunControl(cancel=lambda: True))
    assert len(solves) == 1
