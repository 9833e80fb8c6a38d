"""Files in, files out: the inputs of a run, the outputs each gives, and one file processed end to end.

Everything that can refuse a run is checked by :func:`plan_run` before the
first file is written: two inputs that would give the same output, an output
that is an input (or the mask), outputs left by an earlier run (replaced only
with ``overwrite``), an output folder that cannot be written.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from ._version import __version__
from .cfa import bayer_pattern, extract_frame_background
from .errors import FileFormatError, OutputError, OutputExists
from .io import (
    OutputFiles,
    check_output_dir,
    extension_for,
    image_format,
    output_sample_type,
    read_image,
    write_image,
    write_image_bands,
    write_png,
)
from .io.atomic import TEMPORARY_PREFIX, check_name_length
from .params import Parameters, RunOptions
from .pipeline import BackgroundResult, FitReport, prepare, preview_image
from .progress import ProgressCallback, scaled

__all__ = [
    "IMAGE_SUFFIXES",
    "MODEL_TAG",
    "corrected_tag",
    "is_own_output",
    "find_inputs",
    "Job",
    "plan_run",
    "check_new_files",
    "read_mask",
    "correction_done",
    "with_history",
    "FileOutcome",
    "fit_with_model",
    "process_file",
]

IMAGE_SUFFIXES = (".fit", ".fits", ".fts", ".xisf")
MODEL_TAG = "_bgModel"
PREVIEW_TAG = "_preview"
_CORRECTED_TAGS = {"subtract": "_bgSubtracted", "divide": "_bgDivided"}
_OWN_TAGS = (*_CORRECTED_TAGS.values(), MODEL_TAG)
_HISTORY_WIDTH = 72  # the text a HISTORY card holds
# Share of a file's progress bar given to the fit; the rest shows the corrected image's write.
_FIT_SHARE = 0.95


def corrected_tag(mode: str) -> str:
    """The corrected image's name ending: ``_bgSubtracted`` or ``_bgDivided``."""
    return _CORRECTED_TAGS[mode]


def is_own_output(path: Path) -> bool:
    """An output or temporary file of this tool, judged by its name."""
    return path.name.startswith(TEMPORARY_PREFIX) or path.stem.endswith(_OWN_TAGS)


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


def _identity(path: Path) -> tuple[int, int] | Path:
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
    read = {_identity(path): path for path in inputs}
    for output in outputs:
        check_name_length(output)
        check_output_dir(output.parent)
        if output.is_dir():
            raise OutputError(f"{output}: is a folder; name a file")
        if _identity(output) in read:
            same = read[_identity(output)]
            alias = "" if same == output else f" (as {same})"
            raise OutputError(f"{output}: is an input of this run{alias} and would be overwritten; "
                              "inputs are never overwritten: choose another output folder or name")
    existing = [path for path in outputs if path.exists()]
    if existing and not overwrite:
        raise OutputExists(f"{_listed(existing)}: already exist{'s' * (len(existing) == 1)} "
                           "(from an earlier run?); use {overwrite} to replace, or another output folder", existing,
                           "overwrite")


def plan_run(inputs: Sequence[Path], output_dir: Path | None, params: Parameters, options: RunOptions,
             preview: bool = False, report: Path | None = None, model: bool = True) -> list[Job]:
    """The jobs of a run, once every output has been checked; nothing is written, no folder made.

    A file given twice (under any name) is processed once. Preview PNGs are
    throwaway views for tuning and are replaced without ``overwrite``; they,
    too, never replace an input. Without ``model`` no model file is
    planned. The ``report`` (a JSON file, replaced when
    it exists) is checked like an output: it must replace no input, and no
    image of the run.
    """
    if options.mask is not None and not Path(options.mask).is_file():
        raise FileFormatError(f"{options.mask}: no such file ({{mask}})", "mask")
    folders: dict[Path, Path] = {}
    jobs: list[Job] = []
    made_by: dict[tuple[int, int] | Path, Path] = {}
    seen: set[tuple[int, int] | Path] = set()
    for source in inputs:
        if _identity(source) in seen:  # each file once, under whichever name came first
            continue
        seen.add(_identity(source))
        folder = output_dir if output_dir is not None else source.parent
        if folder not in folders:
            folders[folder] = check_output_dir(folder)
        outputs = _outputs(source, folders[folder], params, options, preview, model)
        for output in outputs:
            other = made_by.setdefault(_identity(output), source)
            if other != source:
                raise OutputError(
                    f"{other} and {source} would both be written to {output}; give the files distinct "
                    "names or process them into separate output folders"
                )
        jobs.append(Job(source, outputs, preview))
    protected = [*inputs, *([Path(options.mask)] if options.mask else [])]
    outputs = [output for job in jobs for output in job.outputs]
    check_new_files(outputs, protected, overwrite=options.overwrite or preview)
    if report is not None:
        if _identity(report) in made_by:
            raise OutputError(f"{report}: the report would replace an image this run writes; name another file")
        check_new_files([report], protected, overwrite=True)
    return jobs


