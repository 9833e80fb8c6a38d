"""Hashes of results on fixed scenes: a refactoring that must change no result prints the same table.

Each row runs one path end to end (the engine on arrays, the command line on a
real file, a raw CFA frame, a warm-started second frame) and prints an MD5 of
the pixels and of the HISTORY written. Run it before and after a change:

    python bench/result_hashes.py
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
from pathlib import Path

import numpy as np

from bgoptimizer import FitInputs, Parameters, RunControl, extract_background
from bgoptimizer.command_line.main import main as cli
from bgoptimizer.io import read_image, write_image
from bgoptimizer.synthetic import make_glow_scene, make_scene

_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def _md5(*arrays: np.ndarray | str) -> str:
    digest = hashlib.md5()
    for item in arrays:
        digest.update(item.encode() if isinstance(item, str) else np.ascontiguousarray(item).tobytes())
    return digest.hexdigest()[:12]


def _file_hash(path: Path) -> str:
    image = read_image(path)
    return _md5(image.data, "\n".join(str(card) for card in image.header.get("HISTORY", [])))


def _cli(*arguments: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return cli([*arguments, "--epochs", "150", "--device", "cpu"])


def main() -> None:
    params = Parameters(epochs=150)
    rows: list[tuple[str, str]] = []
    scene = make_scene(600, 400, gradient_kind="mixed", nebula=True, seed=3)
    result = extract_background(scene.image, params, control=RunControl(device="cpu"))
    rows.append(("engine: 600x400 nebula", _md5(result.background, result.corrected)))
    glow = make_glow_scene("horizon_galaxy", 1, 600, 400)
    result = extract_background(glow.image, params, control=RunControl(device="cpu"))
    rows.append(("engine: 600x400 horizon + galaxy", _md5(result.background, result.corrected)))
    second = make_scene(600, 400, gradient_kind="mixed", nebula=True, seed=4)
    warm = extract_background(second.image, params, inputs=FitInputs(initial=result.state),
                              control=RunControl(device="cpu"))
    rows.append(("engine: warm-started frame", _md5(warm.background, warm.corrected)))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for name in ("dslr_sky_lightpollution_linear.fits", "seestar_raw_sub_bayer_u16.fit"):
            code = _cli(str(_REAL / name), "-o", str(out))
            written = sorted(out.glob(f"{Path(name).stem}_*"))
            rows.append((f"CLI: {name} (exit {code})", " ".join(_file_hash(path) for path in written)))
        write_image(out / "scene.xisf", scene.image)
        _cli(str(out / "scene.xisf"), "-o", str(out), "--mode", "divide", "--no-model")
        rows.append(("CLI: XISF, divide, no model", _file_hash(out / "scene_bgDivided.xisf")))
    print("| path | MD5 (first 12) |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
