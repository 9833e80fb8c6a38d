"""The exception family of bgoptimizer, and the one mapping of errors to what users are told.

Every error a user can cause is a :class:`BgOptimizerError`; its message names
the file or parameter at fault, so front ends (CLI, Siril plugin) print it as
one line without a traceback. A parameter is named as ``{name}`` in the
message, and each front end renders it in its own words (the command line's
``--name``, the panel's label): the method knows no front end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "BgOptimizerError",
    "Advice",
    "ParameterError",
    "InputImageError",
    "FileFormatError",
    "OutputError",
    "OutputExists",
    "MaskError",
    "Cancelled",
    "is_out_of_memory",
    "user_message",
    "OUT_OF_MEMORY",
    "NameRenderer",
    "render",
    "flag",
]

# What the CLI and the plugin say when memory runs out, in the CPU's RAM or on the GPU.
OUT_OF_MEMORY = "out of memory; try a larger {downscale}, fewer {points}, or {device} cpu if the GPU ran out"
_OUT_OF_MEMORY_NAMES = ("downscale", "points", "device")

NameRenderer = Callable[[str], str]  # a parameter's name -> what a front end calls it


def render(template: str, names: tuple[str, ...], name: NameRenderer | None = None) -> str:
    """``template`` with each ``{name}`` of ``names`` as ``name(name)`` says (plain names without it)."""
    for parameter in names:
        template = template.replace("{" + parameter + "}", name(parameter) if name else parameter)
    return template


def flag(parameter: str) -> str:
    """A parameter as the command line and Siril's batch arguments name it: ``--threshold-min``."""
    return "--" + parameter.replace("_", "-")


class BgOptimizerError(Exception):
    """Base class: a problem the user can act on.

    ``parameters`` are the settings the message names as ``{name}``.
    """

    def __init__(self, message: str, *parameters: str) -> None:
        self.template, self.parameters = message, parameters
        super().__init__(render(message, parameters))

    def rendered(self, name: NameRenderer | None = None) -> str:
        """The message, each parameter named as ``name`` renders it."""
        return render(self.template, self.parameters, name)


@dataclass(frozen=True)
class Advice:
    """A warning about a result that was computed but may not be trusted, and what to do: like an
    error's message, it names settings as ``{name}`` for each front end to render."""

    template: str
    parameters: tuple[str, ...] = ()

    def rendered(self, name: NameRenderer | None = None) -> str:
        return render(self.template, self.parameters, name)

    def __str__(self) -> str:
        return self.rendered()


class ParameterError(BgOptimizerError, ValueError):
    """A parameter value is out of range or of the wrong kind."""


class InputImageError(BgOptimizerError, ValueError):
    """The pixel data cannot be processed (constant, non-finite, too small...)."""


class FileFormatError(BgOptimizerError):
    """A file is missing, unreadable, corrupt or of an unsupported format."""


class OutputError(BgOptimizerError):
    """An output file cannot be written."""


class OutputExists(OutputError):
    """Outputs of an earlier run are in the way; replacing them needs the user's word (``overwrite``)."""

    def __init__(self, message: str, paths: list, *parameters: str) -> None:
        super().__init__(message, *parameters)
        self.paths = paths


class MaskError(BgOptimizerError, ValueError):
    """The mask does not fit the image or leaves nothing to fit."""


class Cancelled(BgOptimizerError):
    """The user asked to stop; nothing was changed."""


def is_out_of_memory(error: BaseException) -> bool:
    """Memory ran out: Python's `MemoryError` or torch's (CUDA/MPS) ``OutOfMemoryError``, a
    `RuntimeError` recognized by name so that this module needs no torch."""
    return isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError"


def user_message(error: BaseException, name: NameRenderer | None = None) -> str | None:
    """What front ends tell the user about an error they can act on, as one line, each parameter named
    as ``name`` renders it; None for a bug (which they let through with its traceback)."""
    if is_out_of_memory(error):
        return f"{render(OUT_OF_MEMORY, _OUT_OF_MEMORY_NAMES, name)} ({type(error).__name__})"
    if isinstance(error, BgOptimizerError):
        return error.rendered(name)
    return None
