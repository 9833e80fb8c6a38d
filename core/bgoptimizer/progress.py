"""How a long run talks to its front end: progress (of a part as a share of the whole) and cancelling."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "CancelCheck", "scaled"]

ProgressCallback = Callable[[float, str], None]  # progress(fraction, message)
CancelCheck = Callable[[], bool]  # True: stop now (the run raises Cancelled and changes nothing)


def scaled(progress: ProgressCallback | None, start: float, end: float, prefix: str = "") -> ProgressCallback | None:
    """``progress`` for a part that runs from ``start`` to ``end`` of the whole, its messages prefixed."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (end - start) * fraction, prefix + message)
