"""The Siril plugin, headless (``pyscript``), against the sirilpy test double and real data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
from astropy.io import fits

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # 3.10: the same parser as a package
    import tomli as tomllib

from bgoptimizer import Parameters, __version__, extract_background

from .conftest import (
    ENTRY_SCRIPT,
    PLUGIN_DIR,
    RAW_U16,
    injected_gradient,
    load_into,
    relative_rms,
    run_script,
)

ROOT = PLUGIN_DIR.parent
MANIFEST = ROOT / "manifest" / "siril-bgoptimizer.json"


@pytest.fixture(scope="module")
def m94_own_background(m94):
    """The model of the un-injected stack (its own faint gradient), with the plugin's default parameters."""
    return extract_background(m94, Parameters()).background


def test_headless_run_replaces_image_and_saves_model(siril, sirilpy, m94, m94_own_background, monkeypatch, tmp_path):
    valid = m94 > 0
    shape = injected_gradient(*m94.shape[1:], float(np.median(m94[valid])))
    gradient = np.stack([shape, 0.8 * shape, 0.6 * shape])
    injected = np.where(valid, m94 + gradient, 0.0).astype(np.float32)
    load_into(siril, tmp_path / "m94_injected.fit", injected)

    run_script(monkeypatch)

    assert siril.lines(sirilpy.LogColor.RED) == []
    (summary,) = [line for line in siril.lines(sirilpy.LogColor.GREEN) if "done in" in line]
    model_path = tmp_path / "m94_injected_bgModel.fit"
    # In a user's terms (issue 41, item 1): time, objects kept out, the sky before and after (neutral: one
    # level), what changed, where the model is; then where and how the fit ran, without the optimizer's words.
    sky = np.median([np.median(channel[channel > 0]) for channel in injected])
    done = (rf"^Background Optimizer: done in \d+\.\d s: \d+% of the frame kept out as objects; "
            rf"sky (0\.\d{{4}} / ){{2}}0\.\d{{4}} → (0\.\d{{4}}); loaded image replaced by the corrected image; "
            rf"background model: {re.escape(str(model_path))}; fit on CPU \(\d+ threads?\); \d+ background "
            r"samples; prepare \d+\.\d\ds, fit \d+\.\d\ds, reconstruct \d+\.\d\ds, correct \d+\.\d\ds$")
    match = re.search(done, summary)
    assert match, summary
    assert abs(float(match[2]) - sky) < 0.1 * sky and "loss" not in summary and "iteration" not in summary
    # Every dependency is there: nothing installed, nothing logged about it.
    assert siril.installed == [] and not [line for line in siril.lines() if "install" in line]
    # The model file: the injected gradient recovered, the image's header kept.
    model = fits.getdata(model_path).astype(np.float32)
    header = fits.getheader(model_path)
    assert header["INSTRUME"] == "Seestar S50" and header["STACKCNT"] == 7
    assert "END" not in [card.keyword for card in header.cards]  # Siril's END + NUL is not a card
    assert any("bgoptimizer" in str(line) for line in header["HISTORY"])
    errors = [relative_rms(r, g, v) for r, g, v in zip(model - m94_own_background, gradient, valid)]
    assert max(errors) <= 0.03, errors
    # The loaded image was replaced once, as float32, by the image minus that model (plus a level).
    assert siril.pixels_set == 1
    corrected = siril.image
    assert corrected.dtype == np.float32 and corrected.shape == injected.shape
    sky = np.mean([np.median(injected[channel][valid[channel]]) for channel in range(3)])
    for channel in range(3):
        v = valid[channel]
        difference = corrected[channel][v] - (injected[channel][v] - model[channel][v])
        assert np.std(difference) < 1e-5
        assert abs(np.median(corrected[channel][v]) - sky) < 0.2 * np.ptp(shape)  # one sky level: neutral
    assert siril.progress and siril.progress[-1] == ("", 0.0)  # progress shown, then reset


