"""Options of the Siril plugin: the core's parameters and run options plus what to do with the results.

The parameter and run options are generated from :mod:`bgoptimizer.params`
(the same names and defaults as the ``bgoptimizer`` command line); the few
output options below are shared by the headless parser and the panel.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

from bgoptimizer import (
    ParameterError,
    Parameters,
    ParameterSpec,
    RunOptions,
    add_parameter_options,
    setting,
    settings_from_args,
    specs_of,
    validate_settings,
)

__all__ = ["OutputOptions", "OUTPUT_GROUP", "DEFAULT_PREFIX", "NORMALIZED_PREFIX", "output_spec", "build_parser",
           "parse_arguments"]

DEFAULT_PREFIX = "bkg_"
NORMALIZED_PREFIX = "norm_"  # the normalized frames' when the prefix is left at its default
OUTPUT_GROUP = "Siril output"
# Siril's own file type, extension and bit depth settings say how it saves images.
SIRIL_DECIDES = ("format", "keep_bit_depth")


@dataclass(frozen=True)
class OutputOptions:
    """What happens to the results, each option declared with its specification as the core's settings
    are; the defaults are those of the headless mode."""

    run: RunOptions = field(default_factory=RunOptions)  # the core's: mask file, device, compression, overwrite
    replace: bool = setting(
        True, "Replace the loaded image with the corrected one (an undo state is saved first).", OUTPUT_GROUP,
        label="Replace the loaded image",
    )
    save_model: bool = setting(
        True, "Save the background model as <image>_bgModel.fit in Siril's working directory.", OUTPUT_GROUP,
        label="Save the background model file",
    )
    model_path: str | None = setting(
        None, "Where to save the background model instead of <image>_bgModel.fit.", OUTPUT_GROUP,
        label="Background model file",
    )
    show_model: bool = setting(
        False, "Load the background model as the current image instead of the corrected image (the model file "
        "is saved for that).", OUTPUT_GROUP, label="Show the background model instead",
    )
    sequence: bool = setting(
        False, "Process every included frame of the sequence NAME in Siril's working directory (read from "
        "NAME.seq, or the files NAME00001.fit...; what batch scripts use, as Siril refuses load_seq in scripts), "
        "or without NAME of the loaded sequence; the corrected frames form a new sequence named with the prefix.",
        OUTPUT_GROUP, label="Whole loaded sequence",
        tip="Correct every included frame of the sequence loaded in Siril instead of the loaded image; the "
        "corrected frames are written with the prefix below and form a new sequence, ready to register and stack.",
    )
    sequence_name: str | None = setting(
        None, "A sequence in the working directory instead of the loaded one.", OUTPUT_GROUP, label="Sequence name",
    )
    save_models: bool = setting(
        False, "With a sequence: also save each frame's background model as <frame>_bgModel.fit.", OUTPUT_GROUP,
        label="Save each frame's model",
    )
    normalize: bool = setting(
        False, "With a sequence: instead of extracting each frame's background, normalize every included frame's "
        "background and brightness to the sequence's reference frame (else the first), for stacking frames whose "
        "gradient changes; the frames are written with the prefix norm_ (if left at bkg_). Extract the stacked "
        "master's background afterwards.", OUTPUT_GROUP, label="Normalize to the reference frame",
    )
    prefix: str = setting(
        DEFAULT_PREFIX, "File-name prefix of the corrected frames and of the new sequence.", OUTPUT_GROUP,
        label="Sequence prefix",
    )
    exclude_polygons: bool = setting(
        False, "Keep out of the fit the areas drawn on the image in Siril's view (its overlay polygons; the same "
        "areas for every frame of a sequence).", OUTPUT_GROUP, label="Exclude the drawn areas",
    )

    def __post_init__(self) -> None:
        validate_settings(self)
        if not self.prefix or any(char in self.prefix for char in "/\\"):
            raise ParameterError(f"{{prefix}} {self.prefix!r}: must be a non-empty file-name prefix without '/'",
                                 "prefix")

    @property
    def frame_prefix(self) -> str:
        """The prefix of the frames written: ``norm_`` for normalized frames unless another was given."""
        return NORMALIZED_PREFIX if self.normalize and self.prefix == DEFAULT_PREFIX else self.prefix

    @property
    def saves_model(self) -> bool:
        """Whether a model file is written: each frame's for a sequence, the image's otherwise."""
        return self.save_models if self.sequence else self.save_model or self.show_model


def output_spec(name: str) -> ParameterSpec:
    """One output option's specification."""
    return next(spec for spec in specs_of(OutputOptions) if spec.name == name)


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
    output = parser.add_argument_group(OUTPUT_GROUP)
    # The batch arguments are shaped for scripts (--no-model, --sequence [NAME]); names, help and defaults
    # are the options' own.
    output.add_argument("--model", dest="model_path", metavar="PATH", help=output_spec("model_path").help)
    output.add_argument("--no-model", dest="save_model", action="store_false", default=output_spec("save_model").default,
                        help="Do not save the background model.")
    output.add_argument("--show-model", action="store_true", help=output_spec("show_model").help)
    output.add_argument("--sequence", "-seq", nargs="?", const="", default=None, metavar="NAME",
                        help=output_spec("sequence").help)
    output.add_argument("--save-models", action="store_true", help=output_spec("save_models").help)
    output.add_argument("--normalize", action="store_true", help=output_spec("normalize").help)
    output.add_argument("--prefix", default=DEFAULT_PREFIX,
                        help=f"{output_spec('prefix').help} (default: {DEFAULT_PREFIX})")
    output.add_argument("--exclude-polygons", action="store_true", help=output_spec("exclude_polygons").help)
    add_parameter_options(parser, leave_out=SIRIL_DECIDES)
    return parser


def parse_arguments(argv: Sequence[str]) -> tuple[Parameters, OutputOptions]:
    """Parameters and output options from ``pyscript`` arguments; a `ParameterError` names a bad one."""
    args = build_parser().parse_args(list(argv))
    params, run = settings_from_args(args)
    output = OutputOptions(
        run=run,
        replace=not args.show_model,
        save_model=args.save_model,
        save_models=args.save_models,
        model_path=args.model_path,
        show_model=args.show_model,
        sequence=args.sequence is not None,
        sequence_name=args.sequence or None,
        normalize=args.normalize,
        prefix=args.prefix,
        exclude_polygons=args.exclude_polygons,
    )
    return params, output
