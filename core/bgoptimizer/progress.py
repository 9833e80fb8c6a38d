"""How a long run talks to its front end: progress (of a part as a share of the whole) and cancelling."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "CancelCheck", "scaled", "check_cancel", "cancelling"]

ProgressCallback = Callable[[float, str], None]  # progress(fraction, message)
CancelCheck = Callable[[], bool]  # True: stop now (the run raises Cancelled and changes nothing)


def scaled(progress: ProgressCallback | None, start: float, end: float, prefix: str = "") -> ProgressCallback | None:
    """``progress`` for a part that runs from ``start`` to ``end`` of the whole, its messages prefixed."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (end - start) * fraction, prefix + message)


def check_cancel(cancel: CancelCheck | None) -> None:
    """Raise :class:`~bgoptimizer.errors.Cancelled` when the user asked to stop: called between the steps
    of a run (a fit's detection rounds, its start, each band of rows), so a stop takes effect within one."""
    if cancel is not None and cancel():
        from .errors import Cancelled

        raise Cancelled("cancelled")


def cancelling(progress: ProgressCallback | None, cancel: CancelCheck | None) -> ProgressCallback | None:
    """``progress`` that also stops the run when the user asked to (every progress report is a point where
    stopping leaves nothing half done)."""
    if cancel is None:
        return progress

    def report(fraction: float, message: str) -> None:
        check_cancel(cancel)
        if progress is not None:
            progress(fraction, message)

    return report
