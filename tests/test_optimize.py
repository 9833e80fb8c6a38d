"""The optimizer loop: what it reads back from the fitting device."""

import numpy as np
import pytest
import torch

from bgoptimizer.optimize import CHECK_EVERY, optimize
from bgoptimizer.samples import FitData
from bgoptimizer.spline import initial_centers
from bgoptimizer.start import robust_solve

# Every way a tensor's value reaches Python; on a GPU each one waits for the device to finish its queue.
_HOST_READS = ("__bool__", "__int__", "__float__", "__index__", "item", "tolist", "numpy")


@pytest.mark.parametrize("with_progress", [False, True])
def test_the_loop_reads_values_back_only_at_its_checks(monkeypatch, with_progress):
    # A read per iteration would make the GPU wait at every step (issue 21: no per-iteration sync).
    rng = np.random.default_rng(3)
    points = torch.from_numpy(rng.uniform(0, 1, (2000, 2)).astype(np.float32))
    values = (0.2 + 0.05 * points[:, 0] + 0.002 * torch.from_numpy(rng.normal(size=2000).astype(np.float32)))[None]
    data = FitData(points, values, torch.ones(1, 2000), torch.full((1, 1), 0.002))
    start = robust_solve(data, torch.from_numpy(initial_centers(16, (1.0, 1.0), "random", rng)), 2, smoothing=1e-5)
    reads = []
    for name in _HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    epochs = 100
    outcome = optimize(data, start, epochs=epochs, lr=1e-3, alpha=1.0, patience=epochs, smoothing=1e-5,
                       progress=(lambda fraction, message: None) if with_progress else None)
    assert outcome.iterations == epochs
    checks = epochs // CHECK_EVERY
    assert len(reads) <= checks * (2 if with_progress else 1) + 1, reads  # + the best loss returned
