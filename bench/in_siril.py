"""Inside Siril: the plugin next to Siril's own extractor (``subsky -rbf``, ``seqsubsky -rbf``) on the same
generated images, quiet and with one competing busy core, and per frame of a sequence.

    python bench/in_siril.py                        # 3000x2000 RGB, 5 repeats, a 20-frame sequence
    python bench/in_siril.py --home /tmp/sirilhome  # a Siril home whose venv has the plugin's packages

Every time is that of a Siril script run by ``siril-cli`` (../shared/siril/install.sh) minus the same
script without the operation (starting Siril, loading and saving the image) run just before it, median
of the repeats; the three scripts take turns, so a slow spell of the machine weighs on each alike. The
background each left is scored like the main benchmark's (% of the gradient's peak-to-peak).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from benchmark import SIRIL_CLI, corrected_error, run_siril_script  # beside this script

from bgoptimizer.io import write_image
from bgoptimizer.synthetic import make_scene

PLUGIN = Path(__file__).resolve().parents[1] / "siril_plugin" / "Background_Optimizer.py"
OURS = f"pyscript {PLUGIN} --overwrite"


def interleaved(folder: Path, home: Path, repeats: int, *scripts: list[str]) -> list[float]:
    """Median seconds of each script but the first, minus the first (Siril's start, ``load``, ``save``),
    the scripts run in turn ``repeats`` times so that a slow spell of the machine weighs on all alike."""
    rounds = [[run_siril_script(folder, *commands, home=home) for commands in scripts] for _ in range(repeats)]
    return [statistics.median(times[index] - times[0] for times in rounds) for index in range(1, len(scripts))]


class BusyCore:
    """One process spinning on a core while the block runs, as another program would."""

    def __enter__(self) -> BusyCore:
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *_: object) -> None:
        self.process.kill()
        self.process.wait()


def single_image(folder: Path, home: Path, width: int, height: int, repeats: int) -> list[dict]:
    scene = make_scene(width, height, 3, gradient_kind="mixed", nebula=False, seed=11)
    write_image(folder / "scene.fit", scene.image)
    rows = []
    for busy in (False, True):
        with BusyCore() if busy else contextlib.nullcontext():
            ours, theirs = interleaved(folder, home, repeats, ["load scene", "save base"],
                                       ["load scene", OURS, "save ours"], ["load scene", "subsky -rbf", "save theirs"])
        errors = [corrected_error(scene, folder / f"{name}.fit") for name in ("ours", "theirs")]
        rows.append({"case": f"{width}x{height} RGB{', one busy core' if busy else ''}", "ours_s": ours,
                     "siril_s": theirs, "ratio": ours / theirs, "ours_rms_pct": errors[0],
                     "siril_rms_pct": errors[1]})
    rows[1]["busy_vs_quiet"] = rows[1]["ours_s"] / rows[0]["ours_s"]
    return rows


def sequence(folder: Path, home: Path, width: int, height: int, frames: int) -> dict:
    scene = make_scene(width, height, 3, gradient_kind="mixed", nebula=False, seed=11)
    for number in range(1, frames + 1):
        write_image(folder / f"light_{number:05d}.fit", scene.image)
    base = run_siril_script(folder, "setext fit", home=home)
    ours = (run_siril_script(folder, f"{OURS} --sequence light_", home=home) - base) / frames
    theirs = (run_siril_script(folder, "seqsubsky light_ -rbf -prefix=rbf_", home=home) - base) / frames
    errors = [corrected_error(scene, folder / f"{prefix}light_00001.fit") for prefix in ("bkg_", "rbf_")]
    return {"case": f"sequence of {frames} frames {width}x{height} RGB, per frame", "ours_s": ours,
            "siril_s": theirs, "ratio": ours / theirs, "ours_rms_pct": errors[0], "siril_rms_pct": errors[1]}


COLUMNS = [("case", "<46", "{}"), ("ours_s", ">7", "{:.2f}"), ("siril_s", ">8", "{:.2f}"), ("ratio", ">6", "{:.2f}"),
           ("busy_vs_quiet", ">13", "{:.2f}"), ("ours_rms_pct", ">12", "{:.2f}"), ("siril_rms_pct", ">13", "{:.2f}")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="3000x2000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=20, help="frames of the sequence (0: none)")
    parser.add_argument("--home", type=Path, default=Path.home(),
                        help="HOME for Siril: its venv must hold the plugin's packages (default: yours)")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    if not SIRIL_CLI.exists():
        parser.error(f"no {SIRIL_CLI}; install it with bash ../shared/siril/install.sh")
    width, height = (int(v) for v in args.size.split("x"))
    print(" ".join(f"{name:{align}}" for name, align, _ in COLUMNS))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows += single_image(Path(folder), args.home, width, height, args.repeats)
    if args.frames:
        with tempfile.TemporaryDirectory() as folder:
            rows.append(sequence(Path(folder), args.home, width, height, args.frames))
    for row in rows:
        print(" ".join(f"{fmt.format(row.get(name, np.nan)):{align}}" for name, align, fmt in COLUMNS), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