def test_headless_uint16_mono_frame_comes_back_16_bit_2d(siril, sirilpy, monkeypatch, tmp_path):
    raw = fits.getdata(RAW_U16)  # 16-bit camera frame, BZERO 32768
    pixels = raw.astype(np.uint16)
    load_into(siril, tmp_path / "raw.fit", pixels)

    run_script(monkeypatch, "--epochs", "50", "--no-model")

    assert siril.lines(sirilpy.LogColor.RED) == []
    assert siril.image.dtype == np.uint16 and siril.image.shape == pixels.shape  # Siril's bit depth kept
    assert not list(tmp_path.glob("*_bgModel.fit"))
    # Scaled to [0, 1] on the way in and back to 16 bits: the corrected level stays near the input's.
    assert abs(float(np.median(siril.image)) - float(np.median(pixels))) < 0.05 * float(np.median(pixels))


def test_show_model_shows_the_model_and_undo_restores_the_image(siril, sirilpy, m94, monkeypatch, tmp_path):
    """Issue 39, item 9: the model is shown in the loaded image after an undo state (Siril's `load` would
    replace the user's unsaved image with no way back)."""
    crop = np.ascontiguousarray(m94[:, :400, :300])
    load_into(siril, tmp_path / "crop.fit", crop)
    (tmp_path / "models").mkdir()

    run_script(monkeypatch, "--epochs", "30", "--show-model", "--model", "models/crop_model.fits")

    model_path = tmp_path / "models" / "crop_model.fits"
    assert siril.lines(sirilpy.LogColor.RED) == []
    assert siril.commands == []  # nothing loaded over the image
    assert siril.pixels_set == 1
    np.testing.assert_array_equal(siril.image, fits.getdata(model_path))
    (summary,) = [line for line in siril.lines(sirilpy.LogColor.GREEN) if "done in" in line]
    assert "loaded image replaced by the background model (undo restores it)" in summary
    # In the GUI (where Siril keeps undo states) the state is saved before the model is shown.
    from bgoptimizer import RunOptions
    from bgoptimizer_siril.loaded_image import process_loaded_image
    from bgoptimizer_siril.options import OutputOptions

    siril.cli, siril.pixels_set = False, 0
    load_into(siril, tmp_path / "crop.fit", crop)
    outcome = process_loaded_image(sirilpy.SirilInterface(), Parameters(epochs=30),
                                   OutputOptions(RunOptions(overwrite=True), replace=False, show_model=True,
                                                 model_path=str(model_path)))
    assert outcome.shows_model and siril.undo == ["Background Optimizer"] and siril.pixels_set == 1


def test_a_script_run_twice_replaces_its_own_model_only(siril, sirilpy, m94, monkeypatch, tmp_path):
    """Issue 39, item 10: Siril goes on after a failed pyscript, so the second run of a script must not fail
    on the model the first wrote for the same image; any other file at that name is still refused."""
    crop = np.ascontiguousarray(m94[:, :300, :400])
    load_into(siril, tmp_path / "scene.fit", crop)
    model_path = tmp_path / "scene_bgModel.fit"
    run_script(monkeypatch, "--epochs", "20")
    first = model_path.read_bytes()
    load_into(siril, tmp_path / "scene.fit", crop * 1.5)
    siril.logs.clear()
    siril.pixels_set = 0
    run_script(monkeypatch, "--epochs", "20")
    assert siril.lines(sirilpy.LogColor.RED) == []
    assert model_path.read_bytes() != first and siril.pixels_set == 1
    # Not ours (no HISTORY of this tool), or ours for an image of another size: refused, nothing changed.
    for name, content, pixels in (("scene_bgModel.fit", None, crop), ("other_bgModel.fit", first, crop[:, :200])):
        target = tmp_path / name
        if content is None:
            fits.PrimaryHDU(np.ones((10, 10), np.float32)).writeto(target, overwrite=True)
        else:
            target.write_bytes(content)
        load_into(siril, tmp_path / name.replace("_bgModel", ""), np.ascontiguousarray(pixels))
        before = target.read_bytes()
        siril.logs.clear()
        siril.pixels_set = 0
        run_script(monkeypatch, "--epochs", "20")
        (line,) = siril.lines(sirilpy.LogColor.RED)
        assert line.startswith("Background Optimizer: failed: ") and "already exist" in line, line
        assert target.read_bytes() == before and siril.pixels_set == 0


