"""Files in, files out: the inputs of a run, the outputs each gives, and one file processed end to end.

Everything that can refuse a run is checked by :func:`plan_run` before the
first file is written: two inputs that would give the same output, an output
that is an input (or the mask), outputs left by an earlier run (replaced only
with ``overwrite``), an output folder that cannot be written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, OutputError, OutputExists, flag
from ..io import (
    OutputFiles,
    check_output_dir,
    extension_for,
    image_format,
    output_sample_type,
    read_image,
    write_png,
)
from ..io.atomic import check_name_length
from ..method.display import preview_image
from ..method.fit import FitReport
from ..method.given import FitInputs, RunControl
from ..method.prepare.preparation import prepare
from ..params import Parameters, RunOptions
from ..progress import ProgressCallback
from .frame import FrameOutputs, process_frame
from .names import IMAGE_SUFFIXES, MODEL_TAG, PREVIEW_TAG, corrected_tag, is_own_output

__all__ = [
    "find_inputs",
    "Job",
    "plan_run",
    "protected_files",
    "check_new_files",
    "identity",
    "read_mask",
    "FileOutcome",
    "process_file",
]

def _images_in(folder: Path) -> list[Path]:
    """The folder's images, leaving out this tool's own outputs (a folder run again, or used
    as the output folder of an earlier run, must not correct its corrected images)."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not is_own_output(p))


def find_inputs(items: Iterable[Path]) -> list[Path]:
    """Files as given, folders expanded to their images; a folder without one is an error naming it."""
    inputs: list[Path] = []
    for item in items:
        if not item.exists():
            raise FileFormatError(f"{item}: no such file or folder")
        if item.is_dir():
            found = _images_in(item)
            if not found:
                raise FileFormatError(f"{item}: no FITS or XISF image in this folder "
                                      "(earlier *_bgSubtracted/_bgDivided/_bgModel outputs are left out)")
            inputs.extend(found)
        else:
            inputs.append(item)
    return inputs


@dataclass(frozen=True)
class Job:
    """One input and the files it gives: the corrected image and (unless left out) the model, or a
    preview PNG."""

    source: Path
    outputs: tuple[Path, ...]
    preview: bool = False

    @property
    def model(self) -> Path | None:
        return self.outputs[1] if len(self.outputs) > 1 else None


def _outputs(source: Path, folder: Path, params: Parameters, options: RunOptions,
             preview: bool, model: bool) -> tuple[Path, ...]:
    if preview:
        return (folder / f"{source.stem}{PREVIEW_TAG}.png",)
    suffix = extension_for(options.format or image_format(source), source)
    tags = (corrected_tag(params.mode), MODEL_TAG) if model else (corrected_tag(params.mode),)
    return tuple(folder / f"{source.stem}{tag}{suffix}" for tag in tags)


def identity(path: Path) -> tuple[int, int] | Path:
    """What makes two names one file: the inode where the file exists (links, case-folding file
    systems), else the absolute path."""
    try:
        status = os.stat(path)
    except OSError:
        return path.resolve()
    return status.st_dev, status.st_ino


def _listed(paths: Sequence[Path], limit: int = 3) -> str:
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def check_new_files(outputs: Sequence[Path], inputs: Iterable[Path], overwrite: bool) -> None:
    """Refuse outputs whose name or folder cannot take them, outputs that are inputs (always), and
    outputs that exist (unless ``overwrite``)."""
    read = {identity(path): path for path in inputs}
    for output in outputs:
        check_name_length(output)
        check_output_dir(output.parent)
        if output.is_dir():
            raise OutputError(f"{output}: is a folder; name a file")
        if identity(output) in read:
            same = read[identity(output)]
            alias = "" if same == output else f" (as {same})"
            raise OutputError(f"{output}: is an input of this run{alias} and would be overwritten; "
                              "inputs are never overwritten: choose another output folder or name")
    existing = [path for path in outputs if path.exists()]
    if existing and not overwrite:
        raise OutputExists(f"{_listed(existing)}: already exist{'s' * (len(existing) == 1)} "
                           "(from an earlier run?); use {overwrite} to replace, or another output folder", existing,
                           "overwrite")


