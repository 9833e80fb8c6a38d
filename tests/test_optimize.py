"""The optimizer loop: what it reads back from the fitting device."""

import warnings

import numpy as np
import pytest
import torch

from bgoptimizer.method.model.optimize import CHECK_EVERY, Objective, Schedule, optimize
from bgoptimizer.method.model.samples import FitData
from bgoptimizer.method.model.spline import SplineState, initial_centers
from bgoptimizer.method.model.start import robust_solve

# Every way a tensor's value reaches Python; on a GPU each one waits for the device to finish its queue.
_HOST_READS = ("__bool__", "__int__", "__float__", "__index__", "item", "tolist", "numpy")
EPOCHS = 100


def _problem(device: str) -> tuple[FitData, SplineState]:
    """A tilted sky with noise and the robust start for 16 control points, on ``device``."""
    rng = np.random.default_rng(3)
    points = torch.from_numpy(rng.uniform(0, 1, (2000, 2)).astype(np.float32))
    values = (0.2 + 0.05 * points[:, 0] + 0.002 * torch.from_numpy(rng.normal(size=2000).astype(np.float32)))[None]
    data = FitData(points, values, torch.ones(1, 2000), torch.full((1, 1), 0.002))
    centers = torch.from_numpy(initial_centers(16, (1.0, 1.0), "random", rng))
    start = robust_solve(data, centers, 2, smoothing=1e-5)
    on_device = FitData(*(tensor.to(device) for tensor in (data.points, data.values, data.weights, data.noise)))
    return on_device, SplineState(*(tensor.to(device) for tensor in (start.centers, start.weights, start.polynomial)),
                                  start.order)


def _fit(data: FitData, start: SplineState, with_progress: bool) -> None:
    outcome = optimize(data, start, Objective("robust", 1.0, 1e-5), Schedule(EPOCHS, 1e-3, 10 * EPOCHS),
                       progress=(lambda fraction, message: None) if with_progress else None)
    assert outcome.iterations == EPOCHS


def _allowed(with_progress: bool) -> int:
    """Reads at the checks (the patience counter, and the loss for the progress line), + the best loss returned."""
    return EPOCHS // CHECK_EVERY * (2 if with_progress else 1) + 1


@pytest.mark.parametrize("with_progress", [False, True])
def test_the_loop_reads_values_back_only_at_its_checks(monkeypatch, with_progress):
    # A read per iteration would make the GPU wait at every step (issue 21: no per-iteration sync).
    data, start = _problem("cpu")
    reads = []
    for name in _HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    _fit(data, start, with_progress)
    assert len(reads) <= _allowed(with_progress), reads


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")
def test_the_loop_waits_for_the_gpu_only_at_its_checks():
    # CUDA's own count: every call that synchronizes with the host warns in this mode.
    data, start = _problem("cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _fit(data, start, with_progress=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(warning.message) for warning in caught if "synchroniz" in str(warning.message)]
    assert len(syncs) <= _allowed(True) + 2, syncs  # + the starting best loss and counter put on the device


def test_optimize_lowers_the_loss_where_it_can():
    """From a start pushed off the robust optimum (the polynomial part offset by 10 noise sigmas), Adam brings
    the objective down and keeps the best state; from the optimum itself, it keeps the start."""
    data, start = _problem("cpu")
    objective = Objective("robust", 1.0, 1e-5)
    off = SplineState(start.centers, start.weights, start.polynomial + 0.02, start.order)
    with torch.no_grad():
        before, optimum = float(objective(off, data)), float(objective(start, data))
    outcome = optimize(data, off, objective, Schedule(150, 1e-3, 50))
    assert outcome.loss < 0.5 * before
    with torch.no_grad():
        assert float(objective(outcome.state, data)) == pytest.approx(outcome.loss, rel=1e-4)
    kept = optimize(data, start, objective, Schedule(100, 1e-3, 20))
    assert kept.loss <= optimum + 1e-6
