"""The panel's Preview, timed where a user waits: the first one (the engine loaded by it) and the next ones
after a setting changed, on a generated RGB image, with the sirilpy test double standing in for Siril (the
work timed is the panel's own: Siril's part is handing over the pixels, measured by bench/in_siril.py).

    python bench/panel_preview.py                      # 1920x1080, 3 more Previews after the first
    python bench/panel_preview.py --size 3000x2000 --repeats 5

Needs Tk and, without a display, Xvfb (started here at 1366x768).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _display() -> subprocess.Popen | None:
    """An Xvfb of our own when there is no display."""
    if os.environ.get("DISPLAY"):
        return None
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen([shutil.which("Xvfb") or "Xvfb", f":{number}", "-screen", "0", "1366x768x24",
                               "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = f":{number}"
    time.sleep(1.0)
    return server


def _timed_preview(panel, root) -> float:
    """Seconds from pressing Preview to the preview shown and the panel idle."""
    start = time.perf_counter()
    panel.buttons["preview"].invoke()
    while not (panel.idle and panel.preview_photo is not None):
        root.update()
        time.sleep(0.005)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    server = _display()
    sys.path.insert(0, str(ROOT))
    from tests import sirilpy_double  # the double stands in for Siril's module

    sys.modules["sirilpy"] = sirilpy_double
    import tkinter as tk

    from bgoptimizer.synthetic import make_scene
    from bgoptimizer_siril.panel import Panel

    try:
        with tempfile.TemporaryDirectory() as work:
            sirilpy_double.STATE = sirilpy_double.SirilState(wd=Path(work), cli=False)
            sirilpy_double.STATE.image = make_scene(width, height, gradient_kind="mixed", seed=1).image
            sirilpy_double.STATE.filename = str(Path(work) / "image.fit")
            os.environ["XDG_CONFIG_HOME"] = work  # a panel without a remembered state
            root = tk.Tk()
            panel = Panel(root, sirilpy_double.SirilInterface())
            times = [_timed_preview(panel, root)]
            for repeat in range(args.repeats):
                panel.fields["points"].set(str(48 + 8 * repeat))  # a changed setting: the fit is redone
                times.append(_timed_preview(panel, root))
            root.destroy()
    finally:
        if server is not None:
            server.terminate()
    print(f"| {args.size} RGB | first Preview s | next Previews s (median, range) |")
    print("|---|---|---|")
    rest = sorted(times[1:])
    print(f"| panel | {times[0]:.2f} | {rest[len(rest) // 2]:.2f} ({rest[0]:.2f}-{rest[-1]:.2f}) |")


if __name__ == "__main__":
    main()
