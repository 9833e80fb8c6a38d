"""Atomic file output: write temporary files beside the targets, then rename them together."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from ..errors import FileFormatError, OutputError, OutputExists
from ..interrupts import interrupts_deferred

__all__ = ["OutputFiles", "atomic_write", "atomic_writing", "check_output_dir", "check_name_length", "check_path_names",
           "remove_stale_temporaries",
           "TEMPORARY_PREFIX"]

# Temporary files are hidden (leading dot) and end in ".part"; folder scans leave them out. Their names
# carry the writing process's id and a tag of its machine, ".<name>.<pid>-<host>-<random>.part", so that
# a later run can tell the temporaries of a process killed outright (SIGKILL, a power cut) from those of a
# run still writing.
TEMPORARY_PREFIX = "."
_TEMPORARY_SUFFIX = ".part"
_RANDOM_PART = 8  # mkstemp's random letters
_swept: set[Path] = set()  # folders this process has cleared of dead runs' temporaries
_OWNER = re.compile(r"^\..*\.(\d+)-([0-9a-f]{6})-[a-z0-9_]{8}\.part$")
# A write that fails with less than this left on its disk failed for want of space.
_NEARLY_FULL = 1 << 20
# Hard links are not made on some file systems (FAT, exFAT, some network shares).
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS)


def _missing_folders(path: Path) -> list[Path]:
    """``path`` and the folders above it that do not exist, innermost first."""
    missing = []
    while not os.path.lexists(path) and path.parent != path:
        missing.append(path)
        path = path.parent
    return missing


def _existing_ancestor(path: Path) -> Path:
    """``path`` or the nearest folder above it that exists."""
    missing = _missing_folders(path)
    return missing[-1].parent if missing else path


def check_output_dir(directory: str | Path) -> Path:
    """Make sure files can be written in ``directory``: a writable folder, or one that can be made
    there. It is made with its first file (:class:`OutputFiles`), so a refused run leaves none."""
    path = Path(directory)
    existing = _existing_ancestor(path)
    if not existing.is_dir():
        cause = "not a directory" if existing == path else f"cannot create it ({existing} is not a directory)"
        raise OutputError(f"output directory {path}: {cause}")
    if not os.access(existing, os.W_OK | os.X_OK):
        cause = "not writable" if existing == path else f"cannot create it ({existing} is not writable)"
        raise OutputError(f"output directory {path}: {cause}")
    return path


def _name_max(folder: Path) -> int:
    """The longest file name, in bytes, that ``folder``'s file system takes (255 on most)."""
    try:
        return os.pathconf(_existing_ancestor(folder), "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows) or an unknown answer
        return 255


def check_name_length(path: Path) -> None:
    """Refuse a file name longer than its file system takes, before any work is done for it."""
    length, limit = len(os.fsencode(path.name)), _name_max(path.parent)
    if length > limit:
        raise OutputError(f"{path}: the name is {length} bytes long, more than the {limit} its file system "
                          "takes; give the input a shorter name")


def _host_tag() -> str:
    """Six hex digits naming this machine: a folder shared over a network sees other machines' ids."""
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def check_path_names(path: str | Path) -> None:
    """Refuse a path with a file or folder name longer than its file system takes (the system would
    answer ENAMETOOLONG to any use of it), naming the path and the limit."""
    path = Path(path)
    folder = _existing_ancestor(path.parent) if str(path.parent) else Path(".")
    limit = _name_max(folder)
    for part in path.parts:
        length = len(os.fsencode(part))
        if length > limit:
            raise FileFormatError(f"{path}: a name in this path is {length} bytes long, more than the {limit} its "
                                  "file system takes")


def _temporary_prefix(target: Path) -> str:
    """The hidden temporary's prefix: the target's name, cut so the whole name fits the file system,
    then the owner (process id and machine)."""
    owner = f"{os.getpid()}-{_host_tag()}-"
    room = (_name_max(target.parent) - len(TEMPORARY_PREFIX) - 1 - len(owner) - _RANDOM_PART
            - len(_TEMPORARY_SUFFIX))
    name = target.name
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f"{TEMPORARY_PREFIX}{name}.{owner}"


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries that a run of this tool on this machine left in ``folder`` when it was killed
    outright (its process is gone); those of live runs, of other machines or of other programs stay.

    Returns what was removed."""
    host = _host_tag()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        owner = _OWNER.match(entry.name)
        if owner is None or owner[2] != host or int(owner[1]) == os.getpid() or _alive(int(owner[1])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and the folders above it that are missing: those created, outermost first."""
    missing = _missing_folders(folder)
    for created in reversed(missing):
        try:
            created.mkdir()
        except FileExistsError:  # made meanwhile by another run
            continue
        except OSError as error:
            raise OutputError(f"output directory {created}: cannot create it ({error.strerror})") from None
    return list(reversed(missing))


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
                           "not written")
    return OutputError(f"{target}: cannot write it ({error.strerror or error})")


