"""Every setting, defined once: the method's parameters and the options of a run.

:class:`Parameters` (what the method computes: passed to
:func:`bgoptimizer.extract_background`, recorded in HISTORY) and
:class:`RunOptions` (where it runs and what is read and written: the user's
mask file, the device, the output files) are value objects and, through their
fields' metadata, the specification (default, valid range or choices,
one-line help, label, panel group) from which the command-line options, the
Siril panel and the Siril batch options are generated.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass, field
from typing import Any

from .errors import ParameterError, flag
from .terms import term_count

__all__ = ["Parameters", "RunOptions", "ParameterSpec", "parameter_specs", "settings_from", "GROUPS", "setting",
           "specs_of", "validate_settings"]

# How front ends group the settings, in a user's terms: what counts as sky, how smooth the model is, what is
# done with it; then what tunes the method (the panel's collapsed expert group) and the gradient-descent stage,
# which the default run does not use (docs/benchmarks.md) and which only the command line and batch offer.
GROUPS = ("Sky", "Smoothness", "Output", "Expert", "Optimizer")
# Iterations the reference (log) loss runs when none are given: the original method's.
REFERENCE_EPOCHS = 500
_KINDS = {int: "a whole number", float: "a number", bool: "on or off", str: "a text"}  # in messages


def setting(
    default: Any,
    help: str,
    group: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[Any, ...] | None = None,
    label: str,
    essential: bool = False,
    preview: bool = False,
    slider: tuple[float, float] | None = None,
    tip: str | None = None,
    panel: bool = True,
) -> Any:
    """A dataclass field declared with its specification (:class:`ParameterSpec`): how settings are
    declared here, and how a front end declares its own (the Siril plugin's output options). ``tip``: the
    panel's words where ``help`` speaks of the command line or batch scripts; ``panel``: False for a setting
    only the command line and batch scripts offer."""
    return field(
        default=default,
        metadata={
            "help": help,
            "group": group,
            "low": low,
            "high": high,
            "choices": choices,
            "label": label,
            "essential": essential,
            "preview": preview,
            "slider": slider,
            "tip": tip,
            "panel": panel,
        },
    )


@dataclass(frozen=True)
class Parameters:
    """The method's parameters, each with its default, range and help.

    Where a default differs from the original method's, measurement chose it
    (docs/benchmarks.md).
    """

    downscale: int = setting(
        8, "Block size of the downscaling before the fit (pixels).", "Expert", low=1, high=64,
        label="Downscale (block, px)", preview=True,
    )
    downscale_func: str = setting(
        "median",
        "Block statistic for downscaling: median rejects small stars, mean keeps more signal.",
        "Expert",
        choices=("median", "mean"),
        label="Block statistic", preview=True,
    )
    quantile: float = setting(
        0.99,
        "Quantile of each channel mapped to white by the stretch (preview and thresholds). The linear "
        "fit domain models sky above it too; the stretched one clips it, so there keep it above the "
        "brightest sky (0.95 clips a strong corner glow).",
        "Expert",
        low=0.5,
        high=1.0,
        label="White point (quantile)", preview=True,
    )
    stretch_target: float = setting(
        0.25,
        "Level the stretch moves each channel's median to (midtones transfer target).",
        "Expert",
        low=0.01,
        high=0.99,
        label="Stretch target (median level)", preview=True,
    )
    fit_domain: str = setting(
        "linear",
        "Values the spline is fitted to: linear (pedestal and scale removed, no midtones transfer: "
        "gradients keep their shape) or stretched (after the midtones transfer, as the original method).",
        "Expert",
        choices=("linear", "stretched"),
        label="Fit domain",
    )
    threshold_min: float = setting(
        0.001,
        "Stretched level below which a downscaled pixel is ignored (black borders, dead areas); the stretch puts "
        "the sky's median at the stretch target (0.25 by default) and the white point at 1.",
        "Sky",
        low=0.0,
        high=1.0,
        label="Ignore below (stretched; sky ≈ 0.25)", essential=True, preview=True,
    )
    threshold_max: float = setting(
        1.0,
        "Stretched level above which a downscaled pixel is ignored (bright objects); the stretch puts the sky's "
        "median at the stretch target (0.25 by default), so 0.4-0.6 keeps only sky-like pixels.",
        "Sky",
        low=0.0,
        high=1.0,
        label="Ignore above (stretched; sky ≈ 0.25)", essential=True, preview=True,
    )
    protect_objects: bool = setting(
        True,
        "Find large faint objects (nebulae, galaxy halos) as coherent excess over a first fit and "
        "keep them, with their wings, out of the fit; off lets the spline follow them.",
        "Sky",
        label="Protect large faint objects", essential=True,
    )
    points: int = setting(
        64, "Number of spline control points: more follow sharper gradients, fewer are stiffer.", "Smoothness",
        low=4, high=1024, label="Control points", essential=True,
    )
    smoothing: float = setting(
        1e-5,
        "Weight of the spline's bending energy in the fit: higher is stiffer (follows objects less, "
        "sharp gradients less closely); it also keeps the model from bulging across masked areas.",
        "Smoothness",
        low=0.0,
        high=1.0,
        label="Smoothness (stiffness)", essential=True, slider=(1e-7, 1.0),
    )
    adapt_smoothing: bool = setting(
        True,
        "Where the fitted sky keeps a coherent misfit (a glow rising too steeply for the smoothness) and "
        "under 15% of the frame is masked (objects, masks, ignored pixels), refit with 10x, then 100x less "
        "smoothness while that shrinks the misfit; the report says when it did. Off, the run warns instead.",
        "Expert",
        label="Follow steep gradients",
    )
    order: int = setting(
        5,
        "Polyharmonic kernel: 1 (r, stiff cones), 2 (thin plate r^2 log r, the original method), 3 (r^3), "
        "4 (r^4 log r: penalizes third derivatives, so curvature, not only slope, carries across masked "
        "areas), 5 (r^5: smoother still; a light dome's tail crosses a masked nebula closest to its "
        "shape). 4 and 5 need poly_degree >= 2.",
        "Expert",
        choices=(1, 2, 3, 4, 5),
        label="Kernel order",
    )
    poly_degree: int = setting(
        2,
        "Degree of the spline's polynomial part, which the smoothing does not stiffen: 1 (affine, the "
        "original method), 2 (adds the quadratic trends of light pollution and vignetting), 3.",
        "Expert",
        choices=(1, 2, 3),
        label="Polynomial degree",
    )
    init: str = setting(
        "random",
        "Initial control-point layout: random (uniform) or a regular grid.",
        "Expert",
        choices=("random", "grid"),
        label="Initial layout",
    )
    seed: int = setting(
        0, "Random seed: the same seed gives the same result.", "Expert", low=0, high=2**31 - 1,
        label="Random seed",
    )
    epochs: int | None = setting(
        None,
        "Maximum number of gradient-descent (Adam) iterations after the first solve; none (the default): 0 "
        "with the robust loss, whose reweighted solve Adam never improved on (docs/benchmarks.md), 500 with "
        "the reference loss.",
        "Optimizer",
        low=0,
        high=100000,
        label="Maximum iterations", panel=False,
    )
    patience: int = setting(
        20,
        "Stop after this many iterations without improvement (learning rate halves after half).",
        "Optimizer",
        low=2,
        high=100000,
        label="Patience (iterations)", panel=False,
    )
    loss: str = setting(
        "robust",
        "Loss: robust (noise-scaled Cauchy, fitted first by reweighted least squares) "
        "or reference (the original log loss, for comparison; it has no smoothing term, so masked "
        "areas leave it unconstrained: use it with object protection off).",
        "Optimizer",
        choices=("robust", "reference"),
        label="Loss", panel=False,
    )
    lr: float = setting(0.001, "Adam learning rate.", "Optimizer", low=1e-6, high=1.0, label="Learning rate",
                        panel=False)
    alpha: float = setting(
        5.0,
        "Weight of the penalties for a model above the data or below zero.",
        "Optimizer",
        low=0.0,
        high=1000.0,
        label="Penalty weight", panel=False,
    )
    reconstruction: str = setting(
        "grid",
        "Full-resolution model: 'grid' evaluates the spline every 4 pixels and interpolates bicubically "
        "(within 0.1 % of the model's range of 'exact', which evaluates every pixel).",
        "Expert",
        choices=("grid", "exact"),
        label="Model evaluation",
    )
    mode: str = setting(
        "subtract",
        "Correction: subtract an additive gradient or divide by a multiplicative one.",
        "Output",
        choices=("subtract", "divide"),
        label="Correction", essential=True,
    )
    neutral: bool = setting(
        True,
        "Neutral background: every channel of the corrected image gets the same sky level (the channels' "
        "mean), as Siril's subsky and GraXpert give; off, each channel keeps its own sky level (and its cast).",
        "Output",
        label="Neutral background", essential=True,
    )

    def __post_init__(self) -> None:
        validate_settings(self)
        if self.threshold_min >= self.threshold_max:
            raise ParameterError(
                f"{{threshold_min}} ({self.threshold_min}) must be below {{threshold_max}} ({self.threshold_max})",
                "threshold_min", "threshold_max",
            )
        if self.order >= 4 and self.poly_degree < 2:
            raise ParameterError(f"{{order}} {self.order} needs {{poly_degree}} 2 or 3; got {{poly_degree}} 1",
                                 "order", "poly_degree")
        terms = term_count(self.poly_degree)
        if self.points <= terms:
            raise ParameterError(
                f"{{points}} ({self.points}) must exceed the {terms} terms of a degree-{self.poly_degree} "
                "polynomial part: raise {points} or lower {poly_degree}", "points", "poly_degree"
            )

    @property
    def iterations(self) -> int:
        """The gradient-descent iterations the run allows: ``epochs``, or its default for the loss."""
        if self.epochs is not None:
            return self.epochs
        return 0 if self.loss == "robust" else REFERENCE_EPOCHS

    def replace(self, **changes: Any) -> Parameters:
        """A copy with some values changed (validated again)."""
        return _replaced(self, changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """Compact ``name=value`` list of every parameter (for HISTORY: what shaped the result)."""
        return " ".join(f"{name}={value}" for name, value in self.as_dict().items())


@dataclass(frozen=True)
class RunOptions:
    """Where a run computes and what it reads and writes; none of them changes the result's values."""

    mask: str | None = setting(
        None,
        "Mask image (FITS/XISF, same size): 1 = background to fit, 0 = ignore, soft values allowed.",
        "Sky",
        label="Mask file", essential=True, preview=True,
    )
    device: str = setting(
        "auto",
        "Where the fit runs: auto picks CUDA, then Apple MPS, then the CPU.",
        "Expert",
        choices=("auto", "cpu", "cuda", "mps"),
        label="Device",
    )
    compress: bool = setting(
        False, "Write compressed (lossless) output files.", "Output",
        label="Compress output files", essential=True,
    )
    format: str | None = setting(
        None,
        "Output file format (default: the input's).",
        "Output",
        choices=(None, "fits", "xisf"),
        label="Output format",
    )
    keep_bit_depth: bool = setting(
        False,
        "Write the corrected image with an integer input's sample type (8, 16 or 32 bits, rounded and clipped to "
        "its range) instead of 32-bit floats; the model stays 32-bit float.",
        "Output",
        label="Keep the input's bit depth",
    )
    overwrite: bool = setting(
        False,
        "Replace output files left by an earlier run; without it a run whose outputs exist is refused "
        "before anything is done. Inputs are never overwritten.",
        "Output",
        label="Replace earlier outputs", essential=True,
    )

    def __post_init__(self) -> None:
        validate_settings(self)

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with some values changed (validated again)."""
        return _replaced(self, changes)


def validate_settings(settings: Any) -> None:
    """Check every field of a dataclass declared with :func:`setting`; a `ParameterError` names the first bad one."""
    for spec in specs_of(type(settings)):
        spec.validate(getattr(settings, spec.name))


def _replaced(settings: Any, changes: dict[str, Any]) -> Any:
    unknown = set(changes) - {spec.name for spec in specs_of(type(settings))}
    if unknown:
        raise ParameterError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(settings, **changes)


def settings_from(values: dict[str, Any]) -> tuple[Parameters, RunOptions]:
    """The parameters and run options that a front end's values (by spec name) hold; others keep defaults."""
    method = {spec.name for spec in specs_of(Parameters)}
    run = {spec.name for spec in specs_of(RunOptions)}
    unknown = set(values) - method - run
    if unknown:
        raise ParameterError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return (Parameters(**{k: v for k, v in values.items() if k in method}),
            RunOptions(**{k: v for k, v in values.items() if k in run}))


@dataclass(frozen=True)
class ParameterSpec:
    """One setting's description, read from its :class:`Parameters` or :class:`RunOptions` field."""

    name: str
    type: type
    optional: bool
    default: Any
    help: str
    group: str
    low: float | None
    high: float | None
    choices: tuple[Any, ...] | None
    label: str  # what the panel calls it, in plain words with its unit
    essential: bool  # shown by the panel at once; the others wait under "Advanced"
    preview: bool  # changes what the panel's preview shows: a change refreshes it
    slider: tuple[float, float] | None  # the panel shows a 0-1 slider over this range, log-mapped
    tip: str | None = None  # the panel's tooltip, where the help is written for the command line
    panel: bool = True  # the panel shows it (not the optimizer's settings: the command line's and batch's alone)

    @property
    def panel_help(self) -> str:
        """What the panel's tooltip says."""
        return self.tip or self.help

    @property
    def flag(self) -> str:
        """The command-line and batch option name, e.g. ``--threshold-min``."""
        return flag(self.name)

    def show(self, value: float) -> str:
        """A bound or value as people read it: integers whole (2147483647, not 2.14748e+09)."""
        return str(int(value)) if self.type is int else f"{value:g}"

    def parse(self, text: str) -> Any:
        """Convert an option string to this parameter's type, naming it on error."""
        if self.optional and text.lower() in ("", "none"):
            return None
        try:
            if self.type is bool:
                lowered = text.lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(text)
                return lowered in ("1", "true", "yes", "on")
            return self.type(text)
        except ValueError:
            raise ParameterError(f"{{{self.name}}}: {text!r} is not {_KINDS[self.type]}", self.name) from None

    def validate(self, value: Any) -> None:
        if value is None:
            if not self.optional:
                raise ParameterError(f"{{{self.name}}} must be given", self.name)
            return
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ParameterError(f"{{{self.name}}} must be {_KINDS[self.type]}, got {value!r}", self.name)
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices if c is not None)
            raise ParameterError(f"{{{self.name}}} must be one of {allowed}; got {value!r}", self.name)
        if self.low is not None and not value >= self.low:
            raise ParameterError(f"{{{self.name}}} must be at least {self.show(self.low)}; got {value!r}", self.name)
        if self.high is not None and not value <= self.high:
            raise ParameterError(f"{{{self.name}}} must be at most {self.show(self.high)}; got {value!r}", self.name)


def _spec(f: dataclasses.Field, hint: Any) -> ParameterSpec:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if args else hint
    return ParameterSpec(
        name=f.name,
        type=base,
        optional=bool(args),
        default=f.default,
        help=f.metadata["help"],
        group=f.metadata["group"],
        low=f.metadata["low"],
        high=f.metadata["high"],
        choices=f.metadata["choices"],
        label=f.metadata["label"],
        essential=f.metadata["essential"],
        preview=f.metadata["preview"],
        slider=f.metadata["slider"],
        tip=f.metadata.get("tip"),
        panel=f.metadata.get("panel", True),
    )


@functools.cache
def specs_of(cls: type) -> tuple[ParameterSpec, ...]:
    """The specifications of a dataclass's fields declared with :func:`setting`, in definition order."""
    hints = typing.get_type_hints(cls)
    return tuple(_spec(f, hints[f.name]) for f in dataclasses.fields(cls) if "help" in f.metadata)


def parameter_specs() -> tuple[ParameterSpec, ...]:
    """Every setting's specification: the method's parameters, then the run options, in definition order."""
    return specs_of(Parameters) + specs_of(RunOptions)
