"""The plugin in the real Siril 1.4.4 of ``../shared/siril`` (``siril-cli`` running Siril scripts).

Siril's Python environment (sirilpy, the CPU build of torch, our dependencies)
is prepared once per test run (:func:`real_siril`); each test then runs a
Siril script in its own working directory and reads Siril's log and files.
Selected with ``-m siril``; CI runs them (``.ci/run`` installs Siril).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from bgoptimizer import __version__

from .conftest import DATA, ENTRY_SCRIPT, M94, RAW_U16, injected_gradient, relative_rms

pytestmark = pytest.mark.siril

INSTALLER = DATA.parent / "siril" / "install.sh"
SIRIL_CLI = Path("/opt/siril/bin/siril-cli")
ROOT = ENTRY_SCRIPT.parents[1]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the real Siril is needed in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Siril:
    home: Path
    wheels: Path  # the engine's wheel, built from this tree: the only source pip has in Siril's venv

    @property
    def python(self) -> Path:
        return self.home / ".local" / "share" / "siril" / "venv" / "bin" / "python"

    def env(self, **more: str) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home), "PIP_FIND_LINKS": str(self.wheels), "PIP_NO_INDEX": "1",
                **more}

    def run(self, workdir: Path, *commands: str, timeout: float = 600, wheels_only: bool = True) -> str:
        """Run a Siril script (``requires`` first, as users write them); Siril's log, one line a message.
        ``wheels_only``: pip in Siril's venv finds nothing but the built wheel (Siril's own first start
        builds sirilpy, which needs the index)."""
        script = workdir / "test.ssf"
        script.write_text("\n".join(["requires 1.4.0", *commands]) + "\n")
        env = self.env() if wheels_only else {**os.environ, "HOME": str(self.home)}
        completed = subprocess.run([str(SIRIL_CLI), "-d", str(workdir), "-s", str(script)], capture_output=True,
                                   text=True, timeout=timeout, env=env)
        return completed.stdout + completed.stderr

    def plugin(self, *args: str, script: Path = ENTRY_SCRIPT) -> str:
        return " ".join(["pyscript", str(script), *args])

    def remove_engine(self) -> None:
        subprocess.run([str(self.python), "-m", "pip", "uninstall", "-y", "-q", "siril-bgoptimizer"], check=True,
                       capture_output=True)


@pytest.fixture(scope="session")
def real_siril(tmp_path_factory) -> Siril:
    """Siril installed (``../shared/siril/install.sh``) and its Python venv prepared once."""
    if not SIRIL_CLI.exists():
        if not INSTALLER.exists() or shutil.which("apt-get") is None:
            _unavailable("no Siril in /opt/siril and no installer")
        subprocess.run(["bash", str(INSTALLER)], check=True, capture_output=True)
    home = Path(os.environ.get("BGOPTIMIZER_SIRIL_HOME") or tmp_path_factory.mktemp("siril-home"))
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True)
    siril = Siril(home, wheels)
    python = siril.python
    if not python.exists():  # the first pyscript creates Siril's venv with sirilpy
        probe = tmp_path_factory.mktemp("siril-venv")
        (probe / "probe.py").write_text("import sirilpy\n")
        siril.run(probe, f"pyscript {probe / 'probe.py'}", wheels_only=False)
    if not python.exists():
        _unavailable("Siril did not create its Python environment")
    # What the engine needs, with torch's CPU build (as on a machine without a GPU), and the engine from this
    # tree's wheel (an earlier session's, of the same version, would be kept by the script's own install, which
    # test_the_script_alone_installs_the_engine_once_and_runs exercises): every test sees this tree's code,
    # whichever runs first.
    subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0", "numpy>=1.24", "astropy>=5.3",
                    "lz4>=4.0", "zstandard>=0.21"], check=True, capture_output=True)
    siril.remove_engine()
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", *map(str, wheels.glob("*.whl"))],
                   check=True, capture_output=True)
    return siril


def _messages(log: str) -> list[str]:
    return [line[5:] for line in log.splitlines() if line.startswith("log: ")]


def _assert_clean_success(log: str) -> None:
    """A successful run: our summary, and no warning, error or stray command in the log."""
    messages = _messages(log)
    assert [m for m in messages if m.startswith("Background Optimizer: done in")], log
    bad = [m for m in messages if re.search(r"WARNING|[Ee]rror|Traceback|failed|^END$|install", m)]
    assert bad == [], bad
    assert sum(m == "Running command: requires" for m in messages) == 1  # the script's own, not ours


def _stat_means(log: str) -> list[float]:
    """Channel means of Siril's last ``stat`` (0-65535 scale)."""
    lines = [m for m in _messages(log) if re.match(r"(Red|Green|Blue|Gray) layer: Mean:", m)]
    return [float(re.search(r"Mean: ([-\d.e+]+)", m).group(1)) for m in lines[-3:]]


