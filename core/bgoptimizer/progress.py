"""Progress of a part of the work as a share of the whole."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "scaled"]

ProgressCallback = Callable[[float, str], None]


def scaled(progress: ProgressCallback | None, start: float, end: float, prefix: str = "") -> ProgressCallback | None:
    """``progress`` for a part that runs from ``start`` to ``end`` of the whole, its messages prefixed."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (end - start) * fraction, prefix + message)