def _small_image(siril, m94, tmp_path) -> np.ndarray:
    crop = np.ascontiguousarray(m94[:, :240, :320])
    load_into(siril, tmp_path / "small.fit", crop)
    return crop


@pytest.mark.parametrize(
    "situation, argv, cause",
    [
        ("no image", (), "failed: no image is loaded in Siril: load one first"),
        ("busy", (), "Siril is busy"),
        ("dialog", (), "dialog is open"),
        ("fine", ("--points", "2"), "bad option: --points must be at least 4"),
        ("fine", ("--quantile", "high"), "bad option: argument --quantile: invalid float value: 'high'"),
        ("fine", ("--order", "6"), "bad option: argument --order"),
        ("fine", ("--bogus",), "bad option: unrecognized arguments: --bogus"),
        ("fine", ("--threshold-min", "0.999"), "downscaled pixels are background (1198 outside --threshold-min"),
        ("fine", ("--model", "small.fit"), "small.fit: is an input of this run and would be overwritten"),
        ("fine", ("--mask", "missing_mask.fits"), "missing_mask.fits: no such file"),
        ("fine", ("--model", "nowhere/m.fit"), "nowhere does not exist"),
        ("out of memory", (), "failed: out of memory; try a larger --downscale, fewer --points, or --device cpu "
                              "if the GPU ran out (OutOfMemoryError)"),  # the CLI's words (test_batch)
    ],
)
def test_headless_failures_are_logged_red_and_change_nothing(
    siril, sirilpy, m94, monkeypatch, tmp_path, capsys, situation, argv, cause
):
    before = None if situation == "no image" else _small_image(siril, m94, tmp_path)
    siril.busy = situation == "busy"
    siril.dialog_open = situation == "dialog"
    if situation == "out of memory":
        import torch

        import bgoptimizer.runs.frame as frame

        def exhausted(*args, **kwargs):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

        monkeypatch.setattr(frame, "extract_frame_background", exhausted)

    run_script(monkeypatch, "--epochs", "20", *argv)

    (line,) = siril.lines(sirilpy.LogColor.RED)
    assert cause in line, line
    assert "Traceback" not in capsys.readouterr().err  # the user's situation, not a bug
    assert siril.lines(sirilpy.LogColor.GREEN) == []
    assert siril.pixels_set == 0
    if before is not None:
        np.testing.assert_array_equal(siril.image, before)
    assert not list(tmp_path.glob("*_bgModel.fit"))


def test_old_sirilpy_is_refused(siril, sirilpy, m94, monkeypatch, tmp_path):
    before = _small_image(siril, m94, tmp_path)
    monkeypatch.setattr(sirilpy, "__version__", "1.0.7")
    run_script(monkeypatch)
    (line,) = siril.lines(sirilpy.LogColor.RED)
    assert "needs Siril 1.4.0 or newer (sirilpy 1.0.8 or newer)" in line
    assert siril.installed == [] and siril.pixels_set == 0
    np.testing.assert_array_equal(siril.image, before)


def test_outside_siril_the_connection_error_surfaces(sirilpy, monkeypatch):
    with pytest.raises(sirilpy.SirilConnectionError):
        run_script(monkeypatch)


