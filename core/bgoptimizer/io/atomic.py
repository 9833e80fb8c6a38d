"""Atomic file output: write temporary files beside the targets, then rename them together."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ..errors import OutputError
from ..interrupts import interrupts_deferred

__all__ = ["OutputFiles", "atomic_write", "check_output_dir", "TEMPORARY_PREFIX"]

# Temporary files are hidden (leading dot) and end in ".part"; folder scans leave them out.
TEMPORARY_PREFIX = "."
# A write that fails with less than this left on its disk failed for want of space.
_NEARLY_FULL = 1 << 20


def check_output_dir(directory: str | Path) -> Path:
    """Create ``directory`` if needed and make sure files can be written there."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"output directory {path}: cannot create it ({error.strerror})") from None
    if not path.is_dir():
        raise OutputError(f"output directory {path}: not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output directory {path}: not writable")
    return path


def _size(count: float) -> str:
    units = ("bytes", "kB", "MB", "GB", "TB")
    power = 0
    while count >= 1000 and power < len(units) - 1:
        count /= 1000
        power += 1
    return f"{count:.0f} bytes" if power == 0 else f"{count:.1f} {units[power]}"


def _disk_full(folder: Path, error: OSError) -> bool:
    """ENOSPC/EDQUOT anywhere in the chain, or (astropy and numpy report a short write without an
    error number) next to no space left at the moment of failure."""
    cause: BaseException | None = error
    while cause is not None:
        if getattr(cause, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            return True
        cause = cause.__cause__ or cause.__context__
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL
    except OSError:
        return False


def _write_failure(target: Path, error: OSError, full: bool) -> OutputError:
    """One line naming the file and the cause; for a full disk, the space left there."""
    if full:
        try:
            free = f"{_size(shutil.disk_usage(target.parent).free)} free"
        except OSError:
            free = "free space unknown"
        return OutputError(f"{target}: the disk is full ({free} in {target.parent} without this run's files); "
                           "nothing was written")
    return OutputError(f"{target}: cannot write it ({error.strerror or error})")


class OutputFiles:
    """Output files that appear together or not at all.

    Each :meth:`write` fills a hidden temporary file beside its target;
    :meth:`commit` renames them all, with SIGINT/SIGTERM held back meanwhile,
    so an interrupted or failed run never leaves half of a result (a
    corrected image without its model) or a temporary file. Used as a
    context manager, it commits on success and discards on any exception.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)

    def write(self, path: str | Path, write: Callable[[Path], object]) -> Path:
        """Call ``write(temporary_path)``; the file becomes ``path`` at :meth:`commit`."""
        target = Path(path)
        try:
            descriptor, name = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{target.name}.", suffix=".part",
                                                dir=target.parent)
        except OSError as error:
            raise _write_failure(target, error, _disk_full(target.parent, error)) from None
        os.close(descriptor)
        temporary = Path(name)
        self._pending.append((temporary, target))
        try:
            write(temporary)
        except OSError as error:
            full = _disk_full(target.parent, error)
            self.discard()  # the set is abandoned: free its space before measuring what is left
            raise _write_failure(target, error, full) from None
        return target

    def commit(self) -> list[Path]:
        """Rename every temporary file to its target; on a failure none of the targets is left new."""
        done: list[Path] = []
        with interrupts_deferred():
            try:
                for temporary, target in self._pending:
                    os.chmod(temporary, 0o644)
                    os.replace(temporary, target)
                    done.append(target)
            except OSError as error:
                for target in done:  # the pair is incomplete: take back what was renamed
                    target.unlink(missing_ok=True)
                failed = self._pending[len(done)][1]
                full = _disk_full(failed.parent, error)
                self.discard()
                raise _write_failure(failed, error, full) from None
            self._pending.clear()
        return done

    def discard(self) -> None:
        """Remove every temporary file not yet committed."""
        for temporary, _ in self._pending:
            temporary.unlink(missing_ok=True)
        self._pending.clear()

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def atomic_write(path: str | Path, write: Callable[[Path], object], files: OutputFiles | None = None) -> Path:
    """Write ``path`` through ``write(temporary_path)``: at once, or at ``files``' commit when given.

    A failure leaves no partial file, and an existing ``path`` is replaced
    only once the new content is complete.
    """
    if files is not None:
        return files.write(path, write)
    with OutputFiles() as alone:
        alone.write(path, write)
    return Path(path)
