"""What the panel's Preview and Run do with Siril, in the worker thread: no Tk here. Each reports through
``post(kind, payload)`` (see :mod:`.worker`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import sirilpy as s

from bgoptimizer import (
    CancelCheck,
    NameRenderer,
    Parameters,
    RunOptions,
    display_like,
    prepare,
    preview_fit,
    preview_image,
    read_mask,
)

from . import overlay
from .loaded_image import UNDO_NAME, SirilProgress, process_loaded_image, spoken, warnings_pointer
from .options import OutputOptions
from .preview_view import AFTER, BEFORE, VIEWS, marked
from .sequence import process_sequence
from .siril_image import to_core

__all__ = ["loaded_identity", "fingerprint", "loaded_pixels", "compute_preview", "compute_run"]

Post = Callable[[str, Any], None]


# The block of pixels at the image's centre whose digest tells a change of the pixels (an undo, another step)
# without reading the whole image each second.
_PROBE = 32


def loaded_identity(siril) -> tuple[Any, ...] | None:
    """Which image Siril has loaded: its file, its shape and a digest of the pixels at its centre (None when
    none); cheap enough to ask each second."""
    try:
        if not siril.is_image_loaded():
            return None
        shape = tuple(siril.get_image_shape())
        height, width = shape[-2:]
        side_x, side_y = min(_PROBE, width), min(_PROBE, height)
        block = siril.get_image_pixeldata(shape=[(width - side_x) // 2, (height - side_y) // 2, side_x, side_y])
        return siril.get_image_filename(), shape, hashlib.sha1(np.ascontiguousarray(block).tobytes()).hexdigest()
    except (s.SirilError, ValueError):  # gone meanwhile, or a region Siril refuses
        return None


def fingerprint(siril) -> tuple[Any, ...] | None:
    """The loaded image's identity and a digest of its pixels: equal only to the very same image."""
    identity = loaded_identity(siril)
    if identity is None:
        return None
    pixels = np.ascontiguousarray(siril.get_image_pixeldata())
    return (*identity, hashlib.sha1(pixels.tobytes()).hexdigest())


def loaded_pixels(siril) -> np.ndarray:
    if not siril.is_image_loaded():
        raise s.NoImageError("no image is loaded in Siril: load one first")
    return to_core(siril.get_image_pixeldata(), "the loaded image")[0]


def compute_preview(siril, source: np.ndarray, params: Parameters, run: RunOptions, cancel: CancelCheck,
                    post: Post) -> None:
    """The fit on the downscaled ``source``: its views posted ("preview"), its objects outlined in Siril."""
    height, width = source.shape[-2:]
    prepared = prepare(source, params, mask=read_mask(run), exclude=overlay.drawn_areas(siril, height))
    shown = preview_image(prepared)
    fitted = preview_fit(prepared, params, cancel=cancel, device=run.device)
    overlay.show_objects(siril, fitted.objects, prepared.factor, (height, width))
    views = dict(zip(VIEWS, (shown, marked(shown, fitted.objects, fitted.points), fitted.model,
                             fitted.corrected, display_like(prepared, source))))
    post("preview", (views, fitted.report))


def compute_run(siril, params: Parameters, output: OutputOptions, cancel: CancelCheck, name: NameRenderer,
                post: Post) -> tuple[Any, ...] | None:
    """Run on the loaded image or sequence, progress in Siril's bar and posted; after a loaded image is
    replaced, its before/after views ("after"). Returns the corrected image's fingerprint (None for a
    sequence or when nothing was replaced)."""
    siril_progress = SirilProgress(siril)

    def progress(fraction: float, message: str) -> None:
        siril_progress(fraction, message)
        post("progress", (fraction, spoken(message)))

    try:
        if output.sequence:
            outcome = process_sequence(siril, params, output, progress, cancel, name=name)
            post("done" if outcome.succeeded else "failed", outcome.summary())
            return None
        before = loaded_pixels(siril)
        outcome = process_loaded_image(siril, params, output, progress, cancel, name=name)
        siril.log(f"{UNDO_NAME}: {outcome.summary()}", s.LogColor.GREEN)
        post("done", outcome.brief() + warnings_pointer(outcome.report))  # the details are in Siril's log
        if not outcome.replaced:
            return None
        corrected = fingerprint(siril)
        shown = prepare(before, params)  # the result beside the input, both as the input is shown
        post("after", {BEFORE: display_like(shown, before), AFTER: display_like(shown, loaded_pixels(siril))})
        return corrected
    finally:
        siril.reset_progress()
