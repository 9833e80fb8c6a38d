"""``bgoptimizer demo [OUTDIR]``: the whole pipeline on a synthetic sky with a known gradient."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
from astropy.io import fits

from ..interrupts import exit_code_when_interrupted
from ..io import check_output_dir, read_image, write_image
from ..method.display import display_stretch
from ..params import Parameters, RunOptions
from ..runs.jobs import plan_run
from ..synthetic import Nebula, gradient_error, make_scene
from .figure import GREEN, ORANGE, labelled_row, profile_plot, stack, write_figure
from .runner import TerminalProgress, run_jobs

__all__ = ["main", "before_after_figure"]


def main(argv: Sequence[str] | None = None) -> int:
    return exit_code_when_interrupted(lambda: _run(argv))


def _run(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="bgoptimizer demo",
        description="Build a synthetic linear sky (stars, a faint nebula, noise, a known gradient), "
        "extract its background and report the error against the truth.",
    )
    parser.add_argument("outdir", nargs="?", default="bgoptimizer-demo", help="output folder")
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic scene")
    args = parser.parse_args(argv)
    try:
        outdir = check_output_dir(args.outdir)
    except Exception as error:  # noqa: BLE001 - one clear line for any output problem
        print(f"bgoptimizer demo: error: {error}", file=sys.stderr)
        return 1

    scene = make_scene(args.width, args.height, nebula=Nebula(size=0.08, amplitude=1.0), seed=args.seed)
    header = fits.Header()
    header["OBJECT"] = ("bgoptimizer demo", "synthetic sky with a known gradient")
    source = write_image(outdir / "demo_input.fits", scene.image, header)
    print(f"synthetic sky {args.width}x{args.height} RGB written to {source}")

    params, options = Parameters(), RunOptions(overwrite=True)  # the demo's folder holds its own files
    done, _ = run_jobs(plan_run([source], outdir, params, options), params, options, TerminalProgress())
    if not done:
        return 1
    corrected, model = (read_image(path).data for path in done[0].job.outputs)
    rms, worst = gradient_error(model, scene.background)
    png = write_figure(outdir / "demo_before_after.png", before_after_figure(scene.image, model, corrected,
                                                                              scene.background))
    print(f"before/after picture (input, background model, corrected; a profile): {png}")
    print(f"recovered gradient error: {rms:.2f}% RMS, {worst:.2f}% max (of the gradient's peak-to-peak)")
    return 0


def before_after_figure(image: np.ndarray, model: np.ndarray, corrected: np.ndarray,
                        truth: np.ndarray | None = None) -> np.ndarray:
    """Input, background model and corrected image with the input's display stretch, each labelled, and
    a profile along the middle row (the model's, and the true gradient's when known, level aside)."""
    step = max(1, -(-image.shape[2] // 600))  # panels at most 600 pixels wide
    shown = [display_stretch(picture, like=image)[:, ::-step, ::step] for picture in (image, model, corrected)]
    row = labelled_row(shown, ["input", "background model", "corrected"])
    middle = image.shape[1] // 2
    recovered = model[1, middle].astype(np.float64)
    curves = [(recovered, "recovered model", ORANGE)]
    if truth is not None:
        true = truth[1, middle].astype(np.float64)
        curves = [(true, "true gradient", GREEN), (recovered - np.mean(recovered - true), "recovered model", ORANGE)]
    return stack(row, profile_plot(curves, row.shape[2], title="middle row, green channel:"))
