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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..io.arrays import as_planar
from ..io.bands import BandSink
from ..params import Parameters
from ..progress import CancelCheck, ProgressCallback, cancelling, scaled
from .common.memory import release_freed_memory
from .fit import FitReport, fit_background
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
    mask: np.ndarray | None = None,
    exclude: Sequence[np.ndarray] = (),
    initial: SplineState | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    in_place: bool = False,
    model_sink: BandSink | None = None,
    device: str = "auto",
) -> BackgroundResult:
    """Model and remove the smooth background of a linear image.

    Parameters
    ----------
    image : `~numpy.ndarray`
        Linear image, ``(H, W)`` or ``(C, H, W)`` with C = 1 or 3, nominally in
        [0, 1]; pixels equal to 0 (or NaN) are missing and stay 0.
    params : `Parameters`, optional
        Method parameters; defaults when omitted.
    mask : `~numpy.ndarray`, optional
        Full-resolution weights in [0, 1], ``(H, W)``, ``(1, H, W)`` or
        ``(C, H, W)``: 1 = background, 0 = ignore. Messages about it name
        the parameter ``mask``.
    exclude : sequence of `~numpy.ndarray`, optional
        Areas kept out of the fit (soft-edged): ``(N, 2)`` polygons of
        full-resolution ``(x, y)`` vertices, row 0 first as in FITS.
    initial : `SplineState`, optional
        A previous fit (``result.state``) of a similar image, e.g. the frame
        before in a sequence: its control-point positions are the start, and
        a fifth of ``params.iterations`` is run.
    progress : callable, optional
        ``progress(fraction, message)``, called from this thread.
    cancel : callable, optional
        Returns True to stop; raises `Cancelled` and changes nothing.
    in_place : bool, optional
        Write the corrected image over ``image`` (float32 ``(C, H, W)`` only),
        saving one image of memory, when the caller no longer needs the input.
    model_sink : callable, optional
        ``model_sink(top, rows)`` receives the model in bands of rows
        (``(C, rows, W)`` float32, from row ``top``), e.g. to write it to a
        file, and the model is not kept: ``result.background`` is None.
        With ``in_place``, the run then needs memory for one image only.
    device : {'auto', 'cpu', 'cuda', 'mps'}, optional
        Where the fit runs (:attr:`RunOptions.device`).

    Returns
    -------
    BackgroundResult
        ``background`` and ``corrected`` as float32 ``(C, H, W)``, the fit report
        and the fitted spline.
    """
    return extract_planar(as_planar(image), params or Parameters(), mask=mask, exclude=exclude, initial=initial,
                          progress=progress, cancel=cancel, in_place=in_place, model_sink=model_sink, device=device)


def extract_planar(
    image: np.ndarray,
    params: Parameters,
    *,
    mask: np.ndarray | None = None,
    exclude: Sequence[np.ndarray] = (),
    initial: SplineState | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    in_place: bool = False,
    model_sink: BandSink | None = None,
    device: str = "auto",
) -> BackgroundResult:
    """:func:`extract_background` on a checked float32 ``(C, H, W)`` image of any channel count (the four
    phase images of a raw CFA frame are fitted together as four channels)."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    progress = cancelling(progress, cancel)  # each band prepared or reconstructed is a point to stop at
    prepared = prepare(image, params, mask=mask, exclude=exclude, progress=_stage(progress, "prepare"), checked=True)
    seconds["prepare"] = time.perf_counter() - start
    release_freed_memory()

    start = time.perf_counter()
    state, report = fit_background(prepared, params, initial=initial, progress=_stage(progress, "fit"), cancel=cancel,
                                   device=device)
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

    corrected = correct(image, delivered(), params.mode, out=image if in_place else None, neutral=params.neutral)
    seconds["reconstruct"] = modeling[0]
    seconds["correct"] = time.perf_counter() - start - modeling[0]
    report.seconds = seconds
    if progress is not None:
        progress(1.0, "done")
    return BackgroundResult(background, corrected, report, state)
