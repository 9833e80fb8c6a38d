"""One frame end to end, the recipe every front end runs: a file of the command line, the image
loaded in Siril, each frame of a sequence.

A frame is its pixels and metadata (:class:`~bgoptimizer.io.ImageFile`). A raw
CFA frame (its header names a Bayer pattern) is modelled phase by phase; every
frame may start from a previous fit; the model goes to its file band by band as
it is computed, the corrected image to its file or back to the caller; both
files carry the input's metadata and a HISTORY line, and are written into one
:class:`~bgoptimizer.io.OutputFiles`, so they appear together or not at all.
"""

from __future__ import annotations

import dataclasses
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from .._version import __version__
from ..errors import BgOptimizerError
from ..io import ImageFile, OutputFiles, image_band_writer, read_header, write_image
from ..io.bands import BandSink
from ..io.image_file import FLOAT32
from ..method.cfa import extract_frame_background
from ..method.fit import FitReport
from ..method.given import Delivery, FitInputs, RunControl
from ..method.model.spline import SplineState
from ..method.pipeline import BackgroundResult
from ..params import Parameters
from ..progress import scaled

__all__ = ["FrameResult", "FrameOutputs", "bayer_pattern", "with_history", "is_own_model", "process_frame"]

_HISTORY_WIDTH = 72  # the text a HISTORY card holds
# Share of a frame's progress bar given to the fit; the rest shows the corrected image's write.
_FIT_SHARE = 0.95


@dataclass
class FrameResult:
    """What one frame gave: the corrected pixels (also in their file when one was named), the report."""

    corrected: np.ndarray  # (C, H, W) float32
    report: FitReport
    state: SplineState  # the fit, to start the next frame's from
    bayer_pattern: str | None  # a raw CFA frame's pattern, modelled phase by phase
    seconds: float  # the fit and the writes
    write_seconds: float  # the corrected image's write


def bayer_pattern(image: ImageFile) -> str | None:
    """The Bayer pattern of a raw mono frame (its ``BAYERPAT`` keyword), or None for anything else."""
    pattern = str(image.header.get("BAYERPAT", "")).strip()
    return pattern if pattern and image.data.shape[0] == 1 else None


def with_history(header: fits.Header, params: Parameters, what: str, excluded: str | None = None) -> fits.Header:
    """A copy of ``header`` with a HISTORY line naming the tool, its version, ``what`` it wrote, how,
    and what the user ``excluded`` from the fit beyond the method's own mask (a mask file, areas)."""
    marked = header.copy()
    line = f"bgoptimizer {__version__}: {what}; {params.summary()}" + (f" excluded={excluded}" if excluded else "")
    for part in textwrap.wrap(line, _HISTORY_WIDTH, break_long_words=False):  # whole words on each card
        marked.add_history(part)
    return marked


_MODEL_DONE = "background model"


def is_own_model(path: Path, shape: tuple[int, int, int] | None = None) -> bool:
    """Whether ``path`` is a background model this tool wrote (its HISTORY says so), of an image of
    ``shape`` ``(C, H, W)`` when given: the file a run writes again, which Siril's convention lets a
    processing step replace."""
    try:
        header = read_header(path)
    except (BgOptimizerError, OSError):
        return False
    if shape is not None:
        channels, height, width = shape
        if (header.get("NAXIS1"), header.get("NAXIS2"), header.get("NAXIS3", 1)) != (width, height, channels):
            return False
    return any(str(card).startswith("bgoptimizer ") and f": {_MODEL_DONE};" in str(card)
               for card in header.get("HISTORY", []))


def _correction_done(params: Parameters) -> str:
    return "background subtracted" if params.mode == "subtract" else "background divided"


def _fit_with_model(fit: Callable[[BandSink], BackgroundResult], image: ImageFile, path: Path | None,
                    header: fits.Header, compress: bool, files: OutputFiles | None) -> BackgroundResult:
    """``fit(model_sink)`` with the model going to ``path`` band by band as it is computed (a raw frame's
    once its phases are done), or dropped when ``path`` is None: never held whole (a 3000x2000 RGB model is
    72 MB). The method produces the bands and the file takes them; a failed fit leaves no file."""
    if path is None:
        return fit(_dropped)
    with image_band_writer(path, image.data.shape, header, image.properties, compress, files) as sink:
        return fit(sink)


def _dropped(_top: int, _rows: np.ndarray) -> None:
    """A model sink that keeps nothing: no model is wanted."""


@dataclass(frozen=True)
class FrameOutputs:
    """Where one frame's results go: the corrected image to ``corrected_path`` as ``sample_type`` samples
    (None: only returned, e.g. for Siril to take back), the model to ``model_path`` (None: not kept), both
    atomically into ``files`` when given (they appear when it commits), each on its own otherwise;
    ``compress``: tiled GZIP (FITS) or zstd (XISF)."""

    corrected_path: Path | None = None
    model_path: Path | None = None
    files: OutputFiles | None = None
    sample_type: np.dtype = FLOAT32
    compress: bool = False


def process_frame(
    image: ImageFile,
    params: Parameters,
    *,
    outputs: FrameOutputs = FrameOutputs(),
    inputs: FitInputs = FitInputs(),
    excluded: str | None = None,
    control: RunControl = RunControl(),
) -> FrameResult:
    """Model and remove ``image``'s background, in place, writing the files ``outputs`` names.

    ``excluded`` says in the HISTORY line what the user kept out of the fit
    (the ``inputs``' mask and areas); ``inputs`` and ``control`` are
    :func:`~bgoptimizer.extract_background`'s.
    """
    pattern = bayer_pattern(image)
    start = time.perf_counter()
    progress = control.progress
    fit_control = dataclasses.replace(control, progress=scaled(progress, 0.0, _FIT_SHARE))

    def fit(sink: BandSink) -> BackgroundResult:
        return extract_frame_background(image.data, params, bayer_pattern=pattern, inputs=inputs,
                                        control=fit_control, delivery=Delivery(in_place=True, model_sink=sink))

    model_header = with_history(image.header, params, _MODEL_DONE, excluded)
    result = _fit_with_model(fit, image, outputs.model_path, model_header, outputs.compress, outputs.files)
    start_write = time.perf_counter()
    if outputs.corrected_path is not None:
        if progress is not None:
            progress(_FIT_SHARE, f"write {outputs.corrected_path.name}")
        write_image(outputs.corrected_path, result.corrected,
                    with_history(image.header, params, _correction_done(params), excluded),
                    image.properties, outputs.compress, outputs.files, outputs.sample_type)
    if progress is not None:
        progress(1.0, "written" if outputs.corrected_path is not None else "done")
    end = time.perf_counter()
    return FrameResult(result.corrected, result.report, result.state, pattern, end - start, end - start_write)