def test_headless_options_are_the_cli_options(sirilpy):
    from bgoptimizer.command_line.main import build_parser as cli_parser
    from bgoptimizer.params import parameter_specs
    from bgoptimizer_siril.options import SIRIL_DECIDES, build_parser, parse_arguments

    plugin = {a.dest: a.default for a in build_parser()._actions}
    cli = {a.dest: a.default for a in cli_parser()._actions}
    for spec in parameter_specs():
        if spec.name in SIRIL_DECIDES:
            assert spec.name not in plugin
        else:
            assert plugin[spec.name] == cli[spec.name] == spec.default
    params, output = parse_arguments(["--points", "48", "--order", "3", "--mode", "divide", "--device", "cpu"])
    assert params == Parameters(points=48, order=3, mode="divide")
    assert output.replace and output.save_model and not output.sequence and output.run.device == "cpu"
    assert "--poly-degree" in build_parser().format_help()  # help texts with a literal % format too


def test_output_options_are_declared_once_with_the_settings_spec(sirilpy):
    from bgoptimizer import ParameterError, specs_of
    from bgoptimizer_siril.options import OutputOptions, build_parser, parse_arguments

    helps = {action.dest: action.help for action in build_parser()._actions}
    specs = {spec.name: spec for spec in specs_of(OutputOptions)}
    for name in ("model_path", "show_model", "sequence", "save_models", "exclude_polygons"):
        assert helps[name] == specs[name].help
    assert specs["prefix"].help in helps["prefix"] and specs["replace"].label == "Replace the loaded image"
    with pytest.raises(ParameterError) as raised:
        OutputOptions(prefix="out/")
    assert raised.value.parameters == ("prefix",)
    with pytest.raises(ParameterError, match="replace must be on or off"):
        OutputOptions(replace="yes")  # typed and checked like the core's settings
    _, sequence = parse_arguments(["--sequence", "light_", "--save-models"])
    _, image = parse_arguments(["--show-model", "--no-model"])
    assert sequence.saves_model and sequence.sequence_name == "light_" and image.saves_model  # shown: saved


def test_manifest_agrees_with_pyproject_and_entry_script():
    manifest = json.loads(MANIFEST.read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["version"] == __version__ == metadata.version(project["name"])
    source = ENTRY_SCRIPT.read_text()
    # The one-file script: its version, the engine it installs, the header Siril's script repository asks for.
    assert f'VERSION = "{__version__}"' in source and f'ENGINE = "{project["name"]}"' in source
    assert f"version {__version__}:" in source.splitlines()[2] and source.startswith("# SPDX-License-Identifier: ")
    assert source.splitlines()[0].endswith(project["license"])
    assert manifest["name"] == project["name"]
    assert manifest["requirements"] == project["dependencies"]
    assert manifest["engine"] == f"{project['name']}>={__version__}"  # what the script installs
    assert manifest["category"] == "processing"
    assert (ROOT / manifest["entry"]).resolve() == ENTRY_SCRIPT
    first_check = re.search(r'check_module_version\("([^"]*)"\)', source)
    assert first_check.group(1) == f'>={manifest["min_sirilpy_version"]}'  # the first literal: Siril reads it
    assert "cmd(" not in source  # a command would log "Running command" (red in the GUI) on every run
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["min_siril_version"])
    # Siril lists every .py of a script folder: only the entry script may be there.
    assert [p.name for p in PLUGIN_DIR.glob("*.py")] == [ENTRY_SCRIPT.name]



def test_a_model_from_an_earlier_run_is_replaced_only_with_overwrite(siril, sirilpy, m94, monkeypatch, tmp_path):
    before = _small_image(siril, m94, tmp_path)
    model_path = tmp_path / "small_bgModel.fit"
    model_path.write_bytes(b"the user's earlier model")

    run_script(monkeypatch, "--epochs", "20")  # refused before the fit: nothing changes

    (line,) = siril.lines(sirilpy.LogColor.RED)
    assert f"{model_path}: already exists" in line and "use --overwrite" in line
    assert model_path.read_bytes() == b"the user's earlier model"
    assert siril.pixels_set == 0
    np.testing.assert_array_equal(siril.image, before)

    run_script(monkeypatch, "--epochs", "20", "--overwrite")

    assert len(siril.lines(sirilpy.LogColor.RED)) == 1  # the first run's line only
    assert fits.getdata(model_path).shape == before.shape and siril.pixels_set == 1


