"""Shared fixtures: the real test data beside the project, and injected gradients."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# FitReport.summary(): the one sentence in which every front end reports a fit (CPU runs).
FIT_SENTENCE = (r"(final loss \d\.\d{5} after \d+ iterations( \(the robust start kept: no step improved on it\))?|"
                r"fitted) on CPU \(\d+ threads?\)(; smoothing lowered to [0-9.e-]+ to follow a steep gradient)?;"
                r" \d+ background samples, "
                r"\d+% of the frame masked as objects; prepare \d+\.\d\ds, fit \d+\.\d\ds,"
                r" reconstruct \d+\.\d\ds, correct \d+\.\d\ds")
REAL = DATA / "real"
XISF = DATA / "xisf"
M94 = REAL / "m94_seestar_stack_siril.fit"
RAW_U16 = REAL / "seestar_raw_sub_bayer_u16.fit"


_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@pytest.fixture(autouse=True)
def signals_stay_the_runners(monkeypatch):
    """The suite never takes over signals: handlers the code under test installs are gone after each test,
    and a signal meant for pytest (Ctrl-C, a batch system's SIGTERM) that arrives while a test runs the
    command line in-process (which turns it into a clean stop of its run) still stops the whole suite.
    A test that signals itself says so through :func:`send_own_signal`."""
    import bgoptimizer.interrupts as interrupts

    before = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    received: list[int] = []
    original = interrupts._raise

    def counted(signum, frame):
        received.append(signum)
        return original(signum, frame)

    monkeypatch.setattr(interrupts, "_raise", counted)
    expected = _OWN_SIGNALS.setdefault("count", 0)
    yield
    left = {signum: handler for signum, handler in before.items() if signal.getsignal(signum) is not handler}
    for signum, handler in before.items():
        signal.signal(signum, handler)
    foreign = received[_OWN_SIGNALS["count"] - expected:]
    if foreign:
        pytest.exit(f"stopped by {signal.Signals(foreign[0]).name}", returncode=128 + foreign[0])
    assert not left, f"the test left signal handlers installed: {left}"


_OWN_SIGNALS: dict[str, int] = {}


def send_own_signal(signum: int) -> None:
    """Signal this process on purpose (a test of the command line's own handling), so that the suite does
    not take it for a stop meant for itself. ``raise_signal`` delivers it to this thread before it returns;
    ``os.kill`` let the kernel pick any thread (torch's included), and under load the handler ran late."""
    _OWN_SIGNALS["count"] = _OWN_SIGNALS.get("count", 0) + 1
    signal.raise_signal(signum)


def injected_gradient(height: int, width: int, peak_to_peak: float) -> np.ndarray:
    """Linear tilt + corner dome + radial falloff, ``(H, W)``, with the given peak-to-peak."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / width, y / height
    surface = (
        0.6 * u
        + 0.3 * v
        + np.exp(-((u - 1.0) ** 2 + (v - 1.0) ** 2) / 0.3)
        - 0.5 * ((u - 0.5) ** 2 + (v - 0.5) ** 2) / 0.5
    )
    surface -= surface.min()
    return (surface / surface.max() * peak_to_peak).astype(np.float32)


def relative_rms(recovered: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> float:
    """RMS of (recovered - truth) with the constant offset removed, over truth's peak-to-peak."""
    difference = (recovered - truth)[valid].astype(np.float64)
    difference -= difference.mean()
    return float(np.sqrt(np.mean(difference**2)) / np.ptp(truth))


@pytest.fixture(scope="session")
def m94() -> np.ndarray:
    from bgoptimizer.io import read_image

    return read_image(M94).data


PLUGIN_DIR = Path(__file__).resolve().parents[1] / "siril_plugin"
ENTRY_SCRIPT = PLUGIN_DIR / "Background_Optimizer.py"


def run_script(monkeypatch, *argv: str) -> None:
    """What ``pyscript Background_Optimizer.py ARGS`` does: run the entry script as __main__ (whose
    process ends with ``end_process``: here the test's own, so that is left out; the real Siril tests run it)."""
    import runpy

    import bgoptimizer

    monkeypatch.setattr(sys, "argv", [str(ENTRY_SCRIPT), *argv])
    monkeypatch.setattr(bgoptimizer, "end_process", lambda code: None)
    runpy.run_path(str(ENTRY_SCRIPT), run_name="__main__")


@pytest.fixture
def sirilpy(monkeypatch):
    """The sirilpy test double installed as ``sirilpy`` (the plugin's package is the installed
    distribution's, as in Siril: the source tree is not put on the path)."""
    from . import sirilpy_double

    monkeypatch.setitem(sys.modules, "sirilpy", sirilpy_double)
    yield sirilpy_double
    sirilpy_double.STATE = None


@pytest.fixture
def siril(sirilpy, tmp_path):
    """A headless Siril with nothing loaded; its working directory is the test's temp dir."""
    sirilpy.STATE = sirilpy.SirilState(wd=tmp_path)
    return sirilpy.STATE


def load_into(state, path: Path, pixels: np.ndarray, header=None) -> None:
    """Write ``pixels`` as a FITS file with ``header`` (M94's keywords by default) and make it Siril's
    loaded image."""
    from astropy.io import fits

    from .sirilpy_double import siril_header_text

    fits.PrimaryHDU(pixels, header=fits.getheader(M94) if header is None else header).writeto(path, overwrite=True)
    state.image = pixels.copy()
    state.header = siril_header_text(fits.getheader(path))
    state.filename = str(path)


@pytest.fixture(scope="session")
def display():
    """A private Xvfb display; the panel test is skipped only when Xvfb is not installed."""
    pytest.importorskip("tkinter", reason="this Python has no Tk (Debian: apt-get install python3-tk)")
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb)")
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 20
    while not socket.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not socket.exists():
        server.kill()
        pytest.fail(f"Xvfb :{number} did not start")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)
