"""Frames processed in turn, each into its own outputs, where one that fails does not stop the others: the
loop the command line's files and Siril's sequences share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ..errors import Cancelled
from ..progress import CancelCheck

__all__ = ["each_in_turn"]

Item = TypeVar("Item")
Result = TypeVar("Result")


def each_in_turn(items: Iterable[Item], work: Callable[[Item], Result], succeeded: Callable[[Item, Result], None],
                 failed: Callable[[Item, Exception], bool], cancel: CancelCheck | None = None) -> bool:
    """Run ``work(item)`` on each item in turn, then ``succeeded(item, result)``; whether the run was cancelled.

    An exception ``work`` raises is handed to ``failed(item, error)``, which
    records it and returns True to go on with the next item (False: the
    exception is not one a user can act on, and it passes on); ``succeeded``
    runs outside that guard, so what it raises is never taken for the item's
    failure. `Cancelled`, or ``cancel()`` returning True before an item, stops
    the loop; what finished stays. Signals (`Interrupted`, `KeyboardInterrupt`)
    pass on.
    """
    for item in items:
        if cancel is not None and cancel():
            return True
        try:
            result = work(item)
        except Cancelled:
            return True
        except Exception as error:
            if not failed(item, error):
                raise
            continue
        succeeded(item, result)
    return False
