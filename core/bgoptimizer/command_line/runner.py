"""A command-line run: the jobs planned, processed one by one, one line per outcome, the report.

Imported once the options are read (:mod:`.main`): this is where torch and
astropy come in.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .._version import __version__
from ..arguments import flags_naming
from ..errors import BgOptimizerError, flag, user_message
from ..interrupts import Interrupted, interrupts_deferred
from ..io import OutputFiles, read_image
from ..io.atomic import check_path_names
from ..method.common.device import resolve_device
from ..params import Parameters, RunOptions
from ..runs.each import each_in_turn
from ..runs.jobs import FileOutcome, Job, find_inputs, plan_run, process_file, protected_files
from ..runs.names import IMAGE_SUFFIXES
from ..runs.normalization import normalize_file, plan_normalization
from ..runs.report import ReportTarget, plan_report

__all__ = ["run", "run_jobs", "TerminalProgress"]


class TerminalProgress:
    """A one-line progress bar on a terminal; silent when the stream is not a TTY."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr  # the one of the moment (a caller may have replaced it)
        self.width = width
        self.enabled = self.stream.isatty()
        self._last = -1.0

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled or (fraction - self._last < 0.005 and fraction < 1.0):
            return
        self._last = fraction
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {fraction * 100:5.1f}% {message[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()
        self._last = -1.0


def _split_paths(paths: Sequence[str], output_dir: str | None) -> tuple[list[Path], Path | None]:
    """Inputs and output folder: a last argument that is not an image, nor a folder of inputs, is the folder."""
    items = [Path(p) for p in paths]
    if output_dir is None and len(items) > 1 and items[-1].suffix.lower() not in IMAGE_SUFFIXES:
        last = items.pop()
        try:
            if last.is_dir() and find_inputs([last]):
                items.append(last)
                return items, None
        except BgOptimizerError:  # no image in it but earlier outputs: still the output folder
            pass
        return items, last
    return items, Path(output_dir) if output_dir else None


def _naming(path: Path, message: str) -> str:
    """The message, naming the file when it does not already."""
    return message if str(path) in message else f"{path}: {message}"


def run_jobs(jobs: Sequence[Job], params: Parameters, options: RunOptions, progress: TerminalProgress,
             out: TextIO | None = None, err: TextIO | None = None,
             ) -> tuple[list[FileOutcome], list[tuple[Path, str]]]:
    """Process the jobs in turn: a failing file is reported and the others go on.

    Returns what succeeded and which inputs failed, with why. On `Interrupted` one line
    says what was interrupted and what is complete (finished files stay),
    then the exception passes on.
    """
    out, err = out or sys.stdout, err or sys.stderr
    done: list[FileOutcome] = []
    failed: list[tuple[Path, str]] = []
    current = jobs[0]  # the job being processed, which an interruption names

    def work(job: Job) -> FileOutcome:
        nonlocal current
        current = job
        if len(jobs) > 1:
            print(f"[{len(done) + len(failed) + 1}/{len(jobs)}] {job.source}", file=err)
        # A failure or a signal discards the job's files; a file that another run made meanwhile
        # is not replaced without the user's word.
        with OutputFiles(replace=options.overwrite or job.preview) as files:
            outcome = process_file(job, params, options, files, progress)
            with interrupts_deferred():  # committed and counted, or neither
                files.commit()
                done.append(outcome)
        return outcome

    def success(job: Job, outcome: FileOutcome) -> None:
        progress.close()
        print(outcome.summary(), file=out)
        for warning in outcome.report.warnings if outcome.report else ():
            print(f"bgoptimizer: warning: {job.source}: {warning.rendered(flags_naming(options))}", file=err)

    def failure(job: Job, error: Exception) -> bool:
        message = user_message(error, flags_naming(options))
        if message is None:
            return False
        message = _naming(job.source, message)
        progress.close()
        print(f"bgoptimizer: error: {message}", file=err)
        failed.append((job.source, message))
        return True

    try:
        each_in_turn(jobs, work, success, failure)
    except Interrupted as stop:
        progress.close()
        finished = bool(done) and done[-1].job is current
        print(_interrupted(stop, None if finished else current, done, len(jobs)), file=err)
        raise
    return done, failed


def _interrupted(stop: Interrupted, current: Job | None, done: Sequence[FileOutcome], total: int) -> str:
    """One line: the signal, the file whose outputs were abandoned, and what is complete."""
    during = f" while processing {current.source}, none of whose outputs was written" if current else ""
    complete = (f"{len(done)} of {total} input{'s' * (total != 1)} complete, their outputs kept"
                if done else "no input complete")
    return f"bgoptimizer: interrupted by {stop.name}{during}; {complete}"


def _write_report(target: ReportTarget, done: Sequence[FileOutcome], failed: Sequence[tuple[Path, str]]) -> bool:
    """Write the report; False (and one line saying what was written all the same) when it fails."""
    records = [outcome.as_dict() for outcome in done] + [{"input": str(p), "error": why} for p, why in failed]
    text = json.dumps({"version": __version__, "files": records}, indent=2)
    try:
        target.write(text)
    except BgOptimizerError as error:
        written = f"the images of {len(done)} input{'s' * (len(done) != 1)} were written" if done else "no image was"
        print(f"bgoptimizer: error: report: {error}; {written}", file=sys.stderr)
        return False
    return True


def _check_names(args: argparse.Namespace, options: RunOptions) -> None:
    """Every path the user gave, before any is used: a name too long for its file system is one line."""
    given = [*args.paths, args.output_dir, options.mask, args.normalize_to, args.report]
    for path in given:
        if path is not None and path != "-":
            check_path_names(path)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace, params: Parameters, options: RunOptions) -> int:
    """The run the options ask for; its exit code (a device this machine lacks is a bad option)."""
    try:
        resolve_device(options.device)
    except BgOptimizerError as error:
        parser.error(error.rendered(flag))
    try:
        _check_names(args, options)
    except BgOptimizerError as error:
        print(f"bgoptimizer: error: {error}; nothing was processed", file=sys.stderr)
        return 2
    items, output_dir = _split_paths(args.paths, args.output_dir)
    if args.normalize_to:
        return _normalize(Path(args.normalize_to), items, output_dir, params, options)
    try:  # every refusal before the first file is written
        inputs = find_inputs(items)
        jobs = plan_run(inputs, output_dir, params, options, args.preview, args.model)
        report = (plan_report(args.report, jobs, protected_files(inputs, options), options.overwrite)
                  if args.report else None)
    except BgOptimizerError as error:
        print(f"bgoptimizer: error: {error.rendered(flags_naming(options))}; nothing was processed", file=sys.stderr)
        return 2
    except Interrupted as stop:
        print(f"bgoptimizer: interrupted by {stop.name} before any file was processed; nothing was written",
              file=sys.stderr)
        raise
    # A report printed on standard output keeps it for the JSON alone.
    out = sys.stderr if report is not None and report.descriptor == 1 else sys.stdout
    done, failed = run_jobs(jobs, params, options, TerminalProgress(), out=out)
    reported = _write_report(report, done, failed) if report is not None else True
    if failed and len(jobs) > 1:
        print(f"bgoptimizer: {len(failed)} of {len(jobs)} files failed: {', '.join(str(p) for p, _ in failed)}",
              file=sys.stderr)
    return 1 if failed or not reported else 0


def _normalize(reference: Path, items: list[Path], output_dir: Path | None, params: Parameters,
               options: RunOptions) -> int:
    """``--normalize-to``: every frame to the reference, a failing frame reported and the others done."""
    try:
        jobs = plan_normalization(reference, find_inputs(items), output_dir, options)
        reference_image = read_image(reference)
    except BgOptimizerError as error:
        print(f"bgoptimizer: error: {error.rendered(flags_naming(options))}; nothing was written", file=sys.stderr)
        return 2
    try:
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"bgoptimizer: error: output folder {output_dir}: {error.strerror}; nothing was written", file=sys.stderr)
        return 2
    failed = 0
    for index, job in enumerate(jobs, 1):
        try:
            with OutputFiles(replace=options.overwrite) as files:
                done = normalize_file(job, reference, reference_image, params, options, files)
                files.commit()
        except BgOptimizerError as error:
            failed += 1
            print(f"bgoptimizer: error: {_naming(job.source, error.rendered(flags_naming(options)))}",
                  file=sys.stderr)
            continue
        print(f"[{index}/{len(jobs)}] {job.source} -> {job.output} ({done})")
    return 1 if failed else 0
