"""Command-line tool: ``bgoptimizer INPUT... [OUTPUT_DIR] [options]`` and ``bgoptimizer demo``.

Every option is generated from :mod:`bgoptimizer.params`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from astropy.io import fits

from . import __version__
from .errors import BgOptimizerError, OutputError
from .io import (
    ImageFile,
    check_output_dir,
    extension_for,
    image_format,
    read_image,
    write_fits_bands,
    write_image,
    write_png,
)
from .io.fits_io import BandSink
from .params import Parameters, ParameterSpec, parameter_specs
from .pipeline import BackgroundResult, extract_background, prepare, preview_image

__all__ = [
    "main",
    "build_parser",
    "add_parameter_options",
    "parameters_from_args",
    "history_line",
    "process_file",
    "output_paths",
    "TerminalProgress",
]

_IMAGE_SUFFIXES = (".fit", ".fits", ".fts", ".xisf")
# Name endings of the two outputs (before the extension).
_OUTPUT_TAGS = ("_bgSubtracted", "_bgModel")


class TerminalProgress:
    """A one-line progress bar on a terminal; silent when the stream is not a TTY."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()
        self._last = -1.0

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled or (fraction - self._last < 0.005 and fraction < 1.0):
            return
        self._last = fraction
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {fraction * 100:5.1f}% {message[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()
        self._last = -1.0


def _argument_type(spec: ParameterSpec):
    def convert(text: str):
        return spec.parse(text)

    convert.__name__ = spec.type.__name__
    return convert


def add_parameter_options(parser: argparse.ArgumentParser, siril: bool = False) -> None:
    """One option per parameter, grouped as in the panel; ``siril`` keeps only those that apply inside Siril."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for spec in parameter_specs():
        if siril and not spec.siril:
            continue
        group = groups.setdefault(spec.group, parser.add_argument_group(spec.group))
        default = f" (default: {spec.default})" if spec.default not in (None, False) else ""
        span = f" [{spec.low:g}, {spec.high:g}]" if spec.low is not None else ""
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


def parameters_from_args(args: argparse.Namespace) -> Parameters:
    """The `Parameters` an argparse result holds; options it lacks keep their defaults."""
    return Parameters(**{spec.name: getattr(args, spec.name) for spec in parameter_specs() if hasattr(args, spec.name)})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgoptimizer",
        description="Automatic background (gradient) extraction for linear astro images "
        "(FITS or XISF). Writes <name>_bgSubtracted and <name>_bgModel files. "
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_parameter_options(parser)
    return parser


def _split_paths(paths: Sequence[str], output_dir: str | None) -> tuple[list[Path], Path | None]:
    items = [Path(p) for p in paths]
    if output_dir is None and len(items) > 1 and items[-1].suffix.lower() not in _IMAGE_SUFFIXES:
        last = items.pop()
        if not (last.is_dir() and any(_images_in(last))):
            return items, last
        items.append(last)
    return items, Path(output_dir) if output_dir else None


def _images_in(folder: Path) -> list[Path]:
    """The folder's images, leaving out this tool's own outputs (a folder run again, or used
    as the output folder of an earlier run, must not correct its corrected images)."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES and not p.stem.endswith(_OUTPUT_TAGS))


def _expand(items: list[Path]) -> list[Path]:
    inputs: list[Path] = []
    for item in items:
        inputs.extend(_images_in(item) if item.is_dir() else [item])
    return inputs


def output_paths(source: Path, output_dir: Path, fmt: str | None) -> tuple[Path, Path]:
    """``<name>_bgSubtracted.<ext>`` and ``<name>_bgModel.<ext>`` for an input file."""
    fmt = fmt or image_format(source)
    suffix = extension_for(fmt, source)
    corrected, model = (output_dir / f"{source.stem}{tag}{suffix}" for tag in _OUTPUT_TAGS)
    for path in (corrected, model):
        if path.resolve() == source.resolve():
            raise OutputError(f"{path}: would overwrite the input file")
    return corrected, model


def history_line(params: Parameters, what: str) -> str:
    return f"bgoptimizer {__version__}: {what}; {params.summary()}"


def _history_header(source: ImageFile, params: Parameters, what: str) -> fits.Header:
    header = source.header.copy()
    header.add_history(history_line(params, what))
    return header


def process_file(path: Path, output_dir: Path | None, params: Parameters, preview: bool,
                 progress: TerminalProgress, out: TextIO | None = None) -> list[Path]:
    """Run one file end to end; returns the paths written.

    Outputs keep the input's metadata plus a HISTORY line. An uncompressed
    FITS model is written to its file band by band while the image is
    corrected in place, so the run holds one image, not two.
    """
    out = out or sys.stdout
    target_dir = check_output_dir(output_dir if output_dir is not None else path.parent)
    if preview:
        source = read_image(path)
        shown = preview_image(prepare(source.data, params))
        written = write_png(target_dir / f"{path.stem}_preview.png", shown)
        print(f"{path}: preview written to {written}", file=out)
        return [written]
    corrected_path, model_path = output_paths(path, target_dir, params.format)
    source = read_image(path)
    model_header = _history_header(source, params, "background model")
    start = time.perf_counter()
    results: list[BackgroundResult] = []

    def run(model_sink: BandSink | None = None) -> None:
        results.append(extract_background(source.data, params, progress=progress, in_place=True,
                                          model_sink=model_sink))

    try:
        if image_format(model_path) == "fits" and not params.compress:
            write_fits_bands(model_path, source.data.shape, model_header, run)
        else:
            run()
    finally:
        progress.close()
    result = results[0]
    start_write = time.perf_counter()
    if result.background is not None:
        write_image(model_path, result.background, model_header, source.properties, params.compress)
    done = "subtracted" if params.mode == "subtract" else "divided"
    write_image(corrected_path, result.corrected, _history_header(source, params, f"background {done}"),
                source.properties, params.compress)
    report = result.report
    stages = ", ".join(f"{name} {sec:.2f}s" for name, sec in report.seconds.items())
    print(
        f"{path}: done in {time.perf_counter() - start:.2f}s on {report.device} "
        f"({stages}, write {time.perf_counter() - start_write:.2f}s); "
        f"final loss {report.loss:.5f} after {report.iterations} iterations\n"
        f"  -> {corrected_path}\n  -> {model_path}",
        file=out,
    )
    return [corrected_path, model_path]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo":
        from .demo import main as demo_main

        return demo_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        params = parameters_from_args(args)
    except BgOptimizerError as error:
        parser.error(str(error))
    items, output_dir = _split_paths(args.paths, args.output_dir)
    inputs = _expand(items)
    if not inputs:
        print("bgoptimizer: error: no input image given", file=sys.stderr)
        return 2
    failed: list[str] = []
    progress = TerminalProgress()
    for index, path in enumerate(inputs, 1):
        if len(inputs) > 1:
            print(f"[{index}/{len(inputs)}] {path}", file=sys.stderr)
        try:
            process_file(path, output_dir, params, args.preview, progress)
        except BgOptimizerError as error:
            progress.close()
            print(f"bgoptimizer: error: {error}", file=sys.stderr)
            failed.append(str(path))
        except MemoryError:
            progress.close()
            print(f"bgoptimizer: error: {path}: out of memory", file=sys.stderr)
            failed.append(str(path))
    if failed and len(inputs) > 1:
        print(f"bgoptimizer: {len(failed)} of {len(inputs)} files failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
