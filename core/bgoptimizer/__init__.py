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
    Advice,
    BgOptimizerError,
    Cancelled,
    FileFormatError,
    InputImageError,
    MaskError,
    NameRenderer,
    OutputError,
    OutputExists,
    ParameterError,
    flag,
    user_message,
)
from .process import collector_paused, end_process
from .progress import CancelCheck, ProgressCallback, scaled

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .arguments import add_parameter_options, flags_naming, settings_from_args
    from .io.arrays import as_planar
    from .method.cfa import extract_cfa_background, extract_frame_background
    from .method.common.device import describe_device, resolve_device
    from .method.display import display_like, preview_image
    from .method.fit import FitReport, fit_background
    from .method.given import Delivery, FitInputs, RunControl
    from .method.model.spline import SplineState
    from .method.normalize import Normalization, normalize_to_reference
    from .method.objects.outlines import object_outlines
    from .method.pipeline import BackgroundResult, extract_background
    from .method.prepare.preparation import prepare
    from .method.preview import PreviewFit, preview_fit
    from .params import (
        GROUPS,
        Parameters,
        ParameterSpec,
        RunOptions,
        parameter_specs,
        setting,
        settings_from,
        specs_of,
        validate_settings,
    )
    from .runs.each import each_in_turn
    from .runs.frame import FrameOutputs, FrameResult, is_own_model, process_frame
    from .runs.jobs import check_new_files, read_mask
    from .runs.names import MODEL_TAG
    from .runs.normalization import write_normalized

# The engine, the recipe of a frame and what front ends share, by module; each loaded on first use.
_LAZY_MODULES = {
    "params": ("Parameters", "RunOptions", "ParameterSpec", "GROUPS", "parameter_specs", "settings_from", "setting",
               "specs_of", "validate_settings"),
    "method.pipeline": ("BackgroundResult", "extract_background"),
    "method.fit": ("FitReport", "fit_background"),
    "method.given": ("FitInputs", "RunControl", "Delivery"),
    "method.preview": ("PreviewFit", "preview_fit"),
    "method.cfa": ("extract_cfa_background", "extract_frame_background"),
    "method.prepare.preparation": ("prepare",),
    "io.arrays": ("as_planar",),
    "method.display": ("preview_image", "display_like"),
    "method.model.spline": ("SplineState",),
    "method.objects.outlines": ("object_outlines",),
    "method.normalize": ("Normalization", "normalize_to_reference"),
    "method.common.device": ("describe_device", "resolve_device"),
    "runs.each": ("each_in_turn",),
    "runs.frame": ("FrameResult", "FrameOutputs", "process_frame", "is_own_model"),
    "runs.jobs": ("check_new_files", "read_mask"),
    "runs.names": ("MODEL_TAG",),
    "runs.normalization": ("write_normalized",),
    "arguments": ("add_parameter_options", "flags_naming", "settings_from_args"),
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}

__all__ = [  # the contract of the front ends (the CLI, the Siril plugin): nothing else is theirs to import
    "__version__", "Advice", "BgOptimizerError", "Cancelled", "FileFormatError", "InputImageError", "MaskError",
    "OutputError", "OutputExists", "ParameterError", "NameRenderer", "flag", "user_message", "CancelCheck",
    "ProgressCallback", "scaled", "collector_paused", "end_process", "Parameters", "RunOptions", "ParameterSpec",
    "GROUPS", "parameter_specs", "settings_from", "setting", "specs_of", "validate_settings", "BackgroundResult",
    "FitReport", "PreviewFit", "FitInputs", "RunControl", "Delivery", "FrameOutputs", "extract_background",
    "fit_background", "prepare", "preview_fit", "preview_image",
    "extract_cfa_background", "extract_frame_background", "FrameResult", "process_frame", "is_own_model",
    "each_in_turn",
    "as_planar", "display_like",
    "SplineState", "object_outlines", "MODEL_TAG", "check_new_files", "read_mask", "describe_device",
    "resolve_device", "add_parameter_options", "flags_naming", "settings_from_args", "Normalization",
    "normalize_to_reference", "write_normalized",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
