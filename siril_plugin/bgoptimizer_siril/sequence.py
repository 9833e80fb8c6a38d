"""Background extraction for every included frame of a Siril sequence.

The sequence is the one loaded in Siril (the GUI), or, named with
``--sequence NAME``, the one in the working directory: Siril 1.4 refuses
``load_seq`` in scripts, so its frames are then found from ``NAME.seq``
(frame numbers and included flags) or, where Siril has not written that file
yet (right after ``convert`` in a script), from the files ``NAME#####.fit``.
Each corrected frame is written with a prefix (``bkg_`` by default, as
``seqsubsky`` does) and the frames then form a new sequence, ready for
registration and stacking. With ``normalize``, each frame is instead brought
to the sequence's reference frame's background and brightness (``norm_``
frames, to stack; the reference itself unchanged). A frame that fails is
reported and skipped; the original sequence is never modified.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sirilpy as s

from bgoptimizer import (
    CancelCheck,
    FitInputs,
    FrameOutputs,
    InputImageError,
    NameRenderer,
    Parameters,
    ProgressCallback,
    RunControl,
    SplineState,
    check_new_files,
    each_in_turn,
    flag,
    process_frame,
    read_mask,
    scaled,
    write_normalized,
)
from bgoptimizer.io import ImageFile, OutputFiles, read_image

from .loaded_image import UNDO_NAME, describe_failure, exclusions, log_warnings, user_areas
from .options import OutputOptions
from .siril_image import default_model_path, header_from_text, to_core

__all__ = ["SequenceFrame", "SequenceOutcome", "read_sequence_file", "process_sequence"]

_FITS_SUFFIXES = (".fit", ".fits", ".fts")


@dataclass(frozen=True)
class SequenceFrame:
    index: int  # position in the sequence, from 0
    path: Path
    included: bool


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
    done: str = "corrected"  # or "normalized"

    @property
    def succeeded(self) -> bool:
        return bool(self.processed) and not self.failed and not self.cancelled

    def summary(self) -> str:
        done = len(self.processed)
        text = f"sequence {self.sequence}: {done} frame{'s' * (done != 1)} {self.done} in {self.seconds:.1f} s"
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


def read_sequence_file(folder: Path, name: str) -> tuple[list[SequenceFrame], int]:
    """The frames of the FITS sequence ``name`` in ``folder``, from its ``.seq`` file or its files, and the
    index of its reference frame (-1 where none is recorded)."""
    seq_file = folder / f"{name}.seq"
    if not seq_file.is_file():
        pattern = re.compile(rf"{re.escape(name)}(\d+)({'|'.join(map(re.escape, _FITS_SUFFIXES))})")
        found = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.fullmatch(p.name)))
        if not found:
            raise InputImageError(f"sequence {name}: no {seq_file.name} and no {name}00001.fit-like files in {folder}")
        return [SequenceFrame(index, path, True) for index, (_, path) in enumerate(found)], -1
    digits, frames, reference = 5, [], -1
    for line in seq_file.read_text(errors="replace").splitlines():
        if line.startswith("S "):
            # S 'name' start count selected digits [reference ...]
            fields = re.fullmatch(r"S\s+(?:'[^']*'|\S+)\s+(-?\d+)\s+(\d+)\s+(\d+)\s+(\d+)(?:\s+(-?\d+))?.*", line)
            if fields is None:
                raise InputImageError(f"{seq_file}: unreadable sequence line {line!r}")
            digits = int(fields.group(4))
            reference = int(fields.group(5) or -1)
        elif line[:2] in ("TS", "TF", "TA"):
            kind = {"TS": "SER", "TF": "FITSEQ", "TA": "film"}[line[:2]]
            raise InputImageError(f"sequence {name} is a {kind} sequence: corrected frames are written only for "
                                  "sequences of FITS files; convert it first (Siril's 'convert' command)")
        elif line.startswith("I "):
            number, included = (int(value) for value in line.split()[1:3])
            stem = f"{name}{number:0{digits}d}"
            path = next((folder / f"{stem}{suffix}" for suffix in _FITS_SUFFIXES
                         if (folder / f"{stem}{suffix}").is_file()), folder / f"{stem}.fit")
            frames.append(SequenceFrame(len(frames), path, bool(included)))
    if not frames:
        raise InputImageError(f"{seq_file}: the sequence lists no frame")
    return frames, reference


@dataclass
class _Frames:
    """Where the frames come from, Siril's loaded sequence or files, and the sample type their corrected
    frames are written in."""

    name: str
    frames: list[SequenceFrame]
    reference: int  # the sequence's reference frame (its index), -1 where none is set
    read: Callable[[SequenceFrame], tuple[ImageFile, np.dtype]]


def _loaded(siril) -> _Frames:
    if not siril.is_sequence_loaded():
        raise s.NoSequenceError("no sequence is loaded in Siril: load one, or name it (--sequence NAME)")
    seq = siril.get_seq()
    kind = getattr(seq, "type", None)
    if kind is not None and int(kind) != int(s.SequenceType.SEQ_REGULAR):
        name = s.SequenceType(int(kind)).name.removeprefix("SEQ_")
        raise InputImageError(
            f"sequence {seq.seqname} is a {name} sequence: Siril writes corrected frames only for sequences "
            "of FITS files; convert it to FITS files first (Siril's 'convert' command)"
        )

    def read(frame: SequenceFrame) -> tuple[ImageFile, np.dtype]:
        """The frame as Siril holds it; its corrected frame in its bit depth, as Siril's own processing."""
        data, layout = to_core(siril.get_seq_frame_pixeldata(frame.index), frame.path.name)
        header = header_from_text(siril.get_seq_frame_header(frame.index, return_as="str"))
        return ImageFile(data, header), layout.dtype

    frames = [SequenceFrame(index, Path(siril.get_seq_frame_filename(index)), bool(seq.imgparam[index].incl))
              for index in range(seq.number)]
    return _Frames(seq.seqname, frames, int(getattr(seq, "reference_image", -1)), read)


