"""Which downscaled pixels are background: missing values, thresholds, user masks."""

import re

import numpy as np
import pytest

from bgoptimizer import MaskError
from bgoptimizer.method.prepare.mask import missing_to_nan, reduce_user_mask, threshold_mask


def test_missing_pixels_become_nan():
    image = np.array([[[0.0, 0.2], [1e-30, -0.1]]], np.float32)
    result = missing_to_nan(image)
    assert np.isnan(result[0, 0, 0])  # exactly 0: missing
    assert result[0, 1, 0] == np.float32(1e-30)  # faint, in physical units: data
    assert result[0, 0, 1] == np.float32(0.2) and result[0, 1, 1] == np.float32(-0.1)  # negative is data
    assert image[0, 0, 0] == 0.0  # a copy


def test_one_channel_out_of_range_excludes_the_pixel_for_all():
    stretched = np.full((3, 2, 2), 0.5, np.float32)
    stretched[0, 0, 0] = 0.99  # saturated in red only
    stretched[2, 1, 1] = np.nan
    weights = threshold_mask(stretched, 0.01, 0.9)
    assert weights.shape == (1, 2, 2)
    np.testing.assert_array_equal(weights[0], [[0.0, 1.0], [1.0, 0.0]])


def test_a_soft_user_mask_is_downscaled_like_the_image():
    mask = np.ones((1, 16, 16), np.float32)
    mask[:, :, :8] = 0.0
    mask[:, :, 8:12] = 0.5
    reduced = reduce_user_mask(mask, (3, 16, 16), 4, "median")
    np.testing.assert_array_equal(reduced[0], np.tile([0.0, 0.0, 0.5, 1.0], (4, 1)))


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.ones((1, 10, 12), np.float32), r"m.fits: size 12x10 does not match the image's 16x16"),
        (np.ones((2, 16, 16), np.float32), r"m.fits: 2 channels cannot apply to a 3-channel image"),
        (np.full((1, 16, 16), 2.0, np.float32), r"m.fits: values must lie in \[0, 1\] \(got 2 to 2\)"),
    ],
)
def test_a_mask_that_does_not_fit_is_named(mask, message):
    with pytest.raises(MaskError) as raised:
        reduce_user_mask(mask, (3, 16, 16), 4, "median")
    assert raised.value.parameters == ("mask",)
    assert re.match(message, raised.value.rendered(lambda parameter: "m.fits"))
