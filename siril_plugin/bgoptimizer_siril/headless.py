"""``pyscript Background_Optimizer.py [options]``: process the loaded image (or sequence) without a window.

Siril ignores a script's exit code, so every outcome is a log line: green
on success, red naming the cause on failure (the image is then unchanged).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import sirilpy as s

from bgoptimizer import flag, flags_naming, user_message

from .loaded_image import UNDO_NAME, SirilProgress, describe_failure, process_loaded_image
from .options import parse_arguments

__all__ = ["run_headless"]


def run_headless(siril, argv: Sequence[str]) -> bool:
    """Run once; True on success. Every failure is logged in red and leaves the loaded image unchanged."""
    name = flag
    try:
        params, output = parse_arguments(argv)
        name = flags_naming(output.run)  # a mask file named with its option
        if output.sequence:
            from .sequence import process_sequence  # the engine at once (a sequence's frames are read one by one)

            return process_sequence(siril, params, output, SirilProgress(siril), name=name).succeeded
        outcome = process_loaded_image(siril, params, output, SirilProgress(siril), name=name)
    except Exception as error:  # noqa: BLE001 - reported to the user, whatever it is
        siril.log(f"{UNDO_NAME}: failed: {describe_failure(error, name)}", s.LogColor.RED)
        if user_message(error) is None and not isinstance(error, s.SirilError):  # a bug: its traceback too
            traceback.print_exc(file=sys.stderr)
        return False
    finally:
        siril.reset_progress()
    siril.log(f"{UNDO_NAME}: {outcome.summary()}", s.LogColor.GREEN)
    return True