def _fitsverify(path: Path) -> str:
    if shutil.which("fitsverify") is None:
        _unavailable("fitsverify is not installed")
    return subprocess.run(["fitsverify", "-q", str(path)], capture_output=True, text=True).stdout.strip()


def _m94_with_gradient(path: Path) -> np.ndarray:
    """The M94 stack (its header crosses a 2880-byte block) plus a known gradient, written as Siril would."""
    header = fits.getheader(M94)
    stack = fits.getdata(M94).astype(np.float32)
    valid = stack > 0
    shape = injected_gradient(*stack.shape[1:], float(np.median(stack[valid])))
    pixels = np.where(valid, stack + np.stack([shape, 0.8 * shape, 0.6 * shape]), 0).astype(np.float32)
    fits.PrimaryHDU(pixels, header=header).writeto(path)
    return pixels


def test_the_script_alone_installs_the_engine_once_and_runs(real_siril, tmp_path):
    """The one file copied alone into an empty script folder, Siril's venv without the engine, the built wheel
    as pip's only source: the engine is installed on the first run, then never again."""
    real_siril.remove_engine()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    script = Path(shutil.copy(ENTRY_SCRIPT, scripts))
    _m94_with_gradient(tmp_path / "m94.fit")
    seconds = []
    for run in range(3):
        start = time.perf_counter()
        log = real_siril.run(tmp_path, "load m94", real_siril.plugin("--overwrite", script=script), "save m94_out")
        seconds.append(time.perf_counter() - start)
        installs = [m for m in _messages(log) if "installing" in m]
        expected = [f"Background Optimizer: installing siril-bgoptimizer {__version__} or newer (once)"]
        assert installs == (expected if run == 0 else []), log
        assert [m for m in _messages(log) if m.startswith("Background Optimizer: done in")], log
        assert not [m for m in _messages(log) if re.search(r"[Ee]rror|Traceback|failed", m)], log
        corrected = fits.getdata(tmp_path / "m94_out.fit")
        assert np.ptp([np.median(q) for q in (corrected[1, :960, :540], corrected[1, 960:, 540:])]) < np.ptp(
            [np.median(q) for q in (fits.getdata(tmp_path / "m94.fit")[1, :960, :540],
                                    fits.getdata(tmp_path / "m94.fit")[1, 960:, 540:])])
    print(f"\nSiril runs of the one-file script: first (installs the engine) {seconds[0]:.1f} s, "
          f"then {seconds[1]:.1f} s and {seconds[2]:.1f} s")


