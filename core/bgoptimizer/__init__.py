"""Automatic background (gradient) extraction for astrophotos.

A polyharmonic spline, whose control points and weights are optimized by
gradient descent on a robust loss, models the smooth sky background of a
linear image; the model is then subtracted or divided out. Method by
Sergio Díaz (bgoptimizer).
"""

from ._version import __version__
from .errors import (
    BgOptimizerError,
    Cancelled,
    FileFormatError,
    InputImageError,
    MaskError,
    OutputError,
    ParameterError,
)
from .params import Parameters, parameter_specs
from .pipeline import BackgroundResult, FitReport, extract_background, prepare, preview_image

__all__ = [
    "__version__",
    "BgOptimizerError",
    "Cancelled",
    "FileFormatError",
    "InputImageError",
    "MaskError",
    "OutputError",
    "ParameterError",
    "Parameters",
    "parameter_specs",
    "BackgroundResult",
    "FitReport",
    "extract_background",
    "prepare",
    "preview_image",
]
