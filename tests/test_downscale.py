import numpy as np
import pytest

from bgoptimizer.method.prepare.downscale import block_centers, block_reduce


def test_median_ignores_nan_and_takes_lower_middle():
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    image[0, 0, 0] = np.nan
    image[0, 0, 1] = 1000.0  # an outlier the median rejects
    reduced = block_reduce(image, 2, "median")
    # block (0,0) holds nan, 1000, 4, 5 -> median of {4, 5, 1000} = 5
    assert reduced[0, 0, 0] == 5.0
    # block (1,1) holds 10, 11, 14, 15 -> the lower middle value
    assert reduced[0, 1, 1] == 11.0


@pytest.mark.parametrize(("height", "width", "factor"), [(37, 53, 8), (32, 8, 8), (21, 14, 3)])
def test_median_matches_a_per_block_loop_and_leaves_the_input_alone(height, width, factor):
    """Complete blocks take the fast selection, blocks with gaps torch's nanmedian: both must give the
    lower median of the valid pixels (a single block column, 32x8, reshapes to a view of the input)."""
    rng = np.random.default_rng(2)
    image = rng.normal(size=(2, height, width)).astype(np.float32)
    image[rng.random(image.shape) < 0.03] = np.nan
    image[:, :factor, :factor] = np.nan  # one block missing entirely
    original = image.copy()
    reduced = block_reduce(image, factor, "median")
    np.testing.assert_array_equal(image, original)
    for channel in range(2):
        for row in range(reduced.shape[1]):
            for col in range(reduced.shape[2]):
                block = image[channel, row * factor : (row + 1) * factor, col * factor : (col + 1) * factor]
                valid = np.sort(block[np.isfinite(block)])
                expected = valid[(valid.size - 1) // 2] if valid.size else np.nan
                np.testing.assert_equal(reduced[channel, row, col], expected)


def test_mean_ignores_nan_and_all_nan_block_is_nan():
    image = np.ones((2, 4, 6), np.float32)
    image[:, 0:2, 0:2] = np.nan
    image[0, 2, 2] = np.nan
    image[0, 3, 3] = 4.0
    reduced = block_reduce(image, 2, "mean")
    assert np.isnan(reduced[:, 0, 0]).all()
    assert reduced[0, 1, 1] == (1 + 1 + 4) / 3
    assert reduced.dtype == np.float32


def test_partial_edge_blocks_are_kept():
    image = np.ones((1, 5, 7), np.float32)
    image[0, 4, :] = 3.0
    reduced = block_reduce(image, 2, "median")
    assert reduced.shape == (1, 3, 4)
    assert reduced[0, 2, 0] == 3.0  # the last row alone forms the last block row
    assert np.allclose(block_centers(5, 2), [1.0, 3.0, 4.5])


def test_block_median_commutes_with_the_stretch(m94):
    """Why prepare may downscale first and stretch the small image: the lower median is an order statistic."""
    from bgoptimizer.method.prepare.mask import missing_to_nan
    from bgoptimizer.method.prepare.stretch import fit_stretch

    image = missing_to_nan(m94[:, :400, :600])
    image[:, :13, :21] = np.nan  # a missing corner, one block all NaN
    stretches = fit_stretch(image, 0.99, 0.25)
    stretched = np.stack([s.apply(c) for s, c in zip(stretches, image)])
    reduced = block_reduce(image, 8, "median")
    np.testing.assert_array_equal(
        block_reduce(stretched, 8, "median"), np.stack([s.apply(c) for s, c in zip(stretches, reduced)])
    )
