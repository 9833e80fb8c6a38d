"""A glow steeper than the smoothing lets the spline bend: seen in the kept sky, warned of, followed on request."""

import pytest

from bgoptimizer import Parameters, extract_background
from bgoptimizer.command_line.demo import gradient_error
from bgoptimizer.synthetic import make_glow_scene, make_scene


@pytest.fixture(scope="module")
def two_glows():
    return make_glow_scene("two_glows", 9)


def test_a_steep_glow_is_warned_of_and_followed_on_request(two_glows):
    """Two glows from opposite edges, nothing masked: 3.74 % RMS at the default smoothing; with the
    smoothing lowered where the kept sky keeps a coherent misfit, 1.57 % (10x less; the next 10x
    shrinks the misfit too little to be kept)."""
    stiff = extract_background(two_glows.image, Parameters())
    assert stiff.report.smoothing is None
    assert [warning.parameters for warning in stiff.report.warnings] == [("smoothing", "adapt_smoothing")]
    assert gradient_error(stiff.background, two_glows.background)[0] > 3.0

    followed = extract_background(two_glows.image, Parameters(adapt_smoothing=True))
    assert followed.report.smoothing == pytest.approx(1e-6)
    assert "smoothing lowered to 1e-06" in followed.report.summary()
    assert followed.report.warnings == []
    assert gradient_error(followed.background, two_glows.background)[0] < 2.0


def test_a_sky_the_spline_follows_is_left_alone():
    """A light dome under stars, nothing masked: the kept sky is noise (misfit 0.17 sigma along the edge),
    so neither a warning nor a refit; the model is the stiff one, byte for byte."""
    scene = make_scene(1500, 1000, gradient_kind="dome", nebula=False, seed=1)
    stiff = extract_background(scene.image, Parameters())
    adapted = extract_background(scene.image, Parameters(adapt_smoothing=True))
    assert stiff.report.warnings == [] and adapted.report.smoothing is None
    assert (stiff.background == adapted.background).all()


def test_a_mostly_masked_frame_keeps_its_smoothing(two_glows):
    """The bending energy carries the model across masked objects: with a third of the frame masked the
    smoothing is not lowered (a user's mask here)."""
    import numpy as np

    mask = np.ones(two_glows.image.shape[1:], np.float32)
    mask[:, 500:1000] = 0.0  # the middle third of the columns
    result = extract_background(two_glows.image, Parameters(adapt_smoothing=True, protect_objects=False),
                                mask=mask)
    assert result.report.smoothing is None