def test_default_run_corrects_the_image_and_writes_a_valid_model(real_siril, tmp_path):
    pixels = _m94_with_gradient(tmp_path / "m94.fit")

    log = real_siril.run(tmp_path, "load m94", real_siril.plugin(), "save m94_corrected",
                         "load m94_bgModel", "stat")

    _assert_clean_success(log)
    model_path = tmp_path / "m94_bgModel.fit"
    assert _fitsverify(model_path) == f"verification OK: {model_path}"
    model = fits.getdata(model_path)
    assert "END" not in [card.keyword for card in fits.getheader(model_path).cards]
    # Siril reads the model as written (the header's blocks counted right): its means are the model's.
    np.testing.assert_allclose(_stat_means(log), model.reshape(3, -1).mean(axis=1) * 65535, rtol=1e-3)
    corrected = fits.getdata(tmp_path / "m94_corrected.fit")
    assert [line for line in fits.getheader(model_path)["HISTORY"] if line.startswith(f"bgoptimizer {__version__}:")]
    gradient = pixels - fits.getdata(M94)
    for channel in range(3):  # the injected gradient is gone: the corrected sky is flat to a few % of it
        residual = corrected[channel] - fits.getdata(M94)[channel]
        quadrants = [np.median(residual[r : r + 960, c : c + 540]) for r in (0, 960) for c in (0, 540)]
        assert np.ptp(quadrants) < 0.1 * np.ptp(gradient[channel])


def test_show_model_and_compress(real_siril, tmp_path):
    _m94_with_gradient(tmp_path / "m94.fit")

    log = real_siril.run(tmp_path, "load m94", real_siril.plugin("--show-model", "--compress"), "stat")

    _assert_clean_success(log)
    model_path = tmp_path / "m94_bgModel.fit"
    assert fits.getheader(model_path, 1, disable_image_compression=True)["ZCMPTYPE"] == "GZIP_2"
    assert _fitsverify(model_path) == f"verification OK: {model_path}"
    model = fits.getdata(model_path)
    np.testing.assert_allclose(_stat_means(log), model.reshape(3, -1).mean(axis=1) * 65535, rtol=1e-3)


def test_a_script_run_twice_replaces_its_own_model_and_refuses_other_files(real_siril, tmp_path):
    """Issue 39, item 10: Siril goes on after a failed pyscript, so a script that runs the plugin twice on
    one image must not fail on the model its first run wrote (a later save would write the uncorrected
    image); a file of someone else's at that name is still refused, in one red line, and kept."""
    _m94_with_gradient(tmp_path / "m94.fit")
    log = real_siril.run(tmp_path, "load m94", real_siril.plugin("--epochs", "20"), "save m94_first",
                         "load m94", real_siril.plugin("--epochs", "20", "--points", "32"), "save m94_second")
    messages = _messages(log)
    assert len([m for m in messages if m.startswith("Background Optimizer: done in")]) == 2, log
    assert not [m for m in messages if "failed" in m or "already exist" in m], log
    history = " ".join(fits.getheader(tmp_path / "m94_bgModel.fit")["HISTORY"])
    assert "points=32" in history  # the second run's model
    assert np.ptp(fits.getdata(tmp_path / "m94_second.fit")[1]) < np.ptp(fits.getdata(tmp_path / "m94.fit")[1])

    theirs = tmp_path / "m94_bgModel.fit"
    fits.PrimaryHDU(np.ones((3, 10, 10), np.float32)).writeto(theirs, overwrite=True)
    before = theirs.read_bytes()
    log = real_siril.run(tmp_path, "load m94", real_siril.plugin("--epochs", "20"), "save m94_third")
    failed = [m for m in _messages(log) if m.startswith("Background Optimizer: failed:")]
    assert len(failed) == 1 and "already exists" in failed[0], log
    assert theirs.read_bytes() == before
    # Siril went on with the script: the uncorrected image was saved, which is why the log line matters.
    np.testing.assert_array_equal(fits.getdata(tmp_path / "m94_third.fit"), fits.getdata(tmp_path / "m94.fit"))


def test_the_model_follows_sirils_fits_extension(real_siril, tmp_path):
    """Issue 41, item 7: ``setext fits`` makes Siril name its files .fits; the model follows."""
    _m94_with_gradient(tmp_path / "m94.fit")
    # setext is remembered in Siril's settings (shared by this session's tests): put back at the script's end,
    # which Siril reaches whatever the pyscript did.
    log = real_siril.run(tmp_path, "setext fits", "load m94.fit", real_siril.plugin("--epochs", "20"), "setext fit")
    _assert_clean_success(log)
    assert sorted(p.name for p in tmp_path.glob("m94_bgModel*")) == ["m94_bgModel.fits"]


