"""Hard skies next to Siril's extractors: large objects under complex gradients, ours beside Siril 1.5-dev's
``subsky -auto`` (the sample-free extractor Siril users get next) and Siril 1.4's ``subsky -rbf``, per scene
and the worst per kind (the worst sky of a kind is what a user meets).

    python bench/hard_skies.py                                   # 1500x1000, seeds 1-3, every kind
    python bench/hard_skies.py --kinds two_glows_galaxy --seeds 4 5 6 --sizes 3000x2000
    python bench/hard_skies.py --no-siril                        # ours only
    python bench/hard_skies.py --no-siril --sizes 1000x667 1500x1000 3000x2000 6000x4000  # one sky, four sizes

Scores: RMS of the recovered gradient in % of its peak-to-peak (a tool's model is ``input - corrected`` up
to a constant when it writes no model), the share of the object's flux taken into the model, ours' share
masked as objects, seconds (ours: the engine in-process; Siril: the whole ``siril-cli`` run). A seed is one
sky at every size (its object, gradient and star density; the stars and the noise differ), so that with
several ``--sizes`` a last table shows how ours depends on the resolution. Needs
``bash ../shared/siril/install_dev.sh`` (it installs 1.4.4 too). A benchmark, not a test: CI does not run it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from benchmark import SIRIL_CLI, run_siril_script

from bgoptimizer import Parameters, extract_background
from bgoptimizer.io import read_image, write_image
from bgoptimizer.synthetic import GLOW_KINDS, Nebula, absorbed_share, gradient_error, make_glow_scene, make_scene

SIRIL_DEV = Path("/opt/sirildev/bin/siril-cli")
# The kinds: the edge-glow skies with a large object, and a large smooth nebula that returns to the sky inside
# the frame (a fifth of the frame in size) under each of two gradients.
KINDS = ("two_glows_galaxy", "horizon_galaxy", "glow_big_galaxy", "large_nebula_dome", "large_nebula_mixed")


def scene_of(kind: str, seed: int, width: int, height: int):
    if kind in GLOW_KINDS:
        return make_glow_scene(kind, seed, width, height, same_at_every_size=True)
    gradient = kind.rsplit("_", 1)[1]
    return make_scene(width, height, gradient_kind=gradient, nebula=Nebula(size=0.2), seed=seed,
                      same_at_every_size=True)


def scores(scene, model: np.ndarray) -> tuple[float, float]:
    """RMS % of the gradient and % of the object's flux absorbed by ``model``."""
    valid = scene.image > 0
    model = np.where(valid, model, scene.background)
    absorbed = absorbed_share(model, scene.background, scene.nebula) if scene.nebula.any() else float("nan")
    return gradient_error(model, scene.background)[0], absorbed


def siril_model(scene, folder: Path, command: str, cli: Path) -> tuple[np.ndarray, float]:
    """What Siril's ``command`` took out of the scene (input - corrected), and the seconds its run took."""
    seconds = run_siril_script(folder, "load scene.fits", command, "save corrected", cli=cli)
    return scene.image - read_image(folder / "corrected.fit").data, seconds


def run(kind: str, seed: int, width: int, height: int, siril: bool) -> dict:
    scene = scene_of(kind, seed, width, height)
    start = time.perf_counter()
    ours = extract_background(scene.image.copy(), Parameters())
    row = {"kind": kind, "seed": seed, "ours": scores(scene, ours.background), "masked": 100 * ours.report.objects,
           "ours_s": time.perf_counter() - start}
    if siril:
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            write_image(folder / "scene.fits", scene.image)
            for name, command, cli in (("auto", "subsky -auto", SIRIL_DEV), ("rbf", "subsky -rbf", SIRIL_CLI)):
                model, seconds = siril_model(scene, folder, command, cli)
                row[name], row[f"{name}_s"] = scores(scene, model), seconds
    return row


def _cell(row: dict, name: str) -> str:
    if name not in row:
        return "|"
    rms, absorbed = row[name]
    return f"{rms:.2f} | {absorbed:.1f}" if np.isfinite(absorbed) else f"{rms:.2f} | "


def table(kinds: list[str], seeds: list[int], size: str, siril: bool) -> dict[tuple[str, int], dict]:
    """Print one size's table (every scene, the worst per kind) and return its rows by kind and seed."""
    width, height = (int(n) for n in size.split("x"))
    print(f"| scene ({size}) | ours RMS % | ours absorbed % | ours masked % | -auto RMS % | -auto absorbed % | "
          "-rbf RMS % | -rbf absorbed % | ours s | -auto s | -rbf s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    found = {}
    for kind in kinds:
        rows = [run(kind, seed, width, height, siril) for seed in seeds]
        for row in rows:
            times = " | ".join(f"{row[key]:.2f}" if key in row else "" for key in ("ours_s", "auto_s", "rbf_s"))
            print(f"| {kind} seed {row['seed']} | {_cell(row, 'ours')} | {row['masked']:.0f} | {_cell(row, 'auto')} | "
                  f"{_cell(row, 'rbf')} | {times} |", flush=True)
            found[kind, row["seed"]] = row
        worst = {name: max(row[name][0] for row in rows) for name in ("ours", "auto", "rbf") if name in rows[0]}
        print(f"| **{kind}: worst RMS %** | {worst['ours']:.2f} | | | "
              + (f"{worst['auto']:.2f} | | {worst['rbf']:.2f} | |" if "auto" in worst else "| | | |") + " | | |",
              flush=True)
    print()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--sizes", nargs="+", default=["1500x1000"], help="WIDTHxHEIGHT, one table each")
    parser.add_argument("--no-siril", dest="siril", action="store_false")
    args = parser.parse_args()
    by_size = {size: table(args.kinds, args.seeds, size, args.siril) for size in args.sizes}
    if len(args.sizes) < 2:
        return
    print("| ours, one sky at each size: RMS % / absorbed % / masked % | " + " | ".join(args.sizes) + " |")
    print("|---|" + "---|" * len(args.sizes))
    for kind in args.kinds:
        for seed in args.seeds:
            cells = []
            for size in args.sizes:
                row = by_size[size][kind, seed]
                cells.append(f"{row['ours'][0]:.2f} / {row['ours'][1]:.1f} / {row['masked']:.0f}")
            print(f"| {kind} seed {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
