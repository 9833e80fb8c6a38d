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
from ..io import ImageFile, OutputFiles, read_image, write_image
from ..method.normalize import normalize_to_reference
from ..params import Parameters, RunOptions
from .frame import FrameOutputs, with_history

__all__ = ["NORMALIZED_TAG", "NormalizedFrame", "plan_normalization", "normalize_file", "write_normalized"]

NORMALIZED_TAG = "_bgNormalized"


@dataclass
class NormalizedFrame:
    source: Path
    output: Path


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


def write_normalized(image: ImageFile, reference: np.ndarray | None, reference_name: str, params: Parameters, *,
                     outputs: FrameOutputs, device: str = "auto") -> str:
    """Write ``image`` normalized to ``reference`` (None: it is the reference, written unchanged) where
    ``outputs`` says (its corrected image's path, files, sample type and compression), with its metadata and a
    HISTORY line; that line's words for what was done (the scale found)."""
    if reference is None:
        data, what = image.data, f"normalization reference ({reference_name}), unchanged"
    else:
        if image.data.shape != reference.shape:
            shape, theirs = image.data.shape, reference.shape
            raise InputImageError(f"{shape[2]}x{shape[1]} with {shape[0]} channel(s), the reference {reference_name} "
                                  f"{theirs[2]}x{theirs[1]} with {theirs[0]}: register the frames to the reference "
                                  "first")
        result = normalize_to_reference(image.data, reference, params, device=device)
        data = result.normalized
        what = f"normalized to {reference_name}, scale " + " ".join(f"{value:.4f}" for value in result.scale)
    write_image(outputs.corrected_path, data, with_history(image.header, params, what), image.properties,
                outputs.compress, outputs.files, outputs.sample_type)
    return what


def normalize_file(job: NormalizedFrame, reference: Path, reference_image: ImageFile, params: Parameters,
                   options: RunOptions, files: OutputFiles) -> str:
    """Normalize one frame file to the reference (read once by the caller) and write it into ``files``;
    what was done."""
    is_reference = job.source.resolve() == reference.resolve()
    image = reference_image if is_reference else read_image(job.source)
    return write_normalized(image, None if is_reference else reference_image.data, reference.name, params,
                            outputs=FrameOutputs(job.output, files=files, compress=options.compress),
                            device=options.device)