def test_divide_keeps_the_brightness_subtract_gives(real_siril, tmp_path):
    """Issue 41, item 4: in Siril, a divide run leaves the sky where a subtract run does (it was scaled down
    2.3x on the DSLR frame, a nearly black image)."""
    shutil.copy(DATA / "real" / "dslr_sky_lightpollution_linear.fits", tmp_path / "dslr.fits")
    log = real_siril.run(tmp_path, "load dslr.fits", real_siril.plugin("--epochs", "20", "--no-model"), "save sub",
                         "load dslr.fits", real_siril.plugin("--epochs", "20", "--no-model", "--mode", "divide"),
                         "save div")
    assert len([m for m in _messages(log) if m.startswith("Background Optimizer: done in")]) == 2, log
    subtracted, divided = (np.median(fits.getdata(tmp_path / f"{name}.fit"), axis=(1, 2)) for name in ("sub", "div"))
    np.testing.assert_allclose(divided, subtracted, rtol=0.01)
    assert abs(float(np.mean(subtracted)) - 0.0208) < 0.001


def test_a_16_bit_raw_frame_stays_16_bit(real_siril, tmp_path):
    shutil.copy(RAW_U16, tmp_path / "raw.fit")

    log = real_siril.run(tmp_path, "load raw", real_siril.plugin("--epochs", "50"), "save raw_corrected")

    _assert_clean_success(log)
    corrected = tmp_path / "raw_corrected.fit"
    assert fits.getheader(corrected)["BITPIX"] == 16
    before, after = fits.getdata(RAW_U16).astype(float), fits.getdata(corrected).astype(float)
    for row, column in ((0, 0), (0, 1), (1, 0), (1, 1)):  # each CFA phase keeps its level
        assert np.median(after[row::2, column::2]) == pytest.approx(np.median(before[row::2, column::2]), rel=0.02)


@pytest.mark.parametrize(
    "commands, cause",
    [
        (("load m94", "PLUGIN --points 2"), "failed: bad option: --points must be at least 4; got 2"),
        (("load m94", "PLUGIN --model nowhere/m.fit"), "nowhere does not exist"),
        (("PLUGIN",), "failed: no image is loaded in Siril: load one first"),
        (("PLUGIN --sequence missing_",), "failed: sequence missing_: no missing_.seq and no missing_00001.fit"),
        (("load tiny", "PLUGIN"), "downscale 8: the image (16x16) shrinks to 2x2 pixels"),
    ],
)
def test_failures_are_one_line_and_change_nothing(real_siril, tmp_path, commands, cause):
    _m94_with_gradient(tmp_path / "m94.fit")
    fits.PrimaryHDU(np.random.default_rng(0).random((16, 16), np.float32)).writeto(tmp_path / "tiny.fit")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    log = real_siril.run(tmp_path, *(c.replace("PLUGIN", real_siril.plugin()) for c in commands))

    (line,) = [m for m in _messages(log) if "Background Optimizer:" in m]
    assert cause in line, line
    assert not [m for m in _messages(log) if "Traceback" in m or "WARNING" in m]
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "test.ssf"}
    assert after == {name: data for name, data in before.items() if name != "test.ssf"}


def test_a_sequence_end_to_end_in_one_script(real_siril, tmp_path):
    """convert, our --sequence NAME, then register and stack the corrected sequence, headless."""
    stack = fits.getdata(M94).astype(np.float32)
    header = fits.getheader(M94)
    raw = tmp_path / "raw"
    raw.mkdir()
    for number, (dy, dx) in enumerate([(0, 0), (7, 4), (-5, 9), (3, -6)]):
        crop = stack[:, 500 + dy : 1300 + dy, 200 + dx : 800 + dx]
        sky = float(np.median(crop))
        gradient = injected_gradient(800, 600, sky * (1 + number) / 3)
        fits.PrimaryHDU((crop + gradient).astype(np.float32), header=header).writeto(raw / f"light{number}.fit")

    log = real_siril.run(tmp_path, "cd raw", "convert light -out=..", "cd ..",
                         real_siril.plugin("--sequence", "light_", "--epochs", "100"),
                         "register bkg_light_", "stack r_bkg_light_ rej 3 3 -norm=addscale -out=result")

    messages = _messages(log)
    summary = [m for m in messages if m.startswith("Background Optimizer: sequence light_:")]
    assert summary and "4 frames corrected" in summary[0] and "new sequence bkg_light_" in summary[0], log
    assert sorted(p.name for p in tmp_path.glob("bkg_light_*.fit")) == [f"bkg_light_{n:05d}.fit" for n in range(1, 5)]
    assert (tmp_path / "result.fit").is_file(), log
    for path in tmp_path.glob("bkg_light_*.fit"):
        assert _fitsverify(path) == f"verification OK: {path}"
    assert not [m for m in messages if re.search(r"WARNING|Traceback|Background Optimizer: .*failed", m)]



