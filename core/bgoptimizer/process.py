"""A front end's process: its one-time heavy import and its end (the command line, Siril's batch scripts).

Importing torch and astropy leaves a few hundred thousand long-lived objects.
With the cyclic garbage collector running, the import spends about 0.3 s in
collections that free nothing, and the interpreter's shutdown another 0.4 s
traversing them: together a quarter of a 3000x2000 run on two cores. So the
collector is paused while the engine is imported and what the import created
is frozen out of its sight (``gc.freeze``); objects made later are collected
as usual.

Even so, the interpreter's shutdown spends 0.1-0.3 s freeing torch's modules
one by one, which a user waits for after every run (in Siril too: the script
has not finished until its process has ended), while the operating system
frees a process's memory at once. So a finished run ends its process with
:func:`end_process`. Measured from the end of ``main()`` to the process's end
(3000x2000 CLI run, 2 cores, median of 6): 0.150 s with ``sys.exit``, 0.030 s
with :func:`end_process`. It runs the exit handlers through CPython's
``atexit._run_exitfuncs``, which has no public equivalent (the handlers
include sirilpy's disconnection and ``weakref.finalize`` cleanups, which must
run); where an interpreter lacks it, the ordinary exit is taken.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

__all__ = ["collector_paused", "end_process"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run a process's one-time heavy import without cyclic collections, then freeze its objects."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def end_process(code: int) -> NoReturn:
    """Exit with ``code`` as the interpreter would, without freeing module by module what the OS frees.

    The exit handlers run (sirilpy's disconnection among them) and the
    standard streams are flushed; a file still open would lose its buffer, so
    only a process's last line may call this. While another thread is still
    working, the ordinary exit waits for it.
    """
    main_thread = threading.main_thread()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's; no public name for it
    if run_exit_handlers is None or any(thread is not main_thread and not thread.daemon
                                        for thread in threading.enumerate()):
        sys.exit(code)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can be said
                stream.flush()
    os._exit(code)
