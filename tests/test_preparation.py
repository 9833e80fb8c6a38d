"""Steps 1-4 (method/prepare/preparation.py): what the fit sees, and every refusal naming what to change."""

import numpy as np
import pytest

from bgoptimizer import MaskError, ParameterError, Parameters, prepare
from bgoptimizer.errors import InputImageError
from bgoptimizer.method.prepare.downscale import block_reduce
from bgoptimizer.synthetic import make_scene


def test_the_block_median_taken_first_equals_the_median_of_the_stretched_image():
    """The stretch is non-decreasing, so the linear image is reduced first and only the small image
    stretched: the same as stretching every pixel and then reducing, at a 64th of the cost."""
    scene = make_scene(400, 300, seed=2)
    prepared = prepare(scene.image, Parameters(fit_domain="stretched"))
    stretched = np.stack([stretch.apply(channel) for channel, stretch in zip(scene.image, prepared.stretches)])
    np.testing.assert_allclose(prepared.stretched_ds, block_reduce(stretched, 8), atol=1e-6)
    assert prepared.fit_ds.shape == (3, 38, 50) and prepared.mask_ds.shape == (1, 38, 50)


def test_a_downscale_too_large_for_the_image_names_one_that_fits():
    with pytest.raises(ParameterError) as raised:
        prepare(np.full((1, 10, 10), 0.1, np.float32), Parameters(downscale=8))
    assert str(raised.value).endswith("shrinks to 2x2 pixels, fewer than the 16 a fit needs; "
                                      "use a downscale of at most 3")
    assert raised.value.parameters == ("downscale",)


def test_an_image_without_a_valid_pixel_is_refused():
    with pytest.raises(InputImageError, match="no valid pixel"):
        prepare(np.zeros((3, 64, 64), np.float32), Parameters())


def test_too_little_background_says_what_excluded_the_rest():
    """A 64x64 image at downscale 8 has 64 downscaled pixels: missing ones, ones out of the thresholds and
    ones a user mask excludes are counted apart (here none is out of the thresholds), and the error names the
    settings to change."""
    rng = np.random.default_rng(1)
    image = rng.normal(0.1, 0.001, (1, 64, 64)).astype(np.float32)
    image[:, :32] = 0.0  # half missing: 32 downscaled pixels
    mask = np.ones((1, 64, 64), np.float32)
    mask[:, 32:, :40] = 0.0  # 5 of the 8 block columns of the other half
    with pytest.raises(MaskError) as raised:
        prepare(image, Parameters(), mask=mask)
    message = str(raised.value)
    assert message.startswith("only 12 of 64 downscaled pixels are background (32 missing (0 or NaN), 20 excluded")
    assert message.endswith("20 excluded by mask); a fit needs 16: widen the thresholds or the mask")
    assert set(raised.value.parameters) == {"threshold_min", "threshold_max", "mask"}