def test_areas_drawn_in_the_overlay_are_excluded(real_siril, tmp_path):
    from bgoptimizer.synthetic import make_scene

    scene = make_scene(900, 600, gradient_kind="mixed", nebula=False, seed=3)
    rows, cols = np.mgrid[0:600, 0:900]
    glow = 0.02 * np.exp(-((cols - 650) ** 2 + (rows - 170) ** 2) / (2 * 60.0**2))  # FITS row 170
    fits.PrimaryHDU((scene.image + glow[None]).astype(np.float32)).writeto(tmp_path / "sky.fit")
    # An area drawn around the glow, where Siril shows it: 429.5 from the top of the view.
    (tmp_path / "draw.py").write_text(
        "import math\nimport sirilpy as s\nsiril = s.SirilInterface()\nsiril.connect()\n"
        "points = [s.FPoint(650.5 + 180 * math.cos(a / 4), 429.5 + 180 * math.sin(a / 4)) for a in range(25)]\n"
        "siril.overlay_add_polygon(s.Polygon(points=points))\n")

    log = real_siril.run(tmp_path, "load sky", f"pyscript {tmp_path / 'draw.py'}",
                         real_siril.plugin("--exclude-polygons", "--no-protect-objects", "--epochs", "100"))

    _assert_clean_success(log)
    assert "Background Optimizer: 1 area drawn in Siril kept out of the fit" in _messages(log)
    model = fits.getdata(tmp_path / "sky_bgModel.fit")
    error = 100 * relative_rms(model, scene.background, np.ones(model.shape, bool))
    assert error < 0.3, error  # 1.7 % when the glow is not kept out
    history = " ".join(fits.getheader(tmp_path / "sky_bgModel.fit")["HISTORY"])  # wrapped at spaces
    assert history.endswith("excluded=1 area drawn in Siril"), history


SIRIL_GUI = SIRIL_CLI.with_name("siril")
SCREEN = (1366, 768)


def _xdotool(display: str, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True,
                          text=True, timeout=30).stdout


def _window(display: str, name: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _xdotool(display, "search", "--name", f"^{name}$").split()
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"no window {name!r} after {timeout} s")


def _screenshot(display: str, path: Path) -> np.ndarray:
    from PIL import ImageGrab

    shot = ImageGrab.grab(xdisplay=display)
    shot.save(path)  # to look at
    return np.asarray(shot.convert("RGB")).astype(float)


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(0.5)