def test_scarce_background_is_a_warning_not_a_failure(siril, sirilpy, m94, monkeypatch, tmp_path):
    load_into(siril, tmp_path / "tiny.fit", np.ascontiguousarray(m94[:, :100, :120]))

    run_script(monkeypatch, "--epochs", "20")

    assert siril.lines(sirilpy.LogColor.RED) == []
    (warning,) = siril.lines(sirilpy.LogColor.SALMON)
    assert "background samples for 64 control points: too few to trust the model" in warning
    assert [line for line in siril.lines(sirilpy.LogColor.GREEN) if "of the frame kept out as objects" in line]


@pytest.fixture
def no_engine(monkeypatch):
    """Siril's venv without the engine: its metadata absent, and pip's runs recorded (or failing)."""
    real_version = metadata.version
    calls: list[list[str]] = []

    def version(name: str) -> str:
        if name == "siril-bgoptimizer" and not calls:
            raise metadata.PackageNotFoundError(name)
        return real_version(name)

    def pip(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, no_engine.returncode, "", "ERROR: No matching distribution")

    no_engine.returncode = 0
    monkeypatch.setattr(metadata, "version", version)
    monkeypatch.setattr(subprocess, "run", pip)
    no_engine.calls = calls
    return no_engine


def test_the_script_installs_the_engine_once_without_its_dependencies(siril, sirilpy, m94, monkeypatch, tmp_path,
                                                                      no_engine):
    _small_image(siril, m94, tmp_path)
    run_script(monkeypatch, "--epochs", "20")
    (command,) = no_engine.calls
    assert command[-3:] == ["--no-deps", "--upgrade", f"siril-bgoptimizer>={__version__}"]
    assert siril.lines()[0] == f"Background Optimizer: installing siril-bgoptimizer {__version__} or newer (once)"
    assert siril.lines(sirilpy.LogColor.RED) == [] and siril.pixels_set == 1

    run_script(monkeypatch, "--epochs", "20", "--overwrite")  # installed now: nothing more
    assert len(no_engine.calls) == 1 and siril.pixels_set == 2


def test_an_engine_pip_cannot_install_is_named_with_what_to_do(siril, sirilpy, m94, monkeypatch, tmp_path, no_engine):
    before = _small_image(siril, m94, tmp_path)
    no_engine.returncode = 1
    run_script(monkeypatch)
    (line,) = siril.lines(sirilpy.LogColor.RED)
    assert "siril-bgoptimizer 0.1.0 could not be installed (ERROR: No matching distribution)" in line
    assert "-m pip install --no-deps siril_bgoptimizer-0.1.0-py3-none-any.whl" in line
    np.testing.assert_array_equal(siril.image, before)


