"""SIGINT, SIGTERM and SIGHUP as an exception that front ends report in one line.

Python's default turns Ctrl-C into a traceback and lets SIGTERM (a batch
system's kill) or SIGHUP (a closed terminal) end the process at once, leaving
temporary files behind. Inside :func:`interrupts_raised` each of them raises
:class:`Interrupted` instead, so ``finally`` blocks remove what was half
written; inside :func:`interrupts_deferred` (renaming a finished pair of
files) the signal waits until the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Interrupted", "interrupts_raised", "interrupts_deferred", "exit_code_when_interrupted"]

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(BaseException):
    """A termination signal arrived; like `KeyboardInterrupt`, not caught by ``except Exception``."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


_deferring = 0
_pending: int | None = None


def _raise(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _deferring:
        _pending = signum
        return
    raise Interrupted(signum)


@contextmanager
def interrupts_raised() -> Iterator[None]:
    """Turn the termination signals into :class:`Interrupted` for the block (main thread only).

    A signal the process was started to ignore stays ignored: ``nohup`` (SIGHUP) and a shell's
    background job (SIGINT) ask for exactly that.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in _SIGNALS
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back :class:`Interrupted` until the block has finished."""
    global _deferring, _pending
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)


def exit_code_when_interrupted(run: Callable[[], int]) -> int:
    """``run()``'s exit code, or the signal's when one arrives (the line saying what is complete is
    printed where the work was)."""
    try:
        with interrupts_raised():
            return run()
    except Interrupted as stop:
        return stop.exit_code
