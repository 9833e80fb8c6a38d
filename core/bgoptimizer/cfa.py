"""Raw colour-filter-array (Bayer) frames: one background model per CFA phase.

A raw frame interleaves four photosites (e.g. GRBG) whose levels differ by
the filters' transmission; one model fitted to the mosaic would leave that
pattern in it. Each phase (the pixels at one position of the 2x2 cell) is a
mono image of its own, fitted and corrected separately, and the results are
put back in place, so the corrected frame stays a raw frame to debayer later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy.io import fits

from .bands import BandSink, deliver
from .params import Parameters
from .pipeline import BackgroundResult, FitReport, as_planar, extract_background
from .progress import CancelCheck, ProgressCallback, scaled
from .spline import SplineState

__all__ = ["CFA_PHASES", "bayer_pattern", "extract_cfa_background", "extract_frame_background"]

# (row, column) offsets of the four phases within the 2x2 cell.
CFA_PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def bayer_pattern(image: np.ndarray, header: fits.Header) -> str | None:
    """The Bayer pattern of a raw mono frame (``BAYERPAT``), or None for anything else."""
    pattern = str(header.get("BAYERPAT", "")).strip()
    return pattern if pattern and np.ndim(image) in (2, 3) and (np.ndim(image) == 2 or image.shape[0] == 1) else None


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
        samples=sum(report.samples for report in reports),
        device=reports[0].device,
        objects=max(report.objects for report in reports),
        seconds=seconds,
        warnings=warnings,
    )


def extract_cfa_background(
    mosaic: np.ndarray,
    params: Parameters | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    in_place: bool = False,
    model_sink: BandSink | None = None,
    mask: np.ndarray | None = None,
    exclude: Sequence[np.ndarray] = (),
    **options: str,
) -> BackgroundResult:
    """Model and remove the background of a raw CFA frame ``(H, W)`` or ``(1, H, W)``, phase by phase.

    Returns the corrected mosaic and the model as ``(1, H, W)`` float32 (the
    model handed to ``model_sink`` in bands instead, once assembled, as
    :func:`~bgoptimizer.extract_background` does); the report combines the
    four fits (worst loss and object share, summed iterations, samples and
    times) and ``state`` is the first phase's spline. ``exclude`` are areas in
    the mosaic's coordinates; ``options`` (``device``, ``mask_name``) go to
    :func:`~bgoptimizer.extract_background`.
    """
    image = as_planar(mosaic, "the CFA frame")
    if image.shape[0] != 1:
        raise ValueError(f"a CFA frame has one channel; got {image.shape[0]}")
    corrected = image if in_place else image.copy()
    background = np.empty_like(image)
    results: list[BackgroundResult] = []
    for number, (row, column) in enumerate(CFA_PHASES):
        phase_progress = scaled(progress, number / len(CFA_PHASES), (number + 1) / len(CFA_PHASES),
                                f"CFA phase {number + 1}/4: ")
        phase = np.ascontiguousarray(image[:, row::2, column::2])
        phase_mask = None if mask is None else np.asarray(mask)[..., row::2, column::2]
        phase_areas = [(np.asarray(area, np.float64) - (column, row)) / 2 for area in exclude]
        result = extract_background(phase, params, phase_mask, phase_progress, cancel, in_place=True,
                                    exclude=phase_areas, **options)
        corrected[:, row::2, column::2] = result.corrected
        background[:, row::2, column::2] = result.background
        results.append(result)
    if model_sink is not None:
        deliver(background)(model_sink)
        background = None
    return BackgroundResult(background, corrected, _combined([r.report for r in results]), results[0].state)


def extract_frame_background(
    image: np.ndarray,
    header: fits.Header,
    params: Parameters | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    initial: SplineState | None = None,
    model_sink: BandSink | None = None,
    mask: np.ndarray | None = None,
    **options: Any,
) -> BackgroundResult:
    """The engine on a frame as read from a file or from Siril, in place: a raw CFA frame (its header
    names a Bayer pattern) phase by phase, any other from ``initial``'s control points when given."""
    if bayer_pattern(image, header):
        return extract_cfa_background(image, params, progress, cancel, in_place=True, model_sink=model_sink,
                                      mask=mask, **options)
    return extract_background(image, params, mask, progress, cancel, initial, in_place=True, model_sink=model_sink,
                              **options)
