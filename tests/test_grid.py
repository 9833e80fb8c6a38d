"""The method's coordinates (:class:`bgoptimizer.method.prepare.grid.Grid`): conversions agree with each other."""

import numpy as np
import torch

from bgoptimizer.method.prepare.grid import Grid


def test_conversions_are_inverse_and_place_blocks_where_the_downscale_puts_them():
    grid = Grid(100, 150, 8)  # the last block row and column are cut off (100 and 150 are not multiples of 8)
    assert grid.length == 150.0 and grid.extent == (1.0, 100 / 150) and grid.blocks == (13, 19)
    x, y = grid.block_centres()
    np.testing.assert_allclose(grid.blocks_of_spline(x[:-1]), np.arange(18), atol=1e-12)  # whole blocks
    assert grid.blocks_of_spline(x[-1]) < 18.0  # a cut-off block's own centre: (144 + 150) / 2 = 147 px
    assert grid.block_index(x, 19).tolist() == list(range(19))
    assert grid.block_index(np.array([-0.1, 2.0]), 19).tolist() == [0, 18]  # clipped to the image
    blocks = np.arange(5.0)
    np.testing.assert_allclose(grid.block_of_fits(grid.fits_centre_of_block(blocks)), blocks)
    assert grid.fits_centre_of_block(np.array([0.0]))[0] == 3.5  # pixels 0..7, centres at whole numbers
    # Pixel centres: numpy and torch give the same spline coordinates.
    on_torch = grid.spline_of_pixel_centres(torch.arange(150, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(on_torch, grid.spline_of_pixel_centres(np.arange(150.0)))
    assert grid.spline_of_pixel_centres(np.arange(150.0))[-1] == 149.5 / 150
    assert grid.pixel_edges_of_block_edges(np.array([0, 12, 13]), 100).tolist() == [0, 96, 100]
