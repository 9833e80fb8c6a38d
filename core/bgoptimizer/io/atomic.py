"""Atomic file output: write a temporary file beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import OutputError

__all__ = ["atomic_write", "check_output_dir"]


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


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)`` in the target's folder, then rename it to ``path``.

    A failure leaves no partial file, and an existing ``path`` is replaced
    only once the new content is complete.
    """
    target = Path(path)
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as error:
        raise OutputError(f"{target}: cannot write in {target.parent} ({error.strerror})") from None
    os.close(descriptor)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"{target}: {error.strerror or error}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