def _named(siril, name: str) -> _Frames:
    def read(frame: SequenceFrame) -> tuple[ImageFile, np.dtype]:
        return read_image(frame.path), np.dtype(np.float32)

    return _Frames(name, *read_sequence_file(Path(siril.get_siril_wd()), name), read)


def process_sequence(
    siril,
    params: Parameters,
    output: OutputOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    name: NameRenderer = flag,
) -> SequenceOutcome:
    """Correct each included frame, then create ``prefix + name`` from the corrected frames.

    Every fit after the first starts from the previous frame's control
    points. Cancelling abandons the frame being fitted (nothing of it is
    written) and keeps the frames already finished. Models (``save_models``)
    are checked like the command line's outputs before the first frame.
    """
    source = _named(siril, output.sequence_name) if output.sequence_name else _loaded(siril)
    start = time.perf_counter()
    outcome = SequenceOutcome(source.name, len(source.frames), done="normalized" if output.normalize else "corrected")
    included = [frame for frame in source.frames if frame.included]
    outcome.skipped = [frame.index for frame in source.frames if not frame.included]
    run = _SequenceRun(siril, params, output, source, Path(siril.get_siril_wd()), read_mask(output.run))
    run.check_outputs(included)
    if output.normalize and included:
        run.choose_reference(included)
    def title(frame: SequenceFrame) -> str:
        return f"frame {frame.index + 1}/{len(source.frames)} ({frame.path.name})"

    def work(place: tuple[int, SequenceFrame]) -> None:
        position, frame = place
        part = scaled(progress, position / len(included), (position + 1) / len(included), f"{title(frame)}: ")
        run.frame(frame, title(frame), part, cancel, name)

    def failure(place: tuple[int, SequenceFrame], error: Exception) -> bool:  # one bad frame stops no other
        cause = describe_failure(error, name)
        outcome.failed.append((place[1].index, cause))
        siril.log(f"{UNDO_NAME}: {title(place[1])} failed: {cause}", s.LogColor.RED)
        return True

    outcome.cancelled = each_in_turn(enumerate(included), work,
                                     lambda place, _: outcome.processed.append(place[1].index), failure, cancel)
    if outcome.processed:
        new_name = output.frame_prefix + source.name
        if siril.create_new_seq(new_name):
            outcome.new_sequence = new_name
    outcome.seconds = time.perf_counter() - start
    color = s.LogColor.GREEN if outcome.succeeded else s.LogColor.SALMON
    siril.log(f"{UNDO_NAME}: {outcome.summary()}", color)
    return outcome


