"""Benchmark: whole CLI runs on synthetic scenes with a known background.

Prints a table (and writes JSON with --json) of stage times, end-to-end time
(``wall_s``: the process; ``run_s``: from reading the file to the last write,
without the interpreter's start and the imports), peak RSS and the
recovered-gradient error. Each run is a separate process, so
peak RSS is that of one CLI run (Python and torch included).

    python bench/benchmark.py                      # 3000x2000 RGB, defaults
    python bench/benchmark.py --sizes 3000x2000 6000x4000 --json bench/results/run.json
    python bench/benchmark.py --sequence 20        # 20 frames, cold vs warm-started fits
    python bench/benchmark.py --real --gradients linear dome quadratic radial mixed   # the M94 stack
    python bench/benchmark.py --siril              # also Siril's subsky -rbf on each scene, side by side
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bgoptimizer import Delivery, FitInputs, Parameters, extract_background
from bgoptimizer.arguments import settings_from_args
from bgoptimizer.command_line.main import build_parser
from bgoptimizer.io import read_image, write_image
from bgoptimizer.synthetic import absorbed_share, gradient, gradient_error, make_scene

# The CLI, then its own high-water RSS. (A child's ru_maxrss would count the pages it shared with
# this process between fork and exec, i.e. the scene generated here.)
_CLI_WITH_PEAK = (
    "from bgoptimizer.command_line.entry import main; from bgoptimizer.process import end_process; code = main(); "
    "print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM')), end=''); end_process(code)"
)


# Siril 1.4.4 as ../shared/siril/install.sh puts it (optional: --siril).
SIRIL_CLI = Path("/opt/siril/bin/siril-cli")


def run_siril_script(folder: Path, *commands: str, home: Path | None = None, cli: Path = SIRIL_CLI) -> float:
    """Seconds the ``siril-cli`` process (``cli``: 1.4.4 unless another is named) takes for the script
    (``home``: the HOME Siril runs with); a failure stops the benchmark with Siril's log."""
    script = folder / "bench.ssf"
    script.write_text("\n".join(["requires 1.4.0", *commands]) + "\n")
    environment = {**os.environ, "HOME": str(home)} if home is not None else None
    start = time.perf_counter()
    completed = subprocess.run([str(cli), "-d", str(folder), "-s", str(script)], capture_output=True,
                               text=True, env=environment, check=False)
    seconds = time.perf_counter() - start
    if completed.returncode != 0 or "failed" in completed.stdout:
        raise RuntimeError(f"siril-cli: {' / '.join(commands)}:\n{completed.stdout[-3000:]}")
    return seconds


def corrected_error(scene, corrected: Path) -> float:
    """RMS % of the gradient's peak-to-peak left by what was subtracted to give the file ``corrected``."""
    removed = scene.image - read_image(corrected).data  # the model subtracted, up to a constant
    valid = scene.image > 0
    return gradient_error(np.where(valid, removed, scene.background), scene.background)[0]


def run_siril_rbf(folder: Path, scene) -> dict:
    """Siril's own extractor on the same file: the whole ``siril-cli`` process (load, ``subsky -rbf``,
    save) timed like ours, and the background it took out scored like ours."""
    wall = run_siril_script(folder, "load scene.fits", "subsky -rbf", "save siril_rbf")
    return {"siril_wall_s": wall, "siril_rms_pct": corrected_error(scene, folder / "siril_rbf.fit")}


