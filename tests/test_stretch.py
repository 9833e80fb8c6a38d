import numpy as np
import pytest

from bgoptimizer.errors import InputImageError
from bgoptimizer.stretch import fit_stretch, mtf


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