class OutputFiles:
    """Output files that appear together or not at all.

    Each :meth:`writing` block fills a hidden temporary file beside its target (its
    folder made if missing); :meth:`commit` renames them all, with
    SIGINT/SIGTERM held back meanwhile, so an interrupted or failed run never
    leaves half of a result (a corrected image without its model), a temporary
    file or a folder it made for nothing. Without ``replace`` a target that
    exists at commit (another run writing into the same folder meanwhile) fails
    the commit, and nothing of the other run's is replaced. Used as a context
    manager, it commits on success and discards on any exception.
    """

    def __init__(self, replace: bool = True) -> None:
        self.replace = replace
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)
        self._folders: list[Path] = []  # made for these files, outermost first

    @contextmanager
    def writing(self, path: str | Path) -> Iterator[Path]:
        """The temporary file beside ``path`` that the block fills; it becomes ``path`` at :meth:`commit`."""
        target = Path(path)
        self._folders += _make_folders(target.parent)
        if target.parent not in _swept:  # once a folder: a killed run's leftovers
            remove_stale_temporaries(target.parent)
            _swept.add(target.parent)
        try:
            descriptor, name = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=_TEMPORARY_SUFFIX,
                                                dir=target.parent)
        except OSError as error:
            full = _disk_full(target.parent, error)
            self.discard()
            raise _write_failure(target, error, full) from None
        os.close(descriptor)
        temporary = Path(name)
        self._pending.append((temporary, target))
        try:
            yield temporary
        except OSError as error:
            full = _disk_full(target.parent, error)
            self.discard()  # the set is abandoned: free its space before measuring what is left
            raise _write_failure(target, error, full) from None

    def commit(self) -> list[Path]:
        """Rename every temporary file to its target; on a failure none of the targets is left new."""
        done: list[Path] = []
        with interrupts_deferred():
            try:
                for temporary, target in self._pending:
                    os.chmod(temporary, 0o644)
                    if self.replace:
                        os.replace(temporary, target)
                    else:
                        _rename_no_clobber(temporary, target)
                    done.append(target)
            except OSError as error:
                for target in done:  # the pair is incomplete: take back what was renamed
                    target.unlink(missing_ok=True)
                failed = self._pending[len(done)][1]
                full = _disk_full(failed.parent, error)
                self.discard()
                if isinstance(error, FileExistsError):
                    raise OutputExists(f"{failed}: appeared while this run was writing it (another run writing "
                                       "into the same folder?); it was left as it is and this result was not "
                                       "written", [failed]) from None
                raise _write_failure(failed, error, full) from None
            self._pending.clear()
            self._folders.clear()
        return done

    def discard(self) -> None:
        """Remove every temporary file not yet committed, and the folders made for them if left empty."""
        for temporary, _ in self._pending:
            temporary.unlink(missing_ok=True)
        self._pending.clear()
        for folder in reversed(self._folders):
            try:
                folder.rmdir()
            except OSError:  # not empty (another run's files) or gone: left as it is
                break
        self._folders.clear()

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _rename_no_clobber(temporary: Path, target: Path) -> None:
    """Rename, failing with `FileExistsError` if ``target`` exists: a hard link is made only where no
    file is (atomically), then the temporary name goes. Where links cannot be made, the check and the
    rename are two steps."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.rename(temporary, target)
        return
    temporary.unlink()


def atomic_write(path: str | Path, write: Callable[[Path], object], files: OutputFiles | None = None) -> Path:
    """Write ``path`` through ``write(temporary_path)``: at once, or at ``files``' commit when given.

    A failure leaves no partial file, and an existing ``path`` is replaced
    only once the new content is complete.
    """
    with atomic_writing(path, files) as temporary:
        write(temporary)
    return Path(path)


@contextmanager
def atomic_writing(path: str | Path, files: OutputFiles | None = None) -> Iterator[Path]:
    """:func:`atomic_write` as a block that fills the temporary file it is given (a file written while
    its content is being computed)."""
    if files is not None:
        with files.writing(path) as temporary:
            yield temporary
        return
    with OutputFiles() as alone, alone.writing(path) as temporary:
        yield temporary
