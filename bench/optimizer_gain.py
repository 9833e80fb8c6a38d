"""What gradient descent adds to the robust start: each scene fitted with the default epochs and with
``--epochs 0`` (the start alone); the table gives the models' largest difference, the iterations run and
the times.

    python bench/optimizer_gain.py            # 600x400 scenes, two seeds, and the real frames
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bgoptimizer import Parameters, extract_background, extract_cfa_background
from bgoptimizer.io import read_image
from bgoptimizer.params import REFERENCE_EPOCHS
from bgoptimizer.synthetic import GLOW_KINDS, make_glow_scene, make_scene

_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def _scenes():
    for kind in ("linear", "quadratic", "radial", "mixed", "dome"):
        for seed in (1, 2):
            for nebula in (False, True):
                yield f"{kind}{'+nebula' if nebula else ''} {seed}", make_scene(600, 400, gradient_kind=kind,
                                                                                 nebula=nebula, seed=seed).image
    for kind in GLOW_KINDS:
        for seed in (1, 2):
            yield f"{kind} {seed}", make_glow_scene(kind, seed, 600, 400).image
    for name in ("dslr_sky_lightpollution_linear.fits", "m94_seestar_stack_siril.fit", "seestar_raw_sub_bayer_u16.fit"):
        yield name, read_image(_REAL / name).data


def main() -> None:
    print("| scene | largest model difference (of its peak-to-peak) | iterations | s | s with --epochs 0 |")
    print("|---|---|---|---|---|")
    for name, image in _scenes():
        extract = extract_cfa_background if "bayer" in name else extract_background
        runs = []
        for epochs in (REFERENCE_EPOCHS, 0):
            start = time.perf_counter()
            result = extract(image.copy(), Parameters(epochs=epochs), device="cpu")
            runs.append((result, time.perf_counter() - start))
        (full, seconds), (start_only, start_seconds) = runs
        difference = float(np.abs(full.background - start_only.background).max() / np.ptp(start_only.background))
        print(f"| {name} | {difference:.2e} | {full.report.iterations} | {seconds:.2f} | {start_seconds:.2f} |")


if __name__ == "__main__":
    main()