def test_help_needs_no_torch(siril, sirilpy, monkeypatch, capsys):
    for name in [name for name in sys.modules if name == "torch" or name.startswith("torch.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # importing torch fails, as in a venv without it
    for name in [name for name in sys.modules if name.startswith(("bgoptimizer.", "bgoptimizer_siril"))]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh, as in Siril's new process
    run_script(monkeypatch, "--help")
    text = capsys.readouterr().out
    assert "--sequence" in text and "--points" in text and "--threshold-min" in text
    assert siril.installed == [] and siril.lines(sirilpy.LogColor.RED) == []


def test_only_missing_dependencies_are_installed(siril, sirilpy, m94, monkeypatch, tmp_path):
    from bgoptimizer_siril import dependencies

    _small_image(siril, m94, tmp_path)
    real = dependencies.requirements
    monkeypatch.setattr(dependencies, "requirements", lambda: [*real(), ("numpy", ">=999")])

    run_script(monkeypatch, "--epochs", "20")

    assert siril.installed == [("numpy", ">=999")]  # the one unmet requirement
    assert "installing numpy (once)" in siril.lines()[0]


@pytest.mark.parametrize(
    "backend, platform, index",
    [
        ({"backend": "cuda", "extra_index_url": "https://download.pytorch.org/whl/cu128"}, "linux",
         "https://download.pytorch.org/whl/cu128"),
        ({"backend": "rocm", "extra_index_url": "https://download.pytorch.org/whl/rocm7.1"}, "win32",
         "https://download.pytorch.org/whl/rocm7.1"),
        ({"backend": "cpu", "extra_index_url": None}, "linux", "https://download.pytorch.org/whl/cpu"),
        (None, "linux", "https://download.pytorch.org/whl/cpu"),  # sirilpy without TorchHelper
        ({"backend": "cpu", "extra_index_url": None}, "win32", None),  # PyPI's torch is the CPU build there
        ({"backend": "mps", "extra_index_url": None}, "darwin", None),
    ],
)
def test_torch_is_installed_in_the_build_for_the_machine(sirilpy, backend, platform, index):
    from bgoptimizer_siril.dependencies import torch_install_command

    command = torch_install_command(">=2.1", backend, platform, "python")
    assert command[:5] == ["python", "-m", "pip", "install", "torch>=2.1"]
    assert command[5:] == (["--index-url", index] if index else [])


def test_areas_drawn_in_siril_are_kept_out_of_the_fit_and_recorded(siril, sirilpy, monkeypatch, tmp_path):
    from bgoptimizer.synthetic import make_scene

    scene = make_scene(900, 600, gradient_kind="mixed", nebula=False, seed=3)
    rows, cols = np.mgrid[0:600, 0:900]
    glow = 0.02 * np.exp(-((cols - 650) ** 2 + (rows - 170) ** 2) / (2 * 60.0**2))  # FITS row 170
    sky = (scene.image + glow[None]).astype(np.float32)
    # The user outlines the glow in Siril's view, which shows FITS row 170 at 429.5 from the top.
    angle = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    outline = [sirilpy.FPoint(650.5 + 180 * np.cos(a), 600 - 0.5 - 170 + 180 * np.sin(a)) for a in angle]
    siril.polygons.append(sirilpy.Polygon(points=outline, color=0x00FF0040, polygon_id=7))
    valid = np.ones(scene.image.shape, bool)

    def model_error(*options: str) -> float:
        load_into(siril, tmp_path / "sky.fit", sky)
        run_script(monkeypatch, "--no-protect-objects", "--epochs", "100", "--overwrite", *options)
        return 100 * relative_rms(fits.getdata(tmp_path / "sky_bgModel.fit"), scene.background, valid)

    assert model_error() > 1.2  # the outline is not used unless asked for: 1.7 % measured
    assert model_error("--exclude-polygons") < 0.3  # 0.13 % measured
    assert "Background Optimizer: 1 area drawn in Siril kept out of the fit" in siril.lines()
    history = " ".join(fits.getheader(tmp_path / "sky_bgModel.fit")["HISTORY"])  # wrapped at spaces
    assert "background model;" in history and history.endswith("excluded=1 area drawn in Siril")
    assert siril.lines(sirilpy.LogColor.RED) == []


def test_asking_for_drawn_areas_when_there_is_none_warns_and_runs(siril, sirilpy, m94, monkeypatch, tmp_path):
    before = _small_image(siril, m94, tmp_path)
    run_script(monkeypatch, "--exclude-polygons", "--epochs", "20")
    assert siril.lines(sirilpy.LogColor.SALMON) == [
        "Background Optimizer: warning: no area is drawn in Siril's view; nothing is excluded"]
    assert siril.pixels_set == 1 and not np.array_equal(siril.image, before)


def test_the_model_follows_sirils_fits_extension(siril, sirilpy, m94, monkeypatch, tmp_path):
    """Issue 41, item 7: with Siril's extension preference at .fits (setext fits) the model is .fits."""
    load_into(siril, tmp_path / "crop.fit", np.ascontiguousarray(m94[:, :300, :400]))
    siril.extension = ".fits"
    run_script(monkeypatch, "--epochs", "20")
    assert siril.lines(sirilpy.LogColor.RED) == []
    assert sorted(p.name for p in tmp_path.glob("crop_bgModel*")) == ["crop_bgModel.fits"]


def test_progress_speaks_in_sentences(sirilpy):
    """Issue 41, item 1: Siril's progress bar and the panel's status say what is happening, not a step name."""
    from bgoptimizer_siril.loaded_image import spoken

    assert spoken("stretch and downscale") == "Stretching and downscaling the image…"
    assert spoken("fit 10/500, loss 0.19531") == "Fitting the background model…"
    assert spoken("frame 2/5 (a.fit): reconstruct") == "Frame 2/5 (a.fit): Computing the model at full size…"
    assert spoken("write m94_bgSubtracted.fit") == "Writing m94_bgSubtracted.fit…"


def test_panel_tooltips_are_written_for_the_panel(sirilpy):
    """Issue 41, item 1: the sequence box's tooltip was the batch text (NAME, load_seq)."""
    from bgoptimizer_siril.options import OutputOptions, output_spec

    for name in ("replace", "save_model", "show_model", "sequence", "normalize", "prefix"):  # the panel's
        tip = output_spec(name).panel_help
        assert not re.search(r"NAME|load_seq|--|batch script", tip), (name, tip)
    assert "NAME" in output_spec("sequence").help  # the batch help keeps its words
    assert OutputOptions().sequence is False


def test_a_headless_run_reads_the_image_before_it_imports_torch(tmp_path):
    """Issue 41, item 8: in Siril, torch (about 1 s to import) loads in a thread while Siril hands over the image
    (0.2 s at 3000x2000 RGB): the headless run imports nothing that needs torch until it has the pixels.
    A fresh interpreter, since this one has torch already."""
    probe = f"""
import sys
from pathlib import Path
import numpy as np
from tests import sirilpy_double
sys.modules["sirilpy"] = sirilpy_double
from bgoptimizer_siril.headless import run_headless
print("torch before:", "torch" in sys.modules)
read = sirilpy_double.SirilInterface.get_image_pixeldata
def watched(self, *args, **kwargs):
    print("torch at the read:", "torch" in sys.modules)
    return read(self, *args, **kwargs)
sirilpy_double.SirilInterface.get_image_pixeldata = watched
state = sirilpy_double.STATE = sirilpy_double.SirilState(wd=Path({str(tmp_path)!r}))
state.image = np.random.default_rng(1).normal(0.2, 0.01, (3, 300, 450)).astype(np.float32)
state.filename = str(Path({str(tmp_path)!r}) / "sky.fit")
print("succeeded:", run_headless(sirilpy_double.SirilInterface(), ["--no-model"]))
print("torch after:", "torch" in sys.modules)
"""
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout.split("\n")[:4] == ["torch before: False", "torch at the read: False", "succeeded: True",
                                          "torch after: True"], run.stdout + run.stderr


def test_the_headless_torch_import_runs_without_cyclic_collections():
    """torch's import leaves a few hundred thousand long-lived objects; with the collector running during it, a
    3000x2000 RGB run in Siril took 3.60-4.16 s (bench/in_siril.py, quiet machine), with it paused 3.45-3.49 s.
    A fresh interpreter, since this one has torch already."""
    probe = """
import gc
from bgoptimizer_siril.app import _import_torch
collections = []
gc.callbacks.append(lambda phase, info: collections.append(phase) if phase == "start" else None)
_import_torch()
print(len(collections), gc.isenabled(), gc.get_freeze_count() > 100_000)
"""
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout.split() == ["0", "True", "True"], run.stdout + run.stderr
