"""The panel's background work: one thread at a time, whose reports go through a queue that only the Tk
thread drains (Tk widgets are touched from that thread alone). Knows nothing of Tk or Siril."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal

__all__ = ["Event", "Worker"]

# What the work reports: progress (fraction, message), a preview's views, Run's before/after views, a
# success or a failure (a message), an exception, and that it has finished (always last).
Event = tuple[Literal["progress", "preview", "after", "done", "failed", "error", "finished"], Any]


class Worker:
    def __init__(self) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.cancel_requested = threading.Event()
        self.kind = ""  # what runs or ran last: "preview" or "run"
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, work: Callable[[], None], kind: str) -> None:
        """Run ``work`` in a new thread; an exception it raises is reported, then "finished"."""
        def target() -> None:
            try:
                work()
            except Exception as error:  # noqa: BLE001 - shown to the user, whatever it is
                self.post("error", error)
            finally:
                self.post("finished", None)

        self.cancel_requested.clear()
        self.kind = kind
        self._thread = threading.Thread(target=target, name="bgoptimizer-panel", daemon=True)
        self._thread.start()

    def post(self, kind: str, payload: Any) -> None:
        self.events.put((kind, payload))

    def reported(self) -> Iterator[Event]:
        """What has been reported since the last call (Tk thread)."""
        while True:
            try:
                yield self.events.get_nowait()
            except queue.Empty:
                return

    def join(self) -> None:
        """Wait for the thread (after its "finished", its last step)."""
        if self._thread is not None:
            self._thread.join()
