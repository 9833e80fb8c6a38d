"""The README's pictures: the demo's before/after figure, and the real DSLR light-pollution frame corrected
by us and by Siril 1.4's ``subsky -rbf`` side by side, one display stretch (linked, the input's) for all.

    python bench/pictures.py            # writes docs/images/demo-before-after.png, docs/images/dslr-comparison.png

Needs Siril 1.4.4 (``bash ../shared/siril/install.sh``) for the second picture.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
from benchmark import run_siril_script

from bgoptimizer import Parameters, extract_background
from bgoptimizer.command_line.demo import before_after_figure
from bgoptimizer.command_line.figure import labelled_row, write_figure
from bgoptimizer.io import read_image
from bgoptimizer.method.display import display_stretch
from bgoptimizer.synthetic import Nebula, gradient_error, make_scene

ROOT = Path(__file__).resolve().parents[1]
DSLR = ROOT.parent / "shared" / "data" / "real" / "dslr_sky_lightpollution_linear.fits"


def demo_picture(folder: Path) -> Path:
    """The demo's scene and figure (``bgoptimizer demo``'s defaults)."""
    scene = make_scene(1500, 1000, nebula=Nebula(size=0.08, amplitude=1.0), seed=1)
    result = extract_background(scene.image.copy(), Parameters())
    print(f"demo: {gradient_error(result.background, scene.background)[0]:.2f} % RMS of the gradient")
    figure = before_after_figure(scene.image, result.background, result.corrected, scene.background)
    return write_figure(folder / "demo-before-after.png", figure)


def dslr_picture(folder: Path) -> Path:
    """The real frame: input, ours (defaults), Siril 1.4.4's subsky -rbf (defaults)."""
    image = read_image(DSLR).data
    ours = extract_background(image.copy(), Parameters()).corrected
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(DSLR, Path(work) / "dslr.fits")
        run_siril_script(Path(work), "load dslr.fits", "subsky -rbf", "save siril_rbf")
        siril = read_image(Path(work) / "siril_rbf.fit").data
    panels = [display_stretch(picture, like=image)[:, ::-1] for picture in (image, ours, siril)]
    for name, picture in (("ours", ours), ("subsky -rbf", siril)):
        halves = [np.median(picture[:, :, : picture.shape[2] // 2]), np.median(picture[:, :, picture.shape[2] // 2 :])]
        print(f"{name}: sky left half / right half {halves[0]:.4f} / {halves[1]:.4f}")
    row = labelled_row(panels, ["input (real DSLR frame)", "bgoptimizer (defaults)", "Siril 1.4 subsky -rbf"])
    return write_figure(folder / "dslr-comparison.png", row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for picture in (demo_picture(args.out), dslr_picture(args.out)):
        print(f"written {picture}")


if __name__ == "__main__":
    main()