def run_case(width: int, height: int, channels: int, gradient: str, nebula: bool, extra: list[str],
             siril: bool = False) -> dict:
    scene = make_scene(width, height, channels, gradient_kind=gradient, nebula=nebula, seed=11)
    with tempfile.TemporaryDirectory() as folder:
        source = write_image(Path(folder) / "scene.fits", scene.image)
        theirs = run_siril_rbf(Path(folder), scene) if siril else {}
        report = Path(folder) / "report.json"
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-c", _CLI_WITH_PEAK, str(source), "--report", str(report), *extra],
            capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - start
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr)
        peak_kib = int(re.search(r"VmHWM:\s*(\d+) kB", completed.stdout).group(1))
        model = read_image(Path(folder) / "scene_bgModel.fits").data
        (result,) = json.loads(report.read_text())["files"]
    # From reading the file to the last write: the whole run but the interpreter's start and the imports.
    stages = {"run_s": result["read_seconds"] + result["seconds"], **result["stages"], "write": result["write_seconds"]}
    iterations = result["iterations"]
    rms, worst = gradient_error(model, scene.background)
    absorbed = absorbed_share(model, scene.background, scene.nebula) if nebula else float("nan")
    image_mb = scene.image.nbytes / 2**20
    return {
        "scene": f"{width}x{height} {'RGB' if channels == 3 else 'mono'} {gradient}{' +nebula' if nebula else ''}",
        "wall_s": wall, **stages, "iterations": iterations, "rms_pct": rms, "max_pct": worst, "absorbed_pct": absorbed,
        "peak_rss_mb": peak_kib / 1024,
        "image_mb": image_mb,
        **theirs,
        **({"ratio": wall / theirs["siril_wall_s"]} if theirs else {}),
    }


# A real linear stack (Seestar S50, 1920x1080 RGB) beside the project: see ../shared/data/README.md.
M94 = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "m94_seestar_stack_siril.fit"


def run_real(kind: str, image: np.ndarray, own: np.ndarray, params: Parameters) -> dict:
    """A gradient of known shape injected into the M94 stack ``image``, in-process.

    The stack has a faint gradient of its own: ``own``, the model of the
    un-injected stack, is subtracted before comparing with the injection.
    """
    valid = image > 0
    shape = gradient(kind, *image.shape[1:]) * float(np.median(image[valid]))  # peak-to-peak = sky level
    injected_truth = np.stack([shape, 0.8 * shape, 0.6 * shape])
    start = time.perf_counter()
    result = extract_background(np.where(valid, image + injected_truth, 0.0).astype(np.float32), params)
    seconds = time.perf_counter() - start
    rms, worst = gradient_error(result.background - own, injected_truth)
    return {"scene": f"M94 stack + {kind}", "seconds": seconds, "iterations": result.report.iterations,
            "rms_pct": rms, "max_pct": worst}


REAL_COLUMNS = [("scene", "<30", "{}"), ("seconds", ">8", "{:.2f}"), ("iterations", ">10", "{}"),
                ("rms_pct", ">8", "{:.2f}"), ("max_pct", ">8", "{:.2f}")]


def run_sequence(width: int, height: int, frames: int, warm: bool) -> dict:
    """A sequence in one process, as the Siril plugin runs it: a moon glow rising frame by frame."""
    base = make_scene(width, height, 3, gradient_kind="linear", nebula=False, seed=11)
    color = np.array([1.0, 0.85, 0.7], np.float32)[:, None, None]
    glow = 0.02 * color * gradient("dome", height, width)[None]
    params = Parameters()
    seconds, errors, iterations, previous = [], [], [], None
    for index in range(frames):
        truth = base.background + glow * (index / max(1, frames - 1))
        frame = base.image - base.background + truth
        start = time.perf_counter()
        result = extract_background(frame, params, inputs=FitInputs(initial=previous if warm else None),
                                    delivery=Delivery(in_place=True))
        seconds.append(time.perf_counter() - start)
        errors.append(gradient_error(result.background, truth)[0])
        iterations.append(result.report.iterations)
        previous = result.state
    later = seconds[1:] or seconds
    return {
        "scene": f"sequence {frames}x {width}x{height} RGB {'warm' if warm else 'cold'}",
        "first_frame_s": seconds[0], "s_per_frame": float(np.mean(later)),
        "iterations": int(np.mean(iterations[1:] or iterations)), "rms_pct": float(np.mean(errors)),
        "max_rms_pct": float(np.max(errors)),
    }


