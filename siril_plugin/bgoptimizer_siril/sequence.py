"""Background extraction for every included frame of the sequence loaded in Siril.

Each corrected frame is written by Siril with a prefix (``bkg_`` by default,
as ``seqsubsky`` does) and the frames then form a new sequence, ready for
registration and stacking. A frame that fails is reported and skipped; the
original sequence is never modified.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import sirilpy as s

from bgoptimizer import Cancelled, InputImageError, Parameters, extract_background
from bgoptimizer.batch import check_new_files
from bgoptimizer.fit import CancelCheck, ProgressCallback
from bgoptimizer.spline import SplineState

from .options import OutputOptions
from .processing import UNDO_NAME, describe_failure, log_warnings
from .siril_image import default_model_path, header_from_text, save_model, to_core, to_siril

__all__ = ["SequenceOutcome", "process_sequence"]


@dataclass
class SequenceOutcome:
    sequence: str
    total: int
    processed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # excluded frames
    failed: list[tuple[int, str]] = field(default_factory=list)  # (index, cause)
    cancelled: bool = False
    new_sequence: str | None = None
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return bool(self.processed) and not self.failed and not self.cancelled

    def summary(self) -> str:
        done = len(self.processed)
        text = f"sequence {self.sequence}: {done} frame{'s' * (done != 1)} corrected in {self.seconds:.1f} s"
        if done:
            text += f" ({self.seconds / done:.1f} s per frame)"
        if self.skipped:
            text += f", {len(self.skipped)} excluded skipped"
        if self.new_sequence:
            text += f"; new sequence {self.new_sequence}"
        if self.cancelled:
            text += "; cancelled, the remaining frames were not processed"
        if self.failed:
            text += "; failed: " + ", ".join(f"frame {index + 1}" for index, _ in self.failed)
        return text


def _check_writable(seq) -> None:
    kind = getattr(seq, "type", None)
    if kind is not None and int(kind) != int(s.SequenceType.SEQ_REGULAR):
        name = s.SequenceType(int(kind)).name.removeprefix("SEQ_")
        raise InputImageError(
            f"sequence {seq.seqname} is a {name} sequence: Siril writes corrected frames only for sequences "
            "of FITS files; convert it to FITS files first (Siril's 'convert' command)"
        )


def process_sequence(
    siril,
    params: Parameters,
    output: OutputOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> SequenceOutcome:
    """Correct each included frame, then create ``prefix + name`` from the corrected frames.

    Every fit after the first starts from the previous frame's control
    points. Cancelling abandons the frame being fitted (nothing of it is
    written) and keeps the frames already finished.
    """
    if not siril.is_sequence_loaded():
        raise s.NoSequenceError("no sequence is loaded in Siril: load one first")
    seq = siril.get_seq()
    _check_writable(seq)
    start = time.perf_counter()
    outcome = SequenceOutcome(seq.seqname, seq.number)
    included = [index for index in range(seq.number) if seq.imgparam[index].incl]
    outcome.skipped = [index for index in range(seq.number) if not seq.imgparam[index].incl]
    if output.save_model:  # before the first frame: the same rule as the command line's
        frames = [Path(siril.get_seq_frame_filename(index)) for index in included]
        check_new_files([default_model_path(siril, frame.stem) for frame in frames], frames, params.overwrite)
    previous: SplineState | None = None
    for position, index in enumerate(included):
        if cancel is not None and cancel():
            outcome.cancelled = True
            break
        label = f"frame {index + 1}/{seq.number}"
        frame_progress = None
        if progress is not None:
            def frame_progress(fraction: float, message: str, position: int = position, label: str = label) -> None:
                progress((position + fraction) / len(included), f"{label}: {message}")
        name = label
        try:
            frame_file = Path(siril.get_seq_frame_filename(index))
            name = f"{label} ({frame_file.name})"
            data, mono_2d = to_core(siril.get_seq_frame_pixeldata(index), name)
            result = extract_background(
                data, params, progress=frame_progress, cancel=cancel, initial=previous, in_place=True
            )
            siril.set_seq_frame_pixeldata(index, to_siril(result.corrected, mono_2d), output.prefix)
            if output.save_model:
                header = header_from_text(siril.get_seq_frame_header(index, return_as="str"))
                save_model(default_model_path(siril, frame_file.stem), result.background, header, params)
        except Cancelled:
            outcome.cancelled = True
            break
        except Exception as error:  # noqa: BLE001 - one bad frame must not stop the others
            cause = describe_failure(error)
            outcome.failed.append((index, cause))
            siril.log(f"{UNDO_NAME}: {name} failed: {cause}", s.LogColor.RED)
            continue
        previous = result.state
        outcome.processed.append(index)
        siril.log(f"{UNDO_NAME}: {name}: {result.report.summary()}")
        log_warnings(siril, result.report, f"{name}: ")
    if outcome.processed:
        new_name = output.prefix + seq.seqname
        if siril.create_new_seq(new_name):
            outcome.new_sequence = new_name
    outcome.seconds = time.perf_counter() - start
    color = s.LogColor.GREEN if outcome.succeeded else s.LogColor.SALMON
    siril.log(f"{UNDO_NAME}: {outcome.summary()}", color)
    return outcome
