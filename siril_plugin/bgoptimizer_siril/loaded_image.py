"""One run on the image loaded in Siril, shared by the headless mode and the panel.

The engine (torch) is imported where a run first needs it, after Siril has handed over the image: the
headless mode loads torch meanwhile in another thread (:func:`.app.run`). Measured in Siril 1.4.4 (3000x2000
RGB, 3 runs each): the transfer and torch's import together 1.10-1.16 s instead of 1.20-1.36 s."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sirilpy as s

from bgoptimizer import (
    CancelCheck,
    Cancelled,
    NameRenderer,
    OutputError,
    ParameterError,
    Parameters,
    ProgressCallback,
    flag,
    user_message,
)
from bgoptimizer.io import read_image

from .options import OutputOptions
from .overlay import describe_areas, drawn_areas
from .siril_image import default_model_path, loaded_image_path, read_loaded_image

if TYPE_CHECKING:
    from bgoptimizer import FitReport

__all__ = [
    "UNDO_NAME",
    "Outcome",
    "SirilProgress",
    "spoken",
    "check_model_path",
    "process_loaded_image",
    "log_warnings",
    "warnings_pointer",
    "describe_failure",
]

UNDO_NAME = "Background Optimizer"


@dataclass
class Outcome:
    report: FitReport
    seconds: float
    model_path: Path | None
    replaced: bool  # the loaded image now holds the corrected image
    shows_model: bool = False  # the loaded image now holds the background model
    sky: tuple[list[float], list[float]] = ([], [])  # each channel's sky level before and after

    def _facts(self) -> str:
        """What a user asks of a run beside its time: what was kept out as objects, the sky before and after."""
        before, after = (_levels(levels) for levels in self.sky)
        return f"{self.report.objects:.0%} of the frame kept out as objects; sky {before} → {after}"

    def brief(self) -> str:
        """What a user of the panel needs: done, what changed, where the model is (the log has the rest)."""
        parts = [f"Done in {self.seconds:.1f} s: {self._facts()}"]
        if self.replaced:
            parts.append("the loaded image is corrected (Siril's undo restores it)")
        if self.shows_model:
            parts.append("the loaded image shows the background model (Siril's undo restores the image)")
        if self.model_path is not None:
            parts.append(f"model saved as {self.model_path.name}")
        return "; ".join(parts) + "."

    def summary(self) -> str:
        """The log's line: the user's facts first, then where and how the fit ran."""
        parts = [f"done in {self.seconds:.1f} s: {self._facts()}"]
        if self.replaced:
            parts.append("loaded image replaced by the corrected image")
        if self.shows_model:
            parts.append("loaded image replaced by the background model (undo restores it)")
        if self.model_path is not None:
            parts.append(f"background model: {self.model_path}")
        return "; ".join([*parts, f"fit {self.report.details()}"])


def sky_levels(data: np.ndarray) -> list[float]:
    """Each channel's sky: the median of its present pixels (every few rows and columns: a level, not a
    measurement to the last pixel)."""
    step = max(1, int(np.sqrt(data[0].size / 250_000)))
    levels = []
    for channel in data[:, ::step, ::step]:
        present = channel[np.isfinite(channel) & (channel != 0)]
        levels.append(float(np.median(present)) if present.size else 0.0)
    return levels


def _levels(levels: list[float]) -> str:
    """Sky levels as a user reads them: one number when the channels agree (a neutral sky)."""
    if levels and max(levels) - min(levels) <= 1e-4 * max(abs(max(levels)), 1e-12):
        return f"{levels[0]:.4f}"
    return " / ".join(f"{level:.4f}" for level in levels)


# The engine's step names as sentences a user reads in the panel and in Siril's progress bar.
_SENTENCES = {
    "stretch": "Stretching and downscaling the image…",
    "fit": "Fitting the background model…",
    "reconstruct": "Computing the model at full size…",
    "write": "Writing {rest}…",
    "written": "Written.",
    "done": "Done.",
}


def spoken(message: str) -> str:
    """An engine progress message (``fit 10/500, loss 0.19``, after a frame's or phase's ``...: ``) as a
    sentence (``Fitting the background model…``), the frame or phase kept."""
    where, _, step = message.rpartition(": ")
    word, _, rest = step.partition(" ")
    sentence = _SENTENCES.get(word, step).format(rest=rest)
    return f"{where[:1].upper()}{where[1:]}: {sentence}" if where else sentence


class SirilProgress:
    """Forwards core progress to Siril's progress bar, at most once per percent or message change."""

    def __init__(self, siril, prefix: str = UNDO_NAME) -> None:
        self.siril = siril
        self.prefix = prefix
        self._last = (-1.0, "")

    def __call__(self, fraction: float, message: str) -> None:
        stage = message.split(" ", 1)[0]
        if fraction - self._last[0] < 0.01 and stage == self._last[1] and fraction < 1.0:
            return
        self._last = (fraction, stage)
        self.siril.update_progress(f"{self.prefix}: {spoken(message)}", min(max(fraction, 0.0), 1.0))


