"""Automatic background (gradient) extraction for astrophotos.

A polyharmonic spline, whose control points and weights are optimized by
gradient descent on a robust loss, models the smooth sky background of a
linear image; the model is then subtracted or divided out. Method by
Sergio Díaz (bgoptimizer).

The engine's names are imported on first use (PEP 562), so that importing a
light submodule (the console entry point, the errors) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    BgOptimizerError,
    Cancelled,
    FileFormatError,
    InputImageError,
    MaskError,
    OutputError,
    OutputExists,
    ParameterError,
)

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .params import Parameters, RunOptions, parameter_specs
    from .pipeline import BackgroundResult, FitReport, extract_background, prepare, preview_image

_LAZY = {
    "Parameters": "params",
    "RunOptions": "params",
    "parameter_specs": "params",
    "BackgroundResult": "pipeline",
    "FitReport": "pipeline",
    "extract_background": "pipeline",
    "prepare": "pipeline",
    "preview_image": "pipeline",
}

__all__ = [
    "__version__",
    "BgOptimizerError",
    "Cancelled",
    "FileFormatError",
    "InputImageError",
    "MaskError",
    "OutputError",
    "OutputExists",
    "ParameterError",
    "Parameters",
    "RunOptions",
    "parameter_specs",
    "BackgroundResult",
    "FitReport",
    "extract_background",
    "prepare",
    "preview_image",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