def plan_run(inputs: Sequence[Path], output_dir: Path | None, params: Parameters, options: RunOptions,
             preview: bool = False, model: bool = True) -> list[Job]:
    """The jobs of a run, once every output has been checked; nothing is written, no folder made.

    A file given twice (under any name) is processed once. Preview PNGs are
    throwaway views for tuning and are replaced without ``overwrite``; they,
    too, never replace an input. Without ``model`` no model file is
    planned. (The ``--report`` file is checked by :func:`.report.plan_report`.)
    """
    if options.mask is not None and not Path(options.mask).is_file():
        raise FileFormatError("{mask}: no such file", "mask")
    folders: dict[Path, Path] = {}
    jobs: list[Job] = []
    made_by: dict[tuple[int, int] | Path, Path] = {}
    seen: set[tuple[int, int] | Path] = set()
    for source in inputs:
        if identity(source) in seen:  # each file once, under whichever name came first
            continue
        seen.add(identity(source))
        folder = output_dir if output_dir is not None else source.parent
        if folder not in folders:
            folders[folder] = check_output_dir(folder)
        outputs = _outputs(source, folders[folder], params, options, preview, model)
        for output in outputs:
            other = made_by.setdefault(identity(output), source)
            if other != source:
                raise OutputError(
                    f"{other} and {source} would both be written to {output}; give the files distinct "
                    "names or process them into separate output folders"
                )
        jobs.append(Job(source, outputs, preview))
    protected = protected_files(inputs, options)
    outputs = [output for job in jobs for output in job.outputs]
    check_new_files(outputs, protected, overwrite=options.overwrite or preview)
    return jobs


def protected_files(inputs: Sequence[Path], options: RunOptions) -> list[Path]:
    """What no output of a run may replace: its inputs and its mask."""
    return [*inputs, *([Path(options.mask)] if options.mask else [])]


def read_mask(options: RunOptions) -> np.ndarray | None:
    """The pixels of the mask file ``options.mask`` names (the method takes arrays, not files)."""
    return None if options.mask is None else read_image(options.mask).data


@dataclass
class FileOutcome:
    """What one job did: its files, and for a fit the report and times."""

    job: Job
    report: FitReport | None = None  # None for a preview
    seconds: float = 0.0  # the fit and the writes
    write_seconds: float = 0.0
    read_seconds: float = 0.0
    bayer_pattern: str | None = None  # a raw CFA frame's pattern, modelled phase by phase

    def as_dict(self) -> dict[str, object]:
        """The outcome as plain values (``--report``)."""
        record: dict[str, object] = {"input": str(self.job.source), "outputs": [str(p) for p in self.job.outputs]}
        if self.report is not None:
            report = self.report
            record.update(read_seconds=self.read_seconds, seconds=self.seconds, write_seconds=self.write_seconds,
                          stages=dict(report.seconds),
                          device=report.device, loss=report.loss, iterations=report.iterations,
                          samples=report.samples, objects=report.objects, start_kept=report.start_kept,
                          smoothing=report.smoothing,
                          warnings=[warning.rendered(flag) for warning in report.warnings],
                          bayer_pattern=self.bayer_pattern)
        return record

    def summary(self) -> str:
        """The lines a front end prints on success."""
        if self.job.preview:
            return f"{self.job.source}: preview written to {self.job.outputs[0]}"
        cfa = f"; raw {self.bayer_pattern} frame, each CFA phase modelled on its own" if self.bayer_pattern else ""
        files = "".join(f"\n  -> {path}" for path in self.job.outputs)
        return (f"{self.job.source}: done in {self.seconds:.2f}s (write {self.write_seconds:.2f}s); "
                f"{self.report.summary()}{cfa}{files}")


def process_file(job: Job, params: Parameters, options: RunOptions, files: OutputFiles,
                 progress: ProgressCallback | None = None) -> FileOutcome:
    """Run one job end to end, its files written into ``files`` (they appear when it commits).

    Outputs keep the input's metadata plus a HISTORY line. The model is
    written to its file band by band while the image is corrected in place,
    so the run holds one image, not two (compressed XISF and raw CFA frames
    hold the model too). A raw CFA frame is modelled phase by phase
    (:mod:`.cfa`).
    """
    start_read = time.perf_counter()
    source = read_image(job.source)
    read_seconds = time.perf_counter() - start_read
    if job.preview:
        prepared = prepare(source.data, params, mask=read_mask(options))
        write_png(job.outputs[0], preview_image(prepared), files)
        return FileOutcome(job)
    corrected_path = job.outputs[0]
    sample_type = output_sample_type(corrected_path, source, options.keep_bit_depth)
    outputs = FrameOutputs(corrected_path, job.model, files, sample_type, options.compress)
    frame = process_frame(source, params, outputs=outputs, inputs=FitInputs(mask=read_mask(options)),
                          excluded=options.mask, control=RunControl(progress=progress, device=options.device))
    return FileOutcome(job, frame.report, frame.seconds, frame.write_seconds, read_seconds, frame.bayer_pattern)