def test_the_panel_in_the_siril_gui_at_1366x768(real_siril, display, tmp_path):
    """Opened from the Scripts menu of the real Siril, as a user does; every step leaves a screenshot."""
    if shutil.which("xdotool") is None:
        _unavailable("xdotool is not installed")
    home = tmp_path / "home"  # Siril's settings of a user who added our folder to the script folders
    (home / ".config" / "siril").mkdir(parents=True)
    (home / ".config" / "siril" / "config.1.4.ini").write_text(
        f"[gui]\nfirst_start=1.4.4\nscript_path={ENTRY_SCRIPT.parent};\nuse_scripts_repository=false\n"
        "warn_scripts_run=false\nsilent_quit=true\n")
    (home / ".local" / "share").mkdir(parents=True)
    (home / ".local" / "share" / "siril").symlink_to(real_siril.home / ".local" / "share" / "siril")  # its venv
    work = tmp_path / "work"
    work.mkdir()
    _m94_with_gradient(work / "m94.fit")
    log = (tmp_path / "siril.log").open("w")
    gui = subprocess.Popen([str(SIRIL_GUI), "-d", str(work), str(work / "m94.fit")], stdout=log,
                           stderr=subprocess.STDOUT, env=real_siril.env(HOME=str(home), DISPLAY=display))
    try:
        _window(display, "Siril-1.4.4", 60)
        _wait(lambda: "Reading FITS: file m94.fit" in (tmp_path / "siril.log").read_text(), 60, "image loaded")
        time.sleep(2)
        # Scripts (the third "..." button of the header bar) > Python Scripts > Siril_plugin > our script;
        # once more if a slow start swallowed a click (Escape closes a menu left open).
        for attempt in range(2):
            for step, (x, y) in enumerate(((447, 27), (500, 92), (740, 92), (900, 92)), 1):
                if step == 4:
                    _screenshot(display, tmp_path / f"1-scripts-menu-{attempt}.png")
                _xdotool(display, "mousemove", str(x), str(y))
                time.sleep(0.5)
                _xdotool(display, "mousemove", str(x + 3), str(y + 1), "click", "1")
                clicked = time.perf_counter()
                time.sleep(1.5)
            try:
                panel = _window(display, "Background Optimizer for Siril", 90)
                print(f"\nmenu click to panel shown: {time.perf_counter() - clicked:.1f} s")
                break
            except AssertionError:
                if attempt:
                    raise
                _xdotool(display, "key", "Escape")
        time.sleep(2)
        geometry = dict(line.split("=") for line in _xdotool(display, "getwindowgeometry", "--shell", panel).split())
        left, top, width, height = (int(geometry[key]) for key in ("X", "Y", "WIDTH", "HEIGHT"))
        assert left >= 0 and top >= 0 and left + width <= SCREEN[0] and top + height <= SCREEN[1], geometry
        # At the screen's right edge, above Siril, the preview beside the parameters: Siril's image view, its
        # left 300 px, stays free.
        assert left >= 300 and left + width >= SCREEN[0] - 16, geometry
        _screenshot(display, tmp_path / "2-panel.png")

        def press(keys: str) -> None:
            _xdotool(display, "windowfocus", panel)
            _xdotool(display, "key", keys)

        press("alt+p")

        def preview_shown() -> bool:  # however long the machine takes
            shown = _screenshot(display, tmp_path / "3-preview.png")
            # the panel's preview, at the right
            return shown[top + 80 : top + 500, left + width - 380 : left + width - 30].std() > 5

        _wait(preview_shown, 120, "the preview")

        def preview_area() -> np.ndarray:
            shown = _screenshot(display, tmp_path / "4-area-drawn.png")
            return shown[top + 80 : top + 500, left + width - 380 : left + width - 30].astype(float)

        before_area = preview_area()
        press("alt+d")  # then the area is drawn in Siril's image view: press, drag around, release
        time.sleep(1)
        _xdotool(display, "mousemove", "60", "200", "mousedown", "1")
        for x, y in ((200, 190), (260, 260), (240, 380), (120, 400), (50, 300)):
            _xdotool(display, "mousemove", str(x), str(y))
            time.sleep(0.2)
        _xdotool(display, "mouseup", "1")
        # The panel notices the area and dims it in its preview, however long the machine takes.
        _wait(lambda: np.abs(preview_area() - before_area).mean() > 1, 120, "the area dimmed in the preview")

        press("alt+r")  # perhaps while the refresh computes: Run then follows it, never dropped
        model = work / "m94_bgModel.fit"
        _wait(lambda: "Background Optimizer: done in" in (tmp_path / "siril.log").read_text(), 120, "Run")
        time.sleep(2)
        _screenshot(display, tmp_path / "5-after-run.png")
        history = " ".join(fits.getheader(model)["HISTORY"])  # wrapped at spaces
        assert history.endswith("excluded=1 area drawn in Siril"), history
        press("alt+b")
        time.sleep(1)
        _screenshot(display, tmp_path / "6-before.png")
        press("alt+o")
        _wait(lambda: not _xdotool(display, "search", "--name", "^Background Optimizer for Siril$").split(), 30,
              "panel closed")
        messages = _messages((tmp_path / "siril.log").read_text())
        assert not [m for m in messages if re.search(r"Traceback|Background Optimizer: failed", m)], messages

        # Issue 39, item 9: the model shown instead of the corrected image, then Siril's undo brings the image
        # back (commands typed into Siril's command line, as a user does; pyscript there runs the script
        # without its window).
        def command(text: str, then: str) -> None:
            _xdotool(display, "mousemove", "520", "667", "click", "1")
            _xdotool(display, "type", "--delay", "20", text)
            _xdotool(display, "key", "Return")
            _wait(lambda: then in (tmp_path / "siril.log").read_text(), 120, text)

        command("save before_show", "before_show.fit")
        command(f"pyscript {ENTRY_SCRIPT} --show-model --overwrite --epochs 20", "undo restores it")
        command("save shown", "shown.fit")
        _xdotool(display, "mousemove", "241", "27", "click", "1")  # Siril's undo button
        time.sleep(2)
        command("save undone", "undone.fit")
        _screenshot(display, tmp_path / "7-after-undo.png")
        # (the loaded image is before_show.fit since its save: its model is named after it)
        np.testing.assert_array_equal(fits.getdata(work / "shown.fit"), fits.getdata(work / "before_show_bgModel.fit"))
        np.testing.assert_array_equal(fits.getdata(work / "undone.fit"), fits.getdata(work / "before_show.fit"))
    finally:
        gui.terminate()
        gui.wait(timeout=30)
        log.close()


