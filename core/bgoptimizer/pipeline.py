"""The method in order, each step in its own module; this one runs them and reports.

1-4. :mod:`.preparation`: check the image, stretch it (pedestal, quantile
     scale, midtones transfer), downscale it by a NaN-aware block median and
     weight the pixels the thresholds and a user mask keep.
5.   :mod:`.objects`: find large faint objects and mask them too (optional).
6.   :mod:`.samples`, :mod:`.start` and :mod:`.optimize`: the background
     samples, the starting spline (robust solve), and Adam on :mod:`.losses`.
7.   :mod:`.reconstruct`: the spline at full resolution, stretch undone.
8.   :mod:`.correct`: the model subtracted or divided out.

Full-resolution work is done in bands of rows, so besides the input only the
background model and the corrected image are ever held at full size.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .bands import BandSink
from .correct import correct
from .device import describe_device, resolve_device
from .memory import release_freed_memory
from .objects import COARSE_POINTS, DETECTION_KERNEL, find_objects
from .optimize import optimize
from .params import Parameters
from .preparation import Prepared, as_planar, prepare, preview_image
from .progress import CancelCheck, ProgressCallback, scaled
from .reconstruct import model_bands
from .samples import MAX_FIT_SAMPLES, fit_data, grid_coordinates, subset
from .spline import SplineState, evaluate_grid
from .start import initial_state, layout, robust_solve

__all__ = [
    "Prepared",
    "FitReport",
    "BackgroundResult",
    "as_planar",
    "prepare",
    "preview_image",
    "fit_background",
    "PreviewFit",
    "preview_fit",
    "extract_background",
]

# Below this many background samples per control point the model is poorly constrained, and
# objects covering more than this share of the frame leave it little sky: the report warns.
# Measured on 900x600 scenes whose nebula exceeds the frame (sigma 30-50 % of its side): 44-47 %
# masked and half of the nebula absorbed; the benchmark's large nebula (sigma 16 %): 63-65 %.
_SCARCE_SAMPLES_PER_POINT = 8
_MOST_OF_THE_FRAME = 0.4
# A fit started from a similar image's control points runs 1/this of the epochs: measured on
# 1500x1000 frames, 100 warm iterations matched 500 cold ones (0.447 % vs 0.44 % RMS).
_WARM_EPOCH_DIVISOR = 5

_STAGES = {"prepare": (0.0, 0.08), "fit": (0.08, 0.9), "reconstruct": (0.9, 1.0)}


@dataclass
class FitReport:
    loss: float
    iterations: int
    stopped_early: bool
    samples: int
    device: str
    objects: float = 0.0  # share of the downscaled frame kept out of the fit as objects
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # why the model may not be trusted, and what to do

    def summary(self) -> str:
        """The fit in one line, as every front end reports it."""
        stages = ", ".join(f"{name} {sec:.2f}s" for name, sec in self.seconds.items())
        return (
            f"final loss {self.loss:.5f} after {self.iterations} iterations on {self.device}; {self.samples} "
            f"background samples, {self.objects:.0%} of the frame masked as objects" + (f"; {stages}" if stages else "")
        )


@dataclass
class BackgroundResult:
    background: np.ndarray | None  # (C, H, W) float32, linear model; None when given to a model sink
    corrected: np.ndarray  # (C, H, W) float32
    report: FitReport
    state: SplineState


def _stage(progress: ProgressCallback | None, stage: str) -> ProgressCallback | None:
    return scaled(progress, *_STAGES[stage])


def _find_objects(prepared: Prepared, params: Parameters, device: torch.device) -> np.ndarray:
    """``(h, w)`` map of the large faint objects (and their wings) to mask out (see :mod:`.objects`).

    The refits use the final fit's layout, with at least the coarse fit's
    point count (the detection kernel's quadratic part has 6 terms).
    """
    layouts = {
        coarse: torch.from_numpy(centers).to(device)
        for coarse, centers in ((True, layout(prepared, params, COARSE_POINTS, "grid")),
                                (False, layout(prepared, params, max(params.points, COARSE_POINTS))))
    }

    def solve(excluded: np.ndarray | None, coarse: bool) -> SplineState:
        masked = prepared if excluded is None else _excluding(prepared, excluded)
        data = subset(fit_data(masked, device), MAX_FIT_SAMPLES, params.seed)
        return robust_solve(data, layouts[coarse], *DETECTION_KERNEL)

    valid = (prepared.mask_ds.max(axis=0) > 0) & np.isfinite(prepared.fit_ds).all(axis=0)
    return find_objects(prepared.fit_ds, valid, prepared.fit_stretches, solve, grid_coordinates(prepared))


def _excluding(prepared: Prepared, excluded: np.ndarray) -> Prepared:
    return dataclasses.replace(prepared, mask_ds=prepared.mask_ds * ~excluded[None])


def fit_background(
    prepared: Prepared,
    params: Parameters,
    *,
    initial: SplineState | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    device: str = "auto",
) -> tuple[SplineState, FitReport]:
    """Fit the spline to the prepared image (steps 5-6), optionally from ``initial``'s control points.

    Large objects are masked first when ``params.protect_objects`` is set.
    A warm start needs fewer iterations: it runs ``epochs // 5``. ``device``
    is a :attr:`RunOptions.device` choice.
    """
    state, report, _ = _fit(prepared, params, progress, cancel, initial, device)
    return state, report


def _fit(
    prepared: Prepared,
    params: Parameters,
    progress: ProgressCallback | None,
    cancel: CancelCheck | None,
    initial: SplineState | None,
    device_choice: str,
) -> tuple[SplineState, FitReport, np.ndarray]:
    """:func:`fit_background`, and the ``(h, w)`` map of the objects it kept out of the fit."""
    device = resolve_device(device_choice)
    found = np.zeros(prepared.fit_ds.shape[1:], bool)
    objects = 0.0
    if params.protect_objects:
        found = _find_objects(prepared, params, device)
        objects = float(((prepared.mask_ds.max(axis=0) > 0) & found).mean())
        prepared = _excluding(prepared, found)
    data = fit_data(prepared, device, binned=True)
    warm = initial is not None and len(initial.centers) == params.points  # else laid out afresh
    initial = initial_state(prepared, params, data, device, initial if warm else None)
    outcome = optimize(
        data,
        initial,
        epochs=params.epochs // _WARM_EPOCH_DIVISOR if warm else params.epochs,
        lr=params.lr,
        alpha=params.alpha,
        patience=params.patience,
        loss=params.loss,
        smoothing=params.smoothing,
        progress=progress,
        cancel=cancel,
    )
    samples = int((prepared.mask_ds.max(axis=0) > 0).sum())
    report = FitReport(
        loss=outcome.loss,
        iterations=outcome.iterations,
        stopped_early=outcome.stopped_early,
        samples=samples,
        device=describe_device(device),
        objects=objects,
        warnings=_trust_warnings(objects, samples, params),
    )
    return outcome.state, report, found


@dataclass
class PreviewFit:
    """What a fit will do, at the downscaled size: ``(C, h, w)`` display-stretched images in [0, 1]."""

    model: np.ndarray  # the background model
    corrected: np.ndarray  # the image with the model removed (sky level kept)
    objects: np.ndarray  # (h, w) bool: kept out of the fit as large objects
    points: np.ndarray  # (N, 2) control points, in downscaled pixels (x, y)
    report: FitReport


def preview_fit(prepared: Prepared, params: Parameters, *, cancel: CancelCheck | None = None,
                device: str = "auto") -> PreviewFit:
    """The fit on the downscaled image alone (the full run's fit, without steps 7-8), for a preview:
    the model and the corrected image shown with the input's display stretch."""
    state, report, found = _fit(prepared, params, None, cancel, None, device)
    with torch.no_grad():
        model_fit = evaluate_grid(state, *grid_coordinates(prepared)).cpu().numpy()
    model, corrected = np.empty_like(model_fit), np.empty_like(model_fit)
    for channel, (fit_stretch, shown) in enumerate(zip(prepared.fit_stretches, prepared.stretches)):
        linear_model = fit_stretch.invert(model_fit[channel])
        linear_image = fit_stretch.invert(prepared.fit_ds[channel])
        model[channel] = shown.apply(linear_model)
        corrected[channel] = shown.apply(linear_image - linear_model + np.median(linear_model))
    points = state.centers.detach().cpu().numpy() * prepared.length / prepared.factor - 0.5
    return PreviewFit(np.nan_to_num(model), np.nan_to_num(corrected), found, points, report)


def _trust_warnings(objects: float, samples: int, params: Parameters) -> list[str]:
    """What makes a model untrustworthy though it was fitted: too little background to see."""
    warnings = []
    if objects > _MOST_OF_THE_FRAME:
        warnings.append(
            f"objects cover {objects:.0%} of the frame, so the model rests on the {1 - objects:.0%} left and "
            "may take in part of an object larger still; check the model, and give a --mask of the "
            "background or use a wider field (if no object is that large: --no-protect-objects)"
        )
    if samples < _SCARCE_SAMPLES_PER_POINT * params.points:
        warnings.append(
            f"only {samples} background samples for {params.points} control points: too few to trust the "
            "model; use a smaller --downscale, fewer --points, or a larger image"
        )
    return warnings


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
        a fifth of ``params.epochs`` is run.
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
    params = params or Parameters()
    image = as_planar(image)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
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

    corrected = correct(image, delivered(), params.mode, out=image if in_place else None)
    seconds["reconstruct"] = modeling[0]
    seconds["correct"] = time.perf_counter() - start - modeling[0]
    report.seconds = seconds
    if progress is not None:
        progress(1.0, "done")
    return BackgroundResult(background, corrected, report, state)
