"""Console entry point (``bgoptimizer``, ``python -m bgoptimizer``): the engine imported with the collector
paused and the process ended without the interpreter's slow teardown (:mod:`..process` says why)."""

from __future__ import annotations

import sys
from typing import NoReturn

from ..process import collector_paused, end_process


def main() -> int:
    """``bgoptimizer demo [...]`` runs :mod:`.demo`, anything else the command line (:mod:`.main`, which
    imports the engine once the options are read)."""
    demo = sys.argv[1:2] == ["demo"]
    try:
        with collector_paused():
            if demo:
                from .demo import main as run
            else:
                from .main import main as run
    except KeyboardInterrupt:  # Ctrl-C while starting: one line, not the import's traceback
        print("bgoptimizer: interrupted by SIGINT while starting; nothing was written", file=sys.stderr)
        return 130
    return run(sys.argv[2:] if demo else sys.argv[1:])


def console() -> NoReturn:
    """The ``bgoptimizer`` command: :func:`main`, then the process ends without the slow teardown."""
    end_process(main())
