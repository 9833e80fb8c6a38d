"""Step 8, the correction (method/output/correct.py): the sky level kept in both modes and for every unit,
negative results shifted, missing pixels left at 0, the image corrected in place or into a new one."""

import numpy as np
import pytest

from bgoptimizer import Delivery, Parameters, extract_background
from bgoptimizer.io import read_image
from bgoptimizer.synthetic import make_scene

from .conftest import REAL


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
