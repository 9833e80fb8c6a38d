"""The method in order, each step in its own module; this one runs them and reports.

1-4. :mod:`.prepare.preparation`: check the image, stretch it (pedestal, quantile
     scale, midtones transfer), downscale it by a NaN-aware block median and
     weight the pixels the thresholds and a user mask keep.
5.   :mod:`.objects.detection`: find large faint objects and mask them too (optional).
6.   :mod:`.model.samples`, :mod:`.model.start` and :mod:`.model.optimize`: the background
     samples, the starting spline (robust solve), and Adam on :mod:`.model.losses`.
7.   :mod:`.output.reconstruct`: the spline at full resolution, stretch undone.
8.   :mod:`.output.correct`: the model subtracted or divided out.

Full-resolution work is done in bands of rows, so besides the input only the
background model and the corrected image are ever held at full size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..io.arrays import as_planar
from ..params import Parameters
from ..progress import ProgressCallback, cancelling, scaled
from .common.memory import release_freed_memory
from .fit import FitReport, fit_background
from .given import Delivery, FitInputs, RunControl
from .model.spline import SplineState
from .output.correct import correct
from .output.reconstruct import model_bands
from .prepare.preparation import prepare

__all__ = ["BackgroundResult", "extract_background"]

_STAGES = {"prepare": (0.0, 0.08), "fit": (0.08, 0.9), "reconstruct": (0.9, 1.0)}


@dataclass
class BackgroundResult:
    background: np.ndarray | None  # (C, H, W) float32, linear model; None when given to a model sink
    corrected: np.ndarray  # (C, H, W) float32
    report: FitReport
    state: SplineState


def _stage(progress: ProgressCallback | None, stage: str) -> ProgressCallback | None:
    return scaled(progress, *_STAGES[stage])


def extract_background(
    image: np.ndarray,
    params: Parameters | None = None,
    *,
    inputs: FitInputs = FitInputs(),
    control: RunControl = RunControl(),
    delivery: Delivery = Delivery(),
) -> BackgroundResult:
    """Model and remove the smooth background of a linear image.

    Parameters
    ----------
    image : `~numpy.ndarray`
        Linear image, ``(H, W)`` or ``(C, H, W)`` with C = 1 or 3, nominally in
        [0, 1]; pixels equal to 0 (or NaN) are missing and stay 0.
    params : `Parameters`, optional
        Method parameters; defaults when omitted.
    inputs : `FitInputs`, optional
        What the fit is given: a mask of the background, areas kept out, a
        previous fit to start from.
    control : `RunControl`, optional
        Progress reports, the cancel check, the device the fit runs on.
    delivery : `Delivery`, optional
        Where the results go: the corrected image over the input
        (``in_place``), the model in bands to a sink instead of kept.

    Returns
    -------
    BackgroundResult
        ``background`` and ``corrected`` as float32 ``(C, H, W)``, the fit report
        and the fitted spline.
    """
    return extract_planar(as_planar(image), params or Parameters(), inputs=inputs, control=control,
                          delivery=delivery)


def extract_planar(
    image: np.ndarray,
    params: Parameters,
    *,
    inputs: FitInputs = FitInputs(),
    control: RunControl = RunControl(),
    delivery: Delivery = Delivery(),
) -> BackgroundResult:
    """:func:`extract_background` on a checked float32 ``(C, H, W)`` image of any channel count (the four
    phase images of a raw CFA frame are fitted together as four channels)."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    cancel, model_sink = control.cancel, delivery.model_sink
    progress = cancelling(control.progress, cancel)  # each band prepared or reconstructed is a point to stop at
    prepared = prepare(image, params, mask=inputs.mask, exclude=inputs.exclude, progress=_stage(progress, "prepare"),
                       checked=True)
    seconds["prepare"] = time.perf_counter() - start
    release_freed_memory()

    start = time.perf_counter()
    state, report = fit_background(prepared, params, initial=inputs.initial, progress=_stage(progress, "fit"),
                                   cancel=cancel, device=control.device)
    seconds["fit"] = time.perf_counter() - start
    release_freed_memory()

    start = time.perf_counter()
    background = None if model_sink is not None else np.empty(image.shape, np.float32)
    modeling = [0.0]

    def delivered() -> Iterator[tuple[int, np.ndarray]]:
        """The model's bands, kept or handed to the sink, timing their computation alone."""
        begin = time.perf_counter()
        for top, rows in model_bands(state, prepared, params.reconstruction == "exact",
                                      _stage(progress, "reconstruct")):
            modeling[0] += time.perf_counter() - begin
            if background is not None:
                background[:, top : top + rows.shape[1]] = rows
            else:
                model_sink(top, rows)
            yield top, rows
            begin = time.perf_counter()

    corrected = correct(image, delivered(), params.mode, out=image if delivery.in_place else None,
                        neutral=params.neutral)
    seconds["reconstruct"] = modeling[0]
    seconds["correct"] = time.perf_counter() - start - modeling[0]
    report.seconds = seconds
    if progress is not None:
        progress(1.0, "done")
    return BackgroundResult(background, corrected, report, state)