SEQUENCE_COLUMNS = [("scene", "<40", "{}"), ("first_frame_s", ">13", "{:.2f}"), ("s_per_frame", ">11", "{:.2f}"),
                    ("iterations", ">10", "{}"), ("rms_pct", ">8", "{:.2f}"), ("max_rms_pct", ">11", "{:.2f}")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["3000x2000"])
    parser.add_argument("--gradients", nargs="+", default=["mixed"])
    parser.add_argument("--mono", action="store_true", help="also run one-channel scenes")
    parser.add_argument("--nebula", action="store_true", help="also run scenes with a large faint nebula")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--sequence", type=int, metavar="FRAMES",
                        help="instead: a sequence of FRAMES frames per size, cold versus warm-started fits (in-process)")
    parser.add_argument("--real", action="store_true",
                        help="instead: each gradient injected into the real M94 stack (in-process)")
    parser.add_argument("--siril", action="store_true",
                        help=f"also run Siril's subsky -rbf on each scene ({SIRIL_CLI}: ../shared/siril/install.sh)")
    parser.add_argument("cli_options", nargs=argparse.REMAINDER, help="after --: options passed to bgoptimizer")
    args = parser.parse_args()
    if args.siril and not SIRIL_CLI.exists():
        parser.error(f"--siril: no {SIRIL_CLI}; install it with bash ../shared/siril/install.sh")
    extra = [a for a in args.cli_options if a != "--"]
    rows = []
    if args.real:
        params, _ = settings_from_args(build_parser().parse_args([str(M94), *extra]))
        image = read_image(M94).data
        own = extract_background(image, params).background  # the stack's own gradient, fitted once
        for kind in args.gradients:
            rows.append(run_real(kind, image, own, params))
            print_row(rows[-1], header=len(rows) == 1, columns=REAL_COLUMNS)
    for size in [] if args.real else args.sizes:
        width, height = (int(v) for v in size.split("x"))
        if args.sequence:
            for warm in (False, True):
                rows.append(run_sequence(width, height, args.sequence, warm))
                print_row(rows[-1], header=len(rows) == 1, columns=SEQUENCE_COLUMNS)
            continue
        for channels in ([3, 1] if args.mono else [3]):
            for kind in args.gradients:
                for nebula in ([False, True] if args.nebula else [False]):
                    rows.append(run_case(width, height, channels, kind, nebula, extra, args.siril))
                    print_row(rows[-1], header=len(rows) == 1, columns=COLUMNS + SIRIL_COLUMNS * args.siril)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


COLUMNS = [("scene", "<34", "{}"), ("wall_s", ">7", "{:.2f}"), ("run_s", ">6", "{:.2f}"), ("prepare", ">8", "{:.2f}"),
           ("fit", ">6", "{:.2f}"), ("reconstruct", ">11", "{:.2f}"), ("correct", ">8", "{:.2f}"),
           ("write", ">6", "{:.2f}"), ("iterations", ">10", "{}"), ("rms_pct", ">8", "{:.2f}"),
           ("max_pct", ">8", "{:.2f}"), ("absorbed_pct", ">12", "{:.1f}"),
           ("peak_rss_mb", ">11", "{:.0f}"), ("image_mb", ">8", "{:.0f}")]


SIRIL_COLUMNS = [("siril_wall_s", ">12", "{:.2f}"), ("ratio", ">6", "{:.2f}"), ("siril_rms_pct", ">13", "{:.2f}")]


def print_row(row: dict, header: bool, columns: list[tuple[str, str, str]] = COLUMNS) -> None:
    if header:
        print(" ".join(f"{name:{align}}" for name, align, _ in columns))
    print(" ".join(f"{fmt.format(row.get(name, np.nan)):{align}}" for name, align, fmt in columns), flush=True)


if __name__ == "__main__":
    sys.exit(main())
