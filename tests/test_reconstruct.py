"""Step 7, the model at full resolution (method/output/reconstruct.py): the grid reconstruction against the
exact evaluation, and its separable upsampling against torch's bicubic interpolation."""

import numpy as np
import pytest

from bgoptimizer import Parameters, extract_background
from bgoptimizer.synthetic import make_scene


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
