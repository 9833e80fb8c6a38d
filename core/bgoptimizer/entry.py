"""Console entry point (``bgoptimizer``, ``python -m bgoptimizer``).

Importing torch and astropy leaves a few hundred thousand long-lived objects.
With the cyclic garbage collector running, the import spends about 0.3 s in
collections that free nothing, and the interpreter's shutdown another 0.4 s
traversing them: together a quarter of a 3000x2000 run on two cores. So the
collector is paused while the engine is imported and what the import created
is frozen out of its sight (``gc.freeze``); objects made later are collected
as usual.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run a process's one-time heavy import without cyclic collections, then freeze its objects."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def main() -> int:
    """``bgoptimizer demo [...]`` runs :mod:`.demo`, anything else the command line (:mod:`.cli`)."""
    demo = sys.argv[1:2] == ["demo"]
    try:
        with collector_paused():
            if demo:
                from .demo import main as run
            else:
                from .cli import main as run
    except KeyboardInterrupt:  # Ctrl-C while starting: one line, not the import's traceback
        print("bgoptimizer: interrupted by SIGINT while starting; nothing was written", file=sys.stderr)
        return 130
    return run(sys.argv[2:] if demo else sys.argv[1:])
