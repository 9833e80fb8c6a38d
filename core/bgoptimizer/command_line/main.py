"""Command-line tool: ``bgoptimizer INPUT... [OUTPUT_DIR] [options]`` (``bgoptimizer demo``: :mod:`.demo`).

Every option is generated from :mod:`bgoptimizer.params`. Exit codes: 0 when
every file succeeded, 1 when any failed (the others are still processed), 2
for a bad option or a run refused before any work (outputs that collide,
exist, or are inputs), 128 + the signal's number when interrupted. The
options are read before the engine is imported (:mod:`.runner`: torch and
astropy, over a second on two cores), so ``--help``, ``--version`` and a bad
option answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from ..arguments import add_parameter_options, settings_from_args
from ..errors import BgOptimizerError, flag
from ..interrupts import exit_code_when_interrupted
from ..process import collector_paused

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgoptimizer",
        description="Automatic background (gradient) extraction for linear astro images "
        "(FITS or XISF). Writes <name>_bgSubtracted and <name>_bgModel files, as 32-bit floats whatever the "
        "input's sample type (integers are read scaled to [0, 1]). "
        "Run 'bgoptimizer demo [OUTDIR]' for a built-in example.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="INPUT [OUTPUT_DIR]",
        help="image files or folders of them; a last argument that is not an image is the output folder",
    )
    parser.add_argument("-o", "--output-dir", help="output folder (default: each input's folder)")
    parser.add_argument(
        "--preview",
        action="store_true",
        help="write <name>_preview.png (stretched, downscaled, masked image) and stop before fitting",
    )
    parser.add_argument("--no-model", dest="model", action="store_false",
                        help="write the corrected image only, not the background model (<name>_bgModel)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write what each input gave (outputs, times, loss, share masked as objects, "
                        "warnings, or the error) as JSON to FILE, for scripts ('-': print it, the summary lines "
                        "then going to standard error); an existing FILE is replaced only with --overwrite, "
                        "never an image")
    parser.add_argument("--normalize-to", metavar="REF",
                        help="normalize each registered INPUT frame's background (and brightness) to the frame REF "
                        "instead: writes <name>_bgNormalized files to stack, then extract the master's background "
                        "once")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_parameter_options(parser)
    return parser



def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return exit_code_when_interrupted(lambda: _run(argv))


def _run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        params, options = settings_from_args(args)
    except BgOptimizerError as error:
        parser.error(error.rendered(flag))
    with collector_paused():  # the engine, only for a run
        from .runner import run
    return run(parser, args, params, options)


if __name__ == "__main__":
    sys.exit(main())