def test_a_sequence_normalized_to_its_reference_then_stacked(real_siril, tmp_path):
    """convert registered frames whose gradient and transparency change, our --sequence NAME --normalize,
    then Siril's stack of the norm_ sequence, headless; the frames' backgrounds then agree."""
    stack = fits.getdata(M94).astype(np.float32)
    header = fits.getheader(M94)
    raw = tmp_path / "raw"
    raw.mkdir()
    crop = stack[:, 500:1100, 200:1000]
    sky = float(np.median(crop))
    for number, scale in enumerate((1.0, 0.9, 0.8)):
        gradient = injected_gradient(600, 800, sky * (1 + number))
        frame = scale * crop + (gradient if number % 2 else gradient[::-1])
        fits.PrimaryHDU(frame.astype(np.float32), header=header).writeto(raw / f"light{number}.fit")

    log = real_siril.run(tmp_path, "cd raw", "convert light -out=..", "cd ..",
                         real_siril.plugin("--sequence", "light_", "--normalize"),
                         "stack norm_light_ rej 3 3 -norm=addscale -out=result")

    messages = _messages(log)
    summary = [m for m in messages if m.startswith("Background Optimizer: sequence light_:")]
    assert summary and "3 frames normalized" in summary[0] and "new sequence norm_light_" in summary[0], log
    assert (tmp_path / "norm_light_.seq").is_file() and (tmp_path / "result.fit").is_file(), log
    reference = fits.getdata(tmp_path / "light_00001.fit")
    np.testing.assert_array_equal(fits.getdata(tmp_path / "norm_light_00001.fit"), reference)
    for number in (2, 3):
        path = tmp_path / f"norm_light_{number:05d}.fit"
        assert _fitsverify(path) == f"verification OK: {path}"
        offsets = fits.getdata(path) - reference
        before = fits.getdata(tmp_path / f"light_{number:05d}.fit") - reference
        assert np.ptp(np.median(offsets[0].reshape(6, 100, 8, 100), axis=(1, 3))) < 0.1 * np.ptp(
            np.median(before[0].reshape(6, 100, 8, 100), axis=(1, 3)))
    assert not [m for m in messages if re.search(r"WARNING|Traceback|Background Optimizer: .*failed", m)]