def read_mask(options: RunOptions) -> np.ndarray | None:
    """The pixels of the mask file ``options.mask`` names (the method takes arrays, not files)."""
    return None if options.mask is None else read_image(options.mask).data


def correction_done(params: Parameters) -> str:
    """What the corrected image's HISTORY line says was done."""
    return "background subtracted" if params.mode == "subtract" else "background divided"


def with_history(header: fits.Header, params: Parameters, what: str, excluded: str | None = None) -> fits.Header:
    """A copy of ``header`` with a HISTORY line naming the tool, its version, ``what`` it wrote, how,
    and what the user ``excluded`` from the fit beyond the method's own mask (a mask file, areas)."""
    marked = header.copy()
    line = f"bgoptimizer {__version__}: {what}; {params.summary()}" + (f" excluded={excluded}" if excluded else "")
    for part in textwrap.wrap(line, _HISTORY_WIDTH, break_long_words=False):  # whole words on each card
        marked.add_history(part)
    return marked


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
                          samples=report.samples, objects=report.objects, warnings=list(report.warnings),
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


def fit_with_model(fit: Callable[..., BackgroundResult], shape: tuple[int, int, int], path: Path | None,
                   header: fits.Header, *, properties: dict[str, Any] | None = None, compress: bool = False,
                   files: OutputFiles | None = None) -> BackgroundResult:
    """Run ``fit(model_sink=...)`` with the model going to ``path`` band by band as it is computed (a raw
    frame's once its phases are done), atomically with ``header`` (into ``files`` when given), or dropped
    when ``path`` is None: never held whole (a 3000x2000 RGB model is 72 MB)."""
    if path is None:
        return fit(model_sink=_dropped)
    results: list[BackgroundResult] = []
    write_image_bands(path, shape, lambda sink: results.append(fit(model_sink=sink)), header, properties, compress,
                      files)
    return results[0]


def _dropped(_top: int, _rows: np.ndarray) -> None:
    """A model sink that keeps nothing: no model is wanted."""


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
    keywords = options.engine_keywords()
    if job.preview:
        prepared = prepare(source.data, params, read_mask(options), mask_name=keywords["mask_name"])
        write_png(job.outputs[0], preview_image(prepared), files)
        return FileOutcome(job)
    corrected_path, model_path = job.outputs[0], job.model
    sample_type = output_sample_type(corrected_path, source, options.keep_bit_depth)  # refused before the fit
    model_header = with_history(source.header, params, "background model", options.mask)
    start = time.perf_counter()
    fit = partial(extract_frame_background, source.data, source.header, params, scaled(progress, 0.0, _FIT_SHARE),
                  mask=read_mask(options), **keywords)
    result = fit_with_model(fit, source.data.shape, model_path, model_header, properties=source.properties,
                            compress=options.compress, files=files)
    start_write = time.perf_counter()
    if progress is not None:
        progress(_FIT_SHARE, f"write {corrected_path.name}")
    write_image(corrected_path, result.corrected,
                with_history(source.header, params, correction_done(params), options.mask),
                source.properties, options.compress, files, sample_type)
    if progress is not None:
        progress(1.0, "written")
    end = time.perf_counter()
    return FileOutcome(job, result.report, end - start, end - start_write, read_seconds,
                       bayer_pattern(source.data, source.header))
