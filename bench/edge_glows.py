"""Sky glows entering from the frame's edges, with and without large galaxies: is a glow taken for an
object? Many random skies per kind (bgoptimizer.synthetic.make_glow_scene); the table gives the worst
case per kind, not the median, and the share of the frame masked as objects.

    python bench/edge_glows.py                       # 1500x1000, seeds 1-12, every kind
    python bench/edge_glows.py --seeds 1 2 3 --size 3000x2000 --kinds two_glows_galaxy
    python bench/edge_glows.py --nebulae            # the docs' nebula scenes: nothing may get worse
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bgoptimizer import Parameters, extract_background
from bgoptimizer.synthetic import GLOW_KINDS, absorbed_share, gradient_error, make_glow_scene, make_scene

# docs/benchmarks.md's object-protection scenes: a large faint nebula under each gradient, and the sharp glow
# beyond a corner with stars only and with the nebula.
NEBULA_KINDS = ("linear+nebula", "quadratic+nebula", "radial+nebula", "mixed+nebula", "dome+nebula", "glow",
                "glow+nebula")


def _scene(kind: str, seed: int, width: int, height: int):
    if kind in GLOW_KINDS:
        return make_glow_scene(kind, seed, width, height)
    gradient, _, nebula = kind.partition("+")
    return make_scene(width, height, gradient_kind=gradient, nebula=bool(nebula), seed=seed)


def run(kind: str, seed: int, width: int, height: int, params: Parameters) -> dict:
    scene = _scene(kind, seed, width, height)
    start = time.perf_counter()
    result = extract_background(scene.image, params)
    seconds = time.perf_counter() - start
    rms, worst = gradient_error(result.background, scene.background)
    absorbed = absorbed_share(result.background, scene.background, scene.nebula) if scene.nebula.any() else np.nan
    return {"kind": kind, "seed": seed, "rms": rms, "max": worst, "absorbed": absorbed,
            "masked": 100 * result.report.objects, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=list(GLOW_KINDS), choices=GLOW_KINDS + NEBULA_KINDS)
    parser.add_argument("--nebulae", action="store_true", help="the docs' nebula and corner-glow scenes instead")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(1, 13)))
    parser.add_argument("--size", default="1500x1000")
    parser.add_argument("--each", action="store_true", help="a row per scene, not only the worst per kind")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    kinds = NEBULA_KINDS if args.nebulae else args.kinds
    params = Parameters()
    print(f"| kind ({args.size}, {len(args.seeds)} seeds) | worst RMS % (seed) | median RMS % | worst max % | "
          "worst absorbed % | absorbed % median (scenes within 8 %) | masked % median / worst | s per scene |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        rows = [run(kind, seed, width, height, params) for seed in args.seeds]
        if args.each:
            for row in rows:
                print(f"| {kind} seed {row['seed']} | {row['rms']:.2f} | | {row['max']:.2f} | {row['absorbed']:.1f} | | "
                      f"{row['masked']:.0f} | {row['seconds']:.2f} |")
        worst = max(rows, key=lambda row: row["rms"])
        absorbed = [row["absorbed"] for row in rows if np.isfinite(row["absorbed"])]
        print(f"| {kind} | {worst['rms']:.2f} ({worst['seed']}) | {np.median([r['rms'] for r in rows]):.2f} | "
              f"{max(r['max'] for r in rows):.2f} | {max(absorbed) if absorbed else float('nan'):.1f} | "
              f"{np.median(absorbed) if absorbed else float('nan'):.1f} ({sum(a <= 8.0 for a in absorbed)}) | "
              f"{np.median([r['masked'] for r in rows]):.0f} / {max(r['masked'] for r in rows):.0f} | "
              f"{np.mean([r['seconds'] for r in rows]):.2f} |", flush=True)


if __name__ == "__main__":
    main()