def check_model_path(siril, output: OutputOptions, replace_own: bool = True) -> Path | None:
    """Where the loaded image's model goes (None when it is not saved), once checked as the command
    line checks its outputs: never the image's own file, an existing file only with ``overwrite``, except
    (with ``replace_own``) the model this plugin wrote for this image (its default name, our HISTORY, the
    image's size), which a run replaces as Siril's own processing replaces its products (a batch script run
    twice)."""
    if not output.saves_model:
        return None
    from bgoptimizer import check_new_files, is_own_model  # the engine: see the module's docstring

    image_path = loaded_image_path(siril)
    if output.model_path:
        path = Path(output.model_path)
        path = path if path.is_absolute() else Path(siril.get_siril_wd()) / path
    else:
        path = default_model_path(siril, image_path.stem if image_path is not None else "image")
    if not path.parent.is_dir():  # a typing slip, more likely than a folder wanted: not made here
        raise OutputError(f"{path}: the folder {path.parent} does not exist")
    own = (replace_own and image_path is not None and path == default_model_path(siril, image_path.stem)
           and path.is_file() and is_own_model(path, tuple(siril.get_image_shape())))
    check_new_files([path], [image_path] if image_path is not None else [], output.run.overwrite or own)
    return path


def process_loaded_image(
    siril,
    params: Parameters,
    output: OutputOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    name: NameRenderer = flag,
) -> Outcome:
    """Fit the loaded image and deliver the results; on any error the loaded image is left as it was.

    Warnings name settings as ``name`` renders them (the batch arguments' flags, or the panel's labels).
    The processing thread is claimed for the whole run, so Siril cannot change
    the image between reading and writing it back, and a busy Siril is
    reported before a long fit rather than after.
    """
    if not siril.is_image_loaded():
        raise s.NoImageError("no image is loaded in Siril: load one first")
    start = time.perf_counter()
    with siril.image_lock():
        image, layout = read_loaded_image(siril)  # before the engine is imported: see the module's docstring
        model_path = check_model_path(siril, output)  # before the fit: a bad path must not cost a run
        from bgoptimizer import FitInputs, FrameOutputs, RunControl, process_frame, read_mask
        before = sky_levels(image.data)  # the image is corrected in place
        areas = user_areas(siril, output, image.data.shape[-2])
        result = process_frame(image, params, outputs=FrameOutputs(model_path=model_path, compress=output.run.compress),
                               inputs=FitInputs(mask=read_mask(output.run), exclude=areas),
                               excluded=exclusions(output, areas),
                               control=RunControl(progress=progress, cancel=cancel, device=output.run.device))
        replaced = output.replace and not output.show_model
        if replaced or output.show_model:  # Siril's undo brings the image back, whichever is shown
            siril.undo_save_state(UNDO_NAME)
            # No HISTORY line here: Siril 1.4.4 drops HISTORY cards given to set_image_metadata_from_header_string
            # (measured), so the model file's HISTORY and the log record the run.
            shown = read_image(model_path).data if output.show_model else result.corrected
            siril.set_image_pixeldata(layout.back(shown))
    log_warnings(siril, result.report, name=name)
    return Outcome(result.report, time.perf_counter() - start, model_path, replaced, output.show_model,
                   (before, sky_levels(result.corrected)))


def user_areas(siril, output: OutputOptions, height: int) -> list[np.ndarray]:
    """The areas drawn in Siril's view when the options ask for them, logged (none is worth a warning)."""
    if not output.exclude_polygons:
        return []
    areas = drawn_areas(siril, height)
    if areas:
        siril.log(f"{UNDO_NAME}: {describe_areas(len(areas))} kept out of the fit")
    else:
        siril.log(f"{UNDO_NAME}: warning: no area is drawn in Siril's view; nothing is excluded", s.LogColor.SALMON)
    return areas


def exclusions(output: OutputOptions, areas: list[np.ndarray]) -> str | None:
    """What the user kept out of the fit, for the HISTORY line."""
    parts = [output.run.mask] * bool(output.run.mask) + [describe_areas(len(areas))] * bool(areas)
    return ", ".join(parts) or None


def log_warnings(siril, report: FitReport, prefix: str = "", name: NameRenderer = flag) -> None:
    """Why a model that was fitted may not be trusted, in Siril's warning colour (not red: it succeeded),
    each setting named as ``name`` renders it."""
    for warning in report.warnings:
        siril.log(f"{UNDO_NAME}: warning: {prefix}{warning.rendered(name)}", s.LogColor.SALMON)


def warnings_pointer(report: FitReport) -> str:
    """The panel's one line about a run's warnings, whose whole text is in Siril's log: "" when none."""
    count = len(report.warnings)
    return f" {count} warning{'s' * (count != 1)}: see Siril's log." if count else ""


def describe_failure(error: BaseException, name: NameRenderer = flag) -> str:
    """A one-line cause for the log, naming what the user can do about it (each setting as ``name``
    renders it: the batch arguments' flags, or the panel's labels)."""
    if isinstance(error, s.NoImageError):
        return "no image is loaded in Siril: load one first"
    if isinstance(error, s.NoSequenceError):
        return "no sequence is loaded in Siril: load one (Sequence tab), or name one: --sequence NAME"
    if isinstance(error, s.ProcessingThreadBusyError):
        return "Siril is busy with another operation; run again when it has finished"
    if isinstance(error, s.ImageDialogOpenError):
        return "an image processing dialog is open in Siril; close it and run again"
    if isinstance(error, Cancelled):
        return "cancelled; the image was not changed"
    if isinstance(error, ParameterError):
        return f"bad option: {error.rendered(name)}"
    message = user_message(error, name)
    if message is not None:
        return message
    if isinstance(error, s.SirilError):
        return f"Siril refused the request: {error}"
    return f"unexpected {type(error).__name__}: {error}"
