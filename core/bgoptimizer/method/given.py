"""What an engine run is given besides the image and its parameters, in three small groups that every
entry point (a linear image, a raw CFA frame, a frame as read, one frame's recipe) takes alike. Torch-free,
so that a front end builds them before the engine is imported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..io.bands import BandSink
from ..progress import CancelCheck, ProgressCallback

if TYPE_CHECKING:  # torch-free at run time: front ends build these before the engine is imported
    from .model.spline import SplineState

__all__ = ["FitInputs", "RunControl", "Delivery"]


@dataclass(frozen=True)
class FitInputs:
    """What the fit is given.

    ``mask``: full-resolution weights in [0, 1], ``(H, W)``, ``(1, H, W)`` or
    ``(C, H, W)`` (1 = background, 0 = ignore; messages name it ``mask``).
    ``exclude``: areas kept out of the fit (soft-edged), ``(N, 2)`` polygons of
    full-resolution ``(x, y)`` vertices, row 0 first as in FITS.
    ``initial``: a previous fit (``result.state``) of a similar image, e.g. the
    frame before in a sequence: its control points are the start, and a fifth
    of the iterations is run.
    """

    mask: np.ndarray | None = None
    exclude: Sequence[np.ndarray] = ()
    initial: SplineState | None = None


@dataclass(frozen=True)
class RunControl:
    """How a run is watched and where it runs: ``progress(fraction, message)`` called from the run's thread,
    ``cancel()`` returning True to stop (`Cancelled` is raised and nothing changes), the ``device`` of the
    fit (:attr:`RunOptions.device`: ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'mps'``)."""

    progress: ProgressCallback | None = None
    cancel: CancelCheck | None = None
    device: str = "auto"


@dataclass(frozen=True)
class Delivery:
    """Where the results go. ``in_place``: the corrected image is written over the input (float32
    ``(C, H, W)`` only), saving one image of memory when the caller no longer needs the input.
    ``model_sink(top, rows)``: receives the model in bands of rows (``(C, rows, W)`` float32 from row
    ``top``), e.g. to write it to a file, and the model is not kept (``result.background`` is None); with
    ``in_place`` the run then needs memory for one image only."""

    in_place: bool = False
    model_sink: BandSink | None = None
