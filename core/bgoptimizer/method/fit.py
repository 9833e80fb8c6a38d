"""Step 5-6 of the method: large objects kept out, then the spline fitted (robust start, Adam), and a
report of the fit saying when its model may not be trusted."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import Advice
from ..params import Parameters
from ..progress import CancelCheck, ProgressCallback, check_cancel
from .common.device import describe_device, resolve_device
from .model.misfit import RELAX_STEPS, ModelChange, model_change, relax_smoothing
from .model.optimize import Objective, Schedule, optimize
from .model.samples import MAX_FIT_SAMPLES, FitData, fit_data, grid_coordinates, subset
from .model.spline import SplineState
from .model.start import initial_state, layout, robust_solve
from .objects.detection import COARSE_POINTS, DETECTION_KERNEL, find_objects
from .objects.profiles import fading_inside, object_ellipses, profile_basis
from .prepare.preparation import Prepared

__all__ = ["FitReport", "fit_background", "fit_with_objects"]

# Below this many background samples per control point the model is poorly constrained, and
# objects covering more than this share of the frame leave it little sky: the report warns.
# Measured on 900x600 scenes whose nebula exceeds the frame (sigma 30-50 % of its side): 44-47 %
# masked and half of the nebula absorbed; the benchmark's large nebula (sigma 16 %): 63-65 %.
_SCARCE_SAMPLES_PER_POINT = 8
_MOST_OF_THE_FRAME = 0.4
# A fit started from a similar image's control points runs 1/this of the epochs: measured on
# 1500x1000 frames, 100 warm iterations matched 500 cold ones (0.447 % vs 0.44 % RMS).
_WARM_EPOCH_DIVISOR = 5


@dataclass
class FitReport:
    loss: float
    iterations: int
    stopped_early: bool
    samples: int
    device: str
    objects: float = 0.0  # share of the downscaled frame kept out of the fit as objects
    start_kept: bool = False  # gradient descent found nothing better than the robust start, and stopped at once
    smoothing: float | None = None  # the smoothing of the model, where a coherent misfit made it less than asked
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[Advice] = field(default_factory=list)  # why the model may not be trusted, and what to do

    def _stages(self) -> str:
        return ", ".join(f"{name} {sec:.2f}s" for name, sec in self.seconds.items())

    def _lowered(self) -> str:
        return f"; smoothing lowered to {self.smoothing:g} to follow a steep gradient" if self.smoothing else ""

    def details(self) -> str:
        """Where and how the fit ran, without the optimizer's own terms (for a log beside a user's summary)."""
        stages = self._stages()
        text = f"on {self.device}; {self.samples} background samples{self._lowered()}"
        return text + (f"; {stages}" if stages else "")

    def summary(self) -> str:
        """The fit in one line, as the command line reports it."""
        stages = self._stages()
        descent = (f"final loss {self.loss:.5f} after {self.iterations} iterations"
                   + (" (the robust start kept: no step improved on it)" if self.start_kept else ""))
        return (
            (descent if self.iterations else "fitted")
            + f" on {self.device}"
            + self._lowered()
            + f"; {self.samples} "
            f"background samples, {self.objects:.0%} of the frame masked as objects" + (f"; {stages}" if stages else "")
        )


def _find_objects(prepared: Prepared, params: Parameters, device: torch.device,
                  cancel: CancelCheck | None = None) -> np.ndarray:
    """``(h, w)`` map of the large faint objects (and their wings) to mask out (see :mod:`.objects.detection`).

    The refits use the final fit's layout, with at least the coarse fit's
    point count (the detection kernel's quadratic part has 6 terms). Each
    refit is a point where ``cancel`` stops the run.
    """
    layouts = {
        coarse: torch.from_numpy(centers).to(device)
        for coarse, centers in ((True, layout(prepared, params, COARSE_POINTS, "grid")),
                                (False, layout(prepared, params, max(params.points, COARSE_POINTS))))
    }

    def solve(excluded: np.ndarray | None, coarse: bool) -> SplineState:
        check_cancel(cancel)
        masked = prepared if excluded is None else _excluding(prepared, excluded)
        data = subset(fit_data(masked, device), MAX_FIT_SAMPLES, params.seed)
        return robust_solve(data, layouts[coarse], *DETECTION_KERNEL)

    valid = (prepared.mask_ds.max(axis=0) > 0) & np.isfinite(prepared.fit_ds).all(axis=0)
    return find_objects(prepared.fit_ds, valid, prepared.fit_stretches, solve, grid_coordinates(prepared))


def _start(prepared: Prepared, params: Parameters, device: torch.device, previous: SplineState | None,
           found: np.ndarray) -> tuple[SplineState, FitData]:
    """The starting spline, and the background samples less the light of the ``found`` objects that
    fade inside the frame (fitted beside the spline as profiles, see :mod:`.objects.profiles`), which the
    optimizer and the smoothing check then see as sky."""
    data = fit_data(prepared, device, binned=True)
    coordinates = grid_coordinates(prepared)
    ellipses = object_ellipses(found, coordinates) if params.loss == "robust" else []
    while True:
        profiles = profile_basis(ellipses, data.points)
        state, amplitudes = initial_state(prepared, params, data, device, previous, profiles)
        fading = fading_inside(ellipses, amplitudes, coordinates)
        if all(fading):
            break
        ellipses = [ellipse for ellipse, fades in zip(ellipses, fading) if fades]
    if ellipses:
        data = dataclasses.replace(data, values=data.values - (amplitudes.T @ profiles).to(data.values.dtype))
    return state, data


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
    state, report, _ = fit_with_objects(prepared, params, progress, cancel, initial, device)
    return state, report


def fit_with_objects(
    prepared: Prepared,
    params: Parameters,
    progress: ProgressCallback | None,
    cancel: CancelCheck | None,
    initial: SplineState | None,
    device_choice: str,
) -> tuple[SplineState, FitReport, np.ndarray]:
    """:func:`fit_background`, and the ``(h, w)`` map of the objects it kept out of the fit."""
    if progress is not None:
        progress(0.0, "fit")  # the stage starts: detection's solves come before any optimizer step
    device = resolve_device(device_choice)
    found = np.zeros(prepared.fit_ds.shape[1:], bool)
    objects = 0.0
    if params.protect_objects:
        found = _find_objects(prepared, params, device, cancel)
        objects = float(((prepared.mask_ds.max(axis=0) > 0) & found).mean())
        prepared = _excluding(prepared, found)
    check_cancel(cancel)
    warm = initial is not None and len(initial.centers) == params.points  # else laid out afresh
    initial, data = _start(prepared, params, device, initial if warm else None, found)
    epochs = params.iterations // _WARM_EPOCH_DIVISOR if warm else params.iterations
    outcome = optimize(data, initial, Objective(params.loss, params.alpha, params.smoothing),
                       Schedule(epochs, params.lr, params.patience), progress=progress, cancel=cancel)
    samples = int((prepared.mask_ds.max(axis=0) > 0).sum())
    state, smoothing, steep = outcome.state, params.smoothing, None
    if params.loss == "robust":
        check_cancel(cancel)
        masked = 1.0 - samples / prepared.mask_ds[0].size  # objects, the user's mask, missing pixels
        relaxed, lowered = relax_smoothing(data, state, params.smoothing, params.poly_degree, prepared.grid.extent,
                                           masked, steps=RELAX_STEPS if params.adapt_smoothing else 1)
        if params.adapt_smoothing:
            state, smoothing = relaxed, lowered
        elif lowered != params.smoothing:  # warned of only when following it would change the result visibly
            change = model_change(data, state, relaxed)
            steep = change if change.matters else None
    report = FitReport(
        loss=outcome.loss,
        iterations=outcome.iterations,
        stopped_early=outcome.stopped_early,
        start_kept=outcome.start_kept,
        smoothing=smoothing if smoothing != params.smoothing else None,
        samples=samples,
        device=describe_device(device),
        objects=objects,
        warnings=_trust_warnings(objects, samples, params, steep),
    )
    return state, report, found


def _trust_warnings(objects: float, samples: int, params: Parameters, steep: ModelChange | None) -> list[Advice]:
    """What makes a model untrustworthy though it was fitted: too little background to see, a glow
    too steep for the smoothing (``steep``: what following it would change)."""
    warnings = []
    if steep is not None:
        warnings.append(Advice(
            "the model does not follow a glow along the frame's edge: 10x less {smoothing} would change the "
            f"background there by up to {steep.share:.0%} of its range; "
            "{adapt_smoothing} follows it, but takes in more of a large faint object that is not masked",
            ("smoothing", "adapt_smoothing"),
        ))
    if objects > _MOST_OF_THE_FRAME:
        warnings.append(Advice(
            f"objects cover {objects:.0%} of the frame, so the model rests on the {1 - objects:.0%} left and "
            "may take in part of an object larger still; check the model, and give a {mask} of the "
            "background or use a wider field (if no object is that large: switch off {protect_objects})",
            ("mask", "protect_objects"),
        ))
    if samples < _SCARCE_SAMPLES_PER_POINT * params.points:
        warnings.append(Advice(
            f"only {samples} background samples for {params.points} control points: too few to trust the "
            "model; use a smaller {downscale}, fewer {points}, or a larger image", ("downscale", "points"),
        ))
    return warnings
