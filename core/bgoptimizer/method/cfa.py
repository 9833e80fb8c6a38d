"""Raw colour-filter-array (Bayer) frames: one background model per CFA phase.

A raw frame interleaves four photosites (e.g. GRBG) whose levels differ by
the filters' transmission; one model fitted to the mosaic would leave that
pattern in it. Each phase (the pixels at one position of the 2x2 cell) is a
mono image of its own, fitted and corrected separately, and the results are
put back in place, so the corrected frame stays a raw frame to debayer later.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..params import Parameters
from ..progress import CancelCheck, ProgressCallback, scaled
from .bands import BandSink, deliver
from .fit import FitReport
from .pipeline import BackgroundResult, extract_background
from .preparation import as_planar
from .spline import SplineState

__all__ = ["CFA_PHASES", "extract_cfa_background", "extract_frame_background"]

# (row, column) offsets of the four phases within the 2x2 cell.
CFA_PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def _combined(reports: list[FitReport]) -> FitReport:
    seconds: dict[str, float] = {}
    for report in reports:
        for stage, value in report.seconds.items():
            seconds[stage] = seconds.get(stage, 0.0) + value
    warnings = list(dict.fromkeys(warning for report in reports for warning in report.warnings))
    return FitReport(
        loss=max(report.loss for report in reports),
        iterations=sum(report.iterations for report in reports),
        stopped_early=all(report.stopped_early for report in reports),
        start_kept=all(report.start_kept for report in reports),
        smoothing=min((report.smoothing for report in reports if report.smoothing is not None), default=None),
        samples=sum(report.samples for report in reports),
        device=reports[0].device,
        objects=max(report.objects for report in reports),
        seconds=seconds,
        warnings=warnings,
    )


def extract_cfa_background(
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
    """Model and remove the background of a raw CFA frame ``(H, W)`` or ``(1, H, W)``, phase by phase.

    Returns the corrected mosaic and the model as ``(1, H, W)`` float32 (the
    model handed to ``model_sink`` in bands instead, once assembled, as
    :func:`~bgoptimizer.extract_background` does); the report combines the
    four fits (worst loss and object share, summed iterations, samples and
    times) and ``state`` is the first phase's spline. ``mask`` and ``exclude``
    are in the mosaic's coordinates; every phase starts from ``initial`` (the
    phases of one frame are images of one sky). The keywords are
    :func:`~bgoptimizer.extract_background`'s.
    """
    mosaic = as_planar(image, "the CFA frame")
    if mosaic.shape[0] != 1:
        raise ValueError(f"a CFA frame has one channel; got {mosaic.shape[0]}")
    corrected = mosaic if in_place else mosaic.copy()
    background = np.empty_like(mosaic)
    results: list[BackgroundResult] = []
    for number, (row, column) in enumerate(CFA_PHASES):
        phase_progress = scaled(progress, number / len(CFA_PHASES), (number + 1) / len(CFA_PHASES),
                                f"CFA phase {number + 1}/4: ")
        phase = np.ascontiguousarray(mosaic[:, row::2, column::2])
        phase_mask = None if mask is None else np.asarray(mask)[..., row::2, column::2]
        phase_areas = [(np.asarray(area, np.float64) - (column, row)) / 2 for area in exclude]
        result = extract_background(phase, params, mask=phase_mask, exclude=phase_areas, initial=initial,
                                    progress=phase_progress, cancel=cancel, in_place=True, device=device)
        corrected[:, row::2, column::2] = result.corrected
        background[:, row::2, column::2] = result.background
        results.append(result)
    if model_sink is not None:
        deliver(background)(model_sink)
        background = None
    return BackgroundResult(background, corrected, _combined([r.report for r in results]), results[0].state)


def extract_frame_background(
    image: np.ndarray,
    params: Parameters | None = None,
    *,
    bayer_pattern: str | None = None,
    mask: np.ndarray | None = None,
    exclude: Sequence[np.ndarray] = (),
    initial: SplineState | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    in_place: bool = False,
    model_sink: BandSink | None = None,
    device: str = "auto",
) -> BackgroundResult:
    """The engine on a frame as read from a file or from Siril: a raw CFA frame (``bayer_pattern``
    given, e.g. ``"GRBG"``) phase by phase, any other as one image."""
    run = extract_cfa_background if bayer_pattern else extract_background
    return run(image, params, mask=mask, exclude=exclude, initial=initial, progress=progress, cancel=cancel,
               in_place=in_place, model_sink=model_sink, device=device)
