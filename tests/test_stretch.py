import numpy as np
import pytest

from bgoptimizer import Parameters, prepare
from bgoptimizer.errors import InputImageError
from bgoptimizer.method.prepare.downscale import block_reduce
from bgoptimizer.method.prepare.stretch import fit_stretch, mtf


def test_mtf_maps_midtone_to_target_and_fixes_ends():
    x = np.array([0.0, 0.07, 1.0])
    assert np.allclose(mtf(x, 0.07, 0.25), [0.0, 0.25, 1.0])


def test_stretch_then_inverse_is_identity(m94):
    stretches = fit_stretch(np.where(m94 > 0, m94, np.nan)[:, ::4, ::4], 0.95, 0.25)
    for channel, stretch in zip(m94, stretches):
        top = stretch.pedestal + stretch.scale  # beyond the quantile the stretch clips by design
        values = channel[(channel >= stretch.pedestal) & (channel <= top)].astype(np.float64)
        restored = stretch.invert(stretch.apply(values))
        assert np.max(np.abs(restored - values) / np.maximum(values, 1e-3)) <= 1e-5
        assert 0.2 < np.median(stretch.apply(values)) < 0.3  # the median lands near the target


def test_constant_channel_is_rejected():
    with pytest.raises(InputImageError, match="constant"):
        fit_stretch(np.full((1, 10, 10), 0.3, np.float32), 0.95, 0.25)


def test_linear_fit_domain_keeps_pedestal_and_scale_only(m94):
    """The fit sees (block median - pedestal) / scale, not clipped above the quantile; the mask and
    preview keep the stretch, and only the stretched domain leaves out what the stretch clipped."""
    linear = prepare(m94, Parameters())
    stretched = prepare(m94, Parameters(fit_domain="stretched"))
    assert stretched.fit_ds is stretched.stretched_ds and stretched.fit_stretches == stretched.stretches
    np.testing.assert_array_equal(linear.stretched_ds, stretched.stretched_ds)
    clipped = (stretched.stretched_ds == 1.0).any(axis=0)
    assert 0 < clipped.sum() < 0.05 * clipped.size  # the galaxy's core and the brightest stars
    assert linear.mask_ds[0][clipped].all()
    np.testing.assert_array_equal(stretched.mask_ds[0], np.where(clipped, 0.0, linear.mask_ds[0]))
    medians = block_reduce(np.where(m94 > 0, m94, np.nan), 8, "median")
    for channel, (stretch, fit) in enumerate(zip(linear.stretches, linear.fit_stretches)):
        assert (fit.pedestal, fit.scale) == (stretch.pedestal, stretch.scale)
        expected = (medians[channel] - stretch.pedestal) / stretch.scale
        np.testing.assert_allclose(linear.fit_ds[channel], expected, atol=2e-6, equal_nan=True)
        assert np.nanmax(linear.fit_ds[channel]) > 1.5
        assert fit.invert(np.float64(0.5)) == pytest.approx(stretch.pedestal + 0.5 * stretch.scale)
        assert fit.invert(np.float64(1.5)) == pytest.approx(stretch.pedestal + 1.5 * stretch.scale)
        assert stretch.invert(np.float64(1.5)) == pytest.approx(stretch.pedestal + stretch.scale)


def test_a_result_is_shown_as_its_input_was():
    from bgoptimizer.method.display import display_like, linked_stretches
    from bgoptimizer.method.prepare.downscale import block_reduce
    from bgoptimizer.synthetic import make_scene

    scene = make_scene(900, 600, nebula=False, seed=2)
    prepared = prepare(scene.image, Parameters())
    stretches = linked_stretches(prepared)
    assert len(set(stretches)) == 1  # one curve for every channel: their balance (a cast) shows
    seen = np.stack([stretch.apply(channel) for stretch, channel in zip(stretches, block_reduce(scene.image, 8))])
    np.testing.assert_allclose(display_like(prepared, scene.image), seen, atol=1e-5)
    assert np.median(seen[0]) > np.median(seen[2]) + 0.05  # the scene's sky is redder than blue, and shown so
    flat = display_like(prepared, scene.image - scene.background + scene.background.mean(axis=(1, 2), keepdims=True))
    assert flat.shape == prepared.stretched_ds.shape and flat.dtype == np.float32
    halves = [np.median(flat[:, :, :56]), np.median(flat[:, :, 57:])]
    before = [np.median(seen[:, :, :56]), np.median(seen[:, :, 57:])]
    assert abs(halves[0] - halves[1]) < 0.2 * abs(before[0] - before[1])  # the gradient gone, in the same stretch
