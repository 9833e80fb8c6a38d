"""Frames of a registered sequence normalized to a reference frame, file by file (``--normalize-to``).

Each output, ``<name>_bgNormalized.<ext>``, carries its frame's metadata and a
HISTORY line with the scale found; the reference's output is its input
unchanged. Every refusal (a frame of another size, an output that exists or
would replace an input) comes before the first file is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputImageError
from ..io import OutputFiles, read_image, write_image
from ..method.normalize import normalize_to_reference
from ..params import Parameters, RunOptions
from .frame import with_history

__all__ = ["NORMALIZED_TAG", "NormalizedFrame", "plan_normalization", "normalize_file"]

NORMALIZED_TAG = "_bgNormalized"


@dataclass
class NormalizedFrame:
    source: Path
    output: Path
    scale: np.ndarray | None = None  # (C,), None for the reference itself


def plan_normalization(reference: Path, frames: Sequence[Path], output_dir: Path | None,
                       options: RunOptions) -> list[NormalizedFrame]:
    """Where each frame's output goes; refused when one exists (without ``overwrite``) or is an input."""
    if not reference.is_file():
        raise InputImageError(f"{reference}: no such reference file")
    inputs = {path.resolve() for path in [reference, *frames]}
    planned = []
    for frame in frames:
        folder = output_dir or frame.parent
        output = folder / f"{frame.stem}{NORMALIZED_TAG}{frame.suffix}"
        if output.resolve() in inputs:
            raise InputImageError(f"{output}: the output would replace an input")
        if output.exists() and not options.overwrite:
            raise InputImageError(f"{output} exists; pass {{overwrite}} to replace it", "overwrite")
        planned.append(NormalizedFrame(frame, output))
    return planned


def normalize_file(job: NormalizedFrame, reference: Path, reference_data: np.ndarray, params: Parameters,
                   options: RunOptions, files: OutputFiles) -> NormalizedFrame:
    """Normalize one frame to the reference and write it into ``files``."""
    image = read_image(job.source)
    if job.source.resolve() == reference.resolve():
        data, what = image.data, f"normalization reference ({reference.name}), unchanged"
    else:
        if image.data.shape != reference_data.shape:
            raise InputImageError(
                f"{job.source} is {image.data.shape[2]}x{image.data.shape[1]} with {image.data.shape[0]} "
                f"channel(s), the reference {reference.name} {reference_data.shape[2]}x{reference_data.shape[1]} "
                f"with {reference_data.shape[0]}: register the frames to the reference first")
        result = normalize_to_reference(image.data, reference_data, params, device=options.device)
        data, job.scale = result.normalized, result.scale
        what = (f"normalized to {reference.name}, scale " + " ".join(f"{value:.4f}" for value in result.scale))
    write_image(job.output, data, with_history(image.header, params, what), image.properties, options.compress,
                files)
    return job
