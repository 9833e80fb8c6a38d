"""What the panel remembers between sessions (the last Run's values, the window's place): one JSON file in
Siril's config folder. A convenience: a missing, damaged or unwritable file only loses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bgoptimizer import BgOptimizerError
from bgoptimizer.io import atomic_write

__all__ = ["read_remembered", "write_remembered"]


def read_remembered(path: Path | None) -> dict[str, Any]:
    """The remembered entries by name; none when there is no file or it is not a JSON object."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def write_remembered(path: Path | None, entries: dict[str, Any]) -> None:
    """Replace the file with ``entries``, atomically (a read-only config folder keeps what it had)."""
    if path is None:
        return
    try:
        atomic_write(path, lambda temporary: temporary.write_text(json.dumps(entries, indent=1), encoding="utf-8"))
    except BgOptimizerError:
        pass  # remembering is a convenience: an unwritable config folder only loses it
