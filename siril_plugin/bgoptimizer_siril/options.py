"""Options of the Siril plugin: the core's parameters and run options plus what to do with the results.

The parameter and run options are generated from :mod:`bgoptimizer.params`
(the same names and defaults as the ``bgoptimizer`` command line); the few
output options below are shared by the headless parser and the panel.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

from bgoptimizer import ParameterError, Parameters, RunOptions, add_parameter_options, settings_from_args

__all__ = ["OutputOptions", "OUTPUT_HELP", "DEFAULT_PREFIX", "build_parser", "parse_arguments"]

DEFAULT_PREFIX = "bkg_"
# Siril's own file type, extension and bit depth settings say how it saves images.
SIRIL_DECIDES = ("format", "keep_bit_depth")

OUTPUT_HELP = {
    "replace": "replace the loaded image with the corrected one (an undo state is saved first)",
    "save_model": "save the background model as <image>_bgModel.fit in Siril's working directory",
    "model_path": "where to save the background model instead of <image>_bgModel.fit",
    "show_model": "load the background model as the current image instead of the corrected image "
    "(the model file is saved for that)",
    "sequence": "process every included frame of the sequence NAME in Siril's working directory (read from "
    "NAME.seq, or the files NAME00001.fit...; what batch scripts use, as Siril refuses load_seq in scripts), "
    "or without NAME of the loaded sequence; the corrected frames form a new sequence named with the prefix",
    "save_models": "with --sequence: also save each frame's background model as <frame>_bgModel.fit",
    "prefix": "file-name prefix of the corrected frames and of the new sequence",
    "exclude_polygons": "keep out of the fit the areas drawn on the image in Siril's view (its overlay polygons; "
    "the same areas for every frame of a sequence)",
}


@dataclass(frozen=True)
class OutputOptions:
    """What happens to the results; the defaults are those of the headless mode."""

    run: RunOptions = field(default_factory=RunOptions)  # the core's: mask file, device, compression, overwrite
    replace: bool = True
    save_model: bool = True
    model_path: str | None = None
    show_model: bool = False
    sequence: bool = False
    sequence_name: str | None = None  # a sequence in the working directory instead of the loaded one
    prefix: str = DEFAULT_PREFIX
    exclude_polygons: bool = False  # the areas drawn in Siril's overlay are kept out of the fit

    def __post_init__(self) -> None:
        if not self.prefix or any(char in self.prefix for char in "/\\"):
            raise ParameterError(f"prefix {self.prefix!r}: must be a non-empty file-name prefix without '/'")


class _Parser(argparse.ArgumentParser):
    """Raises instead of exiting: Siril ignores a script's exit code, so the caller logs the error in red."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ParameterError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pyscript Background_Optimizer.py",
        description="Automatic background extraction of the image (or, with --sequence, the sequence) "
        "loaded in Siril.",
    )
    output = parser.add_argument_group("Siril output")
    output.add_argument("--model", dest="model_path", metavar="PATH", help=OUTPUT_HELP["model_path"])
    output.add_argument("--no-model", dest="save_model", action="store_false", help="do not save the background model")
    output.add_argument("--show-model", action="store_true", help=OUTPUT_HELP["show_model"])
    output.add_argument("--sequence", "-seq", nargs="?", const="", default=None, metavar="NAME",
                        help=OUTPUT_HELP["sequence"])
    output.add_argument("--save-models", action="store_true", help=OUTPUT_HELP["save_models"])
    output.add_argument("--prefix", default=DEFAULT_PREFIX, help=OUTPUT_HELP["prefix"] + f" (default: {DEFAULT_PREFIX})")
    output.add_argument("--exclude-polygons", action="store_true", help=OUTPUT_HELP["exclude_polygons"])
    add_parameter_options(parser, leave_out=SIRIL_DECIDES)
    return parser


def parse_arguments(argv: Sequence[str]) -> tuple[Parameters, OutputOptions]:
    """Parameters and output options from ``pyscript`` arguments; a `ParameterError` names a bad one."""
    args = build_parser().parse_args(list(argv))
    params, run = settings_from_args(args)
    output = OutputOptions(
        run=run,
        replace=not args.show_model,
        save_model=args.save_models if args.sequence is not None else args.save_model or args.show_model,
        model_path=args.model_path,
        show_model=args.show_model,
        sequence=args.sequence is not None,
        sequence_name=args.sequence or None,
        prefix=args.prefix,
        exclude_polygons=args.exclude_polygons,
    )
    return params, output
