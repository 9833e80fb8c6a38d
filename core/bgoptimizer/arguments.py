"""Command-line options generated from the parameter spec, shared by the ``bgoptimizer`` command and
the Siril plugin's batch arguments (same names, defaults, ranges and help)."""

from __future__ import annotations

import argparse

from .errors import NameRenderer, flag
from .params import GROUPS, Parameters, ParameterSpec, RunOptions, parameter_specs, settings_from

__all__ = ["add_parameter_options", "settings_from_args", "flags_naming"]

# Settings that name a file: messages name the file too.
_FILE_SETTINGS = ("mask",)


def _argument_type(spec: ParameterSpec):
    def convert(text: str):
        return spec.parse(text)

    convert.__name__ = spec.type.__name__
    return convert


def add_parameter_options(parser: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> None:
    """One option per setting, grouped as in the panel, but those named in ``leave_out`` (what a front end
    decides itself, e.g. the output format inside Siril)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for spec in sorted(parameter_specs(), key=lambda spec: GROUPS.index(spec.group)):
        if spec.name in leave_out:
            continue
        group = groups.setdefault(spec.group, parser.add_argument_group(spec.group))
        default = f" (default: {spec.default})" if spec.default is not None and spec.default is not False else ""
        span = f" [{spec.show(spec.low)}, {spec.show(spec.high)}]" if spec.low is not None else ""
        text = spec.help.replace("%", "%%")  # argparse formats help strings with %
        if spec.type is bool:
            # --name / --no-name, so that a default of True can be switched off too.
            group.add_argument(spec.flag, action=argparse.BooleanOptionalAction, default=spec.default,
                               help=text)
            continue
        choices = [c for c in spec.choices if c is not None] if spec.choices else None
        group.add_argument(
            spec.flag,
            dest=spec.name,
            type=_argument_type(spec),
            choices=choices,
            default=spec.default,
            metavar=None if choices else spec.type.__name__.upper(),
            help=text + span + default,
        )


def settings_from_args(args: argparse.Namespace) -> tuple[Parameters, RunOptions]:
    """The parameters and run options an argparse result holds; options it lacks keep their defaults."""
    return settings_from({spec.name: getattr(args, spec.name) for spec in parameter_specs() if hasattr(args, spec.name)})


def flags_naming(options: RunOptions) -> NameRenderer:
    """Settings named as the command line (and Siril's batch arguments) take them, a file setting with
    the file it names: ``--mask sky_mask.fits``."""

    def name(parameter: str) -> str:
        value = getattr(options, parameter, None) if parameter in _FILE_SETTINGS else None
        return f"{flag(parameter)} {value}" if value else flag(parameter)

    return name
