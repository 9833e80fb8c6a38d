"""Where a run's JSON report goes: a file, written like the images, or a stream it is printed into.

The report follows the images' rule: an existing file is replaced only with
``overwrite``, and never when it is an input, an image of the run or any
other image. A device, a FIFO or standard output (``-``, ``/dev/stdout``,
``/dev/fd/N``) is written into as a stream, never replaced by a file; a
symbolic link is followed, the file it points to written, the link kept.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError, OutputExists
from ..io import atomic_write
from .jobs import Job, check_new_files, identity
from .names import IMAGE_SUFFIXES

__all__ = ["ReportTarget", "plan_report"]

# Names of an already open descriptor: the shell's standard streams and /dev/fd/N (also /proc/self/fd/N).
_STANDARD = {"-": 1, "/dev/stdout": 1, "/dev/stderr": 2}
_DESCRIPTOR = re.compile(r"^/(?:dev|proc/self)/fd/(\d+)$")
# How the first bytes of an image file begin: a report never replaces one, not even with overwrite.
_IMAGE_SIGNATURES = (b"SIMPLE  =", b"XISF0100")


@dataclass(frozen=True)
class ReportTarget:
    """The report's destination: a regular file (replaced atomically), an open descriptor, or a device/FIFO."""

    name: str  # as the user gave it: the messages name it so
    path: Path | None = None  # the file written (a link's target), or the device/FIFO written into
    descriptor: int | None = None  # an open descriptor written into (1: standard output)
    into: bool = False  # ``path`` is a device or FIFO: written into, never created or replaced

    def write(self, text: str) -> None:
        """Write the report; an `OutputError` naming it when that fails."""
        data = (text + "\n").encode("utf-8")
        try:
            if self.descriptor is not None:
                stream = {1: sys.stdout, 2: sys.stderr}.get(self.descriptor)
                if stream is not None:
                    stream.flush()
                _write_all(self.descriptor, data)
            elif self.into:  # opened as it is
                descriptor = os.open(self.path, os.O_WRONLY | os.O_NOCTTY)
                try:
                    _write_all(descriptor, data)
                finally:
                    os.close(descriptor)
            else:
                atomic_write(self.path, lambda temporary: temporary.write_bytes(data))
        except OSError as error:
            raise OutputError(f"{self.name}: cannot write it ({error.strerror or error})") from None


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _is_image(path: Path) -> bool:
    """An image by its name or its first bytes (a FITS or XISF file under any name)."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:
        with open(path, "rb") as stream:
            start = stream.read(9)
    except OSError:
        return False
    return any(start.startswith(signature) for signature in _IMAGE_SIGNATURES)


def plan_report(given: str, jobs: Sequence[Job], protected: Sequence[Path], overwrite: bool) -> ReportTarget:
    """Check the report's destination before the run writes anything; an `OutputError` naming it when
    it is refused."""
    if given in _STANDARD or _DESCRIPTOR.match(given):
        number = _STANDARD.get(given) if given in _STANDARD else int(_DESCRIPTOR.match(given)[1])
        return ReportTarget(given, descriptor=number)
    link = Path(given)
    try:
        mode = os.stat(link).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise OutputError(f"{given}: the report cannot be written there ({error.strerror})") from None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            return ReportTarget(given, path=link, into=True)
        raise OutputError(f"{given}: is {_kind(mode)}; the report is written into a file, a character device or "
                          "a FIFO, never over anything else: name a file")
    path = Path(os.path.realpath(link)) if link.is_symlink() else link  # a link's target is written, the link kept
    outputs = {identity(output) for job in jobs for output in job.outputs}
    if identity(path) in outputs:
        raise OutputError(f"{given}: the report would replace an image this run writes; name another file")
    check_new_files([path], protected, overwrite=True)
    if mode is not None and _is_image(path):
        raise OutputError(f"{given}: is an image; a report never replaces one, not even with overwrite: "
                          "name another file")
    if mode is not None and not overwrite:
        raise OutputExists(f"{given}: already exists; use {{overwrite}} to replace it, or name another report "
                           "file", [path], "overwrite")
    return ReportTarget(given, path=path)
