"""Benchmark: whole CLI runs on synthetic scenes with a known background.

Prints a table (and writes JSON with --json) of stage times, end-to-end time,
peak RSS and the recovered-gradient error. Each run is a separate process, so
peak RSS is that of one CLI run (Python and torch included).

    python bench/benchmark.py                      # 3000x2000 RGB, defaults
    python bench/benchmark.py --sizes 3000x2000 6000x4000 --json bench/results/run.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bgoptimizer.demo import absorbed_share, gradient_error
from bgoptimizer.io import read_image, write_image
from bgoptimizer.synthetic import make_scene

# The CLI, then its own high-water RSS. (A child's ru_maxrss would count the pages it shared with
# this process between fork and exec, i.e. the scene generated here.)
_CLI_WITH_PEAK = (
    "import sys; from bgoptimizer.cli import main; code = main(sys.argv[1:]); "
    "print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM')), end=''); sys.exit(code)"
)


def run_case(width: int, height: int, channels: int, gradient: str, nebula: bool, extra: list[str]) -> dict:
    scene = make_scene(width, height, channels, gradient_kind=gradient, nebula=nebula, seed=11)
    with tempfile.TemporaryDirectory() as folder:
        source = write_image(Path(folder) / "scene.fits", scene.image)
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-c", _CLI_WITH_PEAK, str(source), *extra], capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr)
        peak_kib = int(re.search(r"VmHWM:\s*(\d+) kB", completed.stdout).group(1))
        model = read_image(Path(folder) / "scene_bgModel.fits").data
    stages = {name: float(sec) for name, sec in re.findall(r"(prepare|fit|reconstruct|correct|write) ([\d.]+)s",
                                                           completed.stdout)}
    iterations = int(re.search(r"after (\d+) iterations", completed.stdout).group(1))
    rms, worst = gradient_error(model, scene.background)
    absorbed = absorbed_share(model, scene.background, scene.nebula) if nebula else float("nan")
    image_mb = scene.image.nbytes / 2**20
    return {
        "scene": f"{width}x{height} {'RGB' if channels == 3 else 'mono'} {gradient}{' +nebula' if nebula else ''}",
        "wall_s": wall, **stages, "iterations": iterations, "rms_pct": rms, "max_pct": worst, "absorbed_pct": absorbed,
        "peak_rss_mb": peak_kib / 1024,
        "image_mb": image_mb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["3000x2000"])
    parser.add_argument("--gradients", nargs="+", default=["mixed"])
    parser.add_argument("--mono", action="store_true", help="also run one-channel scenes")
    parser.add_argument("--nebula", action="store_true", help="also run scenes with a large faint nebula")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("cli_options", nargs=argparse.REMAINDER, help="after --: options passed to bgoptimizer")
    args = parser.parse_args()
    extra = [a for a in args.cli_options if a != "--"]
    rows = []
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        for channels in ([3, 1] if args.mono else [3]):
            for gradient in args.gradients:
                for nebula in ([False, True] if args.nebula else [False]):
                    rows.append(run_case(width, height, channels, gradient, nebula, extra))
                    print_row(rows[-1], header=len(rows) == 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


COLUMNS = [("scene", "<34", "{}"), ("wall_s", ">7", "{:.2f}"), ("prepare", ">8", "{:.2f}"), ("fit", ">6", "{:.2f}"),
           ("reconstruct", ">11", "{:.2f}"), ("correct", ">8", "{:.2f}"), ("write", ">6", "{:.2f}"),
           ("iterations", ">10", "{}"), ("rms_pct", ">8", "{:.2f}"), ("max_pct", ">8", "{:.2f}"),
           ("absorbed_pct", ">12", "{:.1f}"),
           ("peak_rss_mb", ">11", "{:.0f}"), ("image_mb", ">8", "{:.0f}")]


def print_row(row: dict, header: bool) -> None:
    if header:
        print(" ".join(f"{name:{align}}" for name, align, _ in COLUMNS))
    print(" ".join(f"{fmt.format(row.get(name, np.nan)):{align}}" for name, align, fmt in COLUMNS), flush=True)


if __name__ == "__main__":
    sys.exit(main())