@dataclass
class _SequenceRun:
    """What a sequence's frames share while they are corrected (or normalized) one after the other: the
    mask, the areas drawn in the view (read with the first frame), the reference, and the previous frame's
    fit, the next one's start."""

    siril: Any
    params: Parameters
    output: OutputOptions
    source: _Frames
    folder: Path  # where Siril writes prefixed frames, and we the models
    mask: np.ndarray | None
    reference: tuple[SequenceFrame, tuple[ImageFile, np.dtype]] | None = None
    areas: list[np.ndarray] | None = None
    previous: SplineState | None = None

    def corrected_path(self, frame: SequenceFrame) -> Path:
        return self.folder / (self.output.frame_prefix + frame.path.name)

    def check_outputs(self, included: list[SequenceFrame]) -> None:
        """Refuse before the first frame what the command line would: an existing output without overwrite."""
        planned = [self.corrected_path(frame) for frame in included]
        if self.output.saves_model:
            planned += [default_model_path(self.siril, frame.path.stem) for frame in included]
        check_new_files(planned, [frame.path for frame in self.source.frames], self.output.run.overwrite)

    def choose_reference(self, included: list[SequenceFrame]) -> None:
        """The sequence's reference frame, else its first included frame, read once."""
        chosen = [frame for frame in included if frame.index == self.source.reference]
        reference = chosen[0] if chosen else included[0]
        self.reference = reference, self.source.read(reference)

    def frame(self, frame: SequenceFrame, title: str, progress: ProgressCallback | None, cancel: CancelCheck | None,
              name: NameRenderer) -> None:
        """Write one frame's output (and model), or nothing of it; log what was done."""
        own_reference = self.reference is not None and frame is self.reference[0]
        image, sample_type = self.reference[1] if own_reference else self.source.read(frame)
        if self.areas is None:  # the view's areas, read once: the same for every frame
            self.areas = user_areas(self.siril, self.output, image.data.shape[-2])
        if self.reference is not None:
            reference, (reference_image, _) = self.reference
            with OutputFiles(replace=self.output.run.overwrite) as files:
                done = write_normalized(
                    image, None if own_reference else reference_image.data, reference.path.name, self.params,
                    outputs=FrameOutputs(self.corrected_path(frame), files=files, sample_type=sample_type,
                                         compress=self.output.run.compress),
                    device=self.output.run.device)
                files.commit()
            self.siril.log(f"{UNDO_NAME}: {title}: {done}")
            return
        with OutputFiles(replace=self.output.run.overwrite) as files:  # the frame and its model, or neither
            model_path = default_model_path(self.siril, frame.path.stem) if self.output.saves_model else None
            result = process_frame(
                image, self.params,
                outputs=FrameOutputs(self.corrected_path(frame), model_path, files, sample_type,
                                     self.output.run.compress),
                inputs=FitInputs(self.mask, self.areas, self.previous), excluded=exclusions(self.output, self.areas),
                control=RunControl(progress, cancel, self.output.run.device))
            files.commit()
        self.previous = result.state
        self.siril.log(f"{UNDO_NAME}: {title}: {result.report.objects:.0%} of the frame kept out as objects; "
                       f"fit {result.report.details()}")
        log_warnings(self.siril, result.report, f"{title}: ", name)
