"""The command line end to end, and every bad-input path: message, exit code, no output."""

import gc
import importlib
import re
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from bgoptimizer import Parameters, __version__, extract_background, parameter_specs
from bgoptimizer.command_line.demo import main as demo_main
from bgoptimizer.command_line.entry import main as entry_main
from bgoptimizer.command_line.main import build_parser, main
from bgoptimizer.io import read_image, write_image
from bgoptimizer.synthetic import make_scene

from .conftest import FIT_SENTENCE


@pytest.fixture
def sky_file(tmp_path):
    scene = make_scene(400, 300, nebula=False, seed=3)
    header = fits.Header()
    header["OBSERVER"] = "tester"
    return write_image(tmp_path / "sky.fits", scene.image, header)


def _outputs(folder):
    return sorted(p.name for p in folder.iterdir() if "_bg" in p.name or p.suffix == ".png")


def test_every_parameter_is_an_option_with_its_default():
    parser = build_parser()
    defaults = parser.parse_args(["x.fits"])
    for name, value in Parameters().as_dict().items():
        assert getattr(defaults, name) == value
    args = parser.parse_args(["x.fits", "--threshold-min", "0.01", "--downscale-func", "mean", "--compress"])
    assert (args.threshold_min, args.downscale_func, args.compress) == (0.01, "mean", True)


def test_help_lists_every_parameter(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    printed = " ".join(capsys.readouterr().out.split())
    for spec in parameter_specs():
        assert spec.flag in printed
    assert "within 0.1 % of the model's range" in printed  # a literal % in a help text


def test_folder_input_leaves_earlier_outputs_alone(sky_file, tmp_path):
    folder = sky_file.parent
    assert main([str(folder), "--epochs", "20"]) == 0
    assert _outputs(folder) == ["sky_bgModel.fits", "sky_bgSubtracted.fits"]
    assert main([str(folder), "--epochs", "20", "--overwrite"]) == 0  # again: only sky.fits is an input
    assert _outputs(folder) == ["sky_bgModel.fits", "sky_bgSubtracted.fits"]
    out = tmp_path / "out"
    for _ in range(2):  # the second time the folder holds outputs only: still the output folder
        assert main([str(sky_file), str(out), "--epochs", "20", "--overwrite"]) == 0
        assert _outputs(out) == ["sky_bgModel.fits", "sky_bgSubtracted.fits"]


def test_run_writes_both_outputs_with_history(sky_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(sky_file), str(out), "--epochs", "50", "--format", "xisf"]) == 0
    assert _outputs(out) == ["sky_bgModel.xisf", "sky_bgSubtracted.xisf"]
    corrected = read_image(out / "sky_bgSubtracted.xisf")
    assert corrected.header["OBSERVER"] == "tester"
    assert f"bgoptimizer {__version__}: background subtracted" in str(corrected.header["HISTORY"])
    printed = capsys.readouterr().out
    assert re.search(rf"^{re.escape(str(sky_file))}: done in \d+\.\d\ds \(write \d+\.\d\ds\); {FIT_SENTENCE}$",
                     printed, re.MULTILINE), printed


def test_preview_writes_png_and_stops(sky_file, tmp_path):
    assert main([str(sky_file), "-o", str(tmp_path / "p"), "--preview"]) == 0
    png = tmp_path / "p" / "sky_preview.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _outputs(tmp_path / "p") == ["sky_preview.png"]


def _fails(args, capsys, pattern, folder):
    code = main([str(a) for a in args])
    message = capsys.readouterr().err
    assert code != 0
    assert re.search(pattern, message), message
    assert not [p for p in folder.rglob("*_bg*")]


def test_missing_file(tmp_path, capsys):
    _fails([tmp_path / "absent.fits"], capsys, r"absent\.fits: no such file", tmp_path)


def test_unsupported_extension(tmp_path, capsys):
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    _fails([tmp_path / "photo.jpg"], capsys, r"photo\.jpg: unsupported file type", tmp_path)


def test_corrupt_fits(tmp_path, capsys):
    (tmp_path / "bad.fits").write_bytes(b"not a fits file at all" * 200)
    _fails([tmp_path / "bad.fits"], capsys, r"bad\.fits: not a readable FITS file", tmp_path)


def test_mask_of_wrong_size(sky_file, tmp_path, capsys):
    mask = write_image(tmp_path / "mask.fits", np.ones((1, 10, 10), np.float32))
    _fails([sky_file, "--mask", mask], capsys, r"mask\.fits: size 10x10 does not match the image's 400x300", tmp_path)


def test_all_masked_image(sky_file, tmp_path, capsys):
    mask = write_image(tmp_path / "zero_mask.fits", np.zeros((1, 300, 400), np.float32))
    _fails([sky_file, "--mask", mask], capsys,
           r"sky.fits: only 0 of 1900 downscaled pixels are background \(1900 excluded by .*zero_mask.fits\)", tmp_path)


def test_thresholds_excluding_everything(sky_file, tmp_path, capsys):
    _fails([sky_file, "--threshold-min", "0.99"], capsys,
           r"only \d+ of 1900 downscaled pixels are background \(\d+ outside --threshold-min..--threshold-max "
           r"\(0.99..1\)\)", tmp_path)


def test_image_smaller_than_one_block(tmp_path, capsys):
    path = write_image(tmp_path / "tiny.fits", np.random.default_rng(0).random((1, 5, 6), np.float32))
    _fails([path], capsys, r"tiny.fits: --downscale 8: the image \(6x5\) shrinks to 1x1 pixels, fewer than the 16 a fit "
           r"needs; use a --downscale of at most 1", tmp_path)


def test_infinite_pixels(sky_file, tmp_path, capsys):
    data = read_image(sky_file).data.copy()
    data[0, 10, 10] = np.inf
    path = write_image(tmp_path / "inf.fits", data)
    _fails([path], capsys, r"inf.fits: the image has 1 infinite pixel; repair or clip them first", tmp_path)


def test_constant_image(tmp_path, capsys):
    path = write_image(tmp_path / "flat.fits", np.full((1, 64, 64), 0.25, np.float32))
    _fails([path], capsys, r"channel 0 is constant", tmp_path)


def test_all_zero_image(tmp_path, capsys):
    path = write_image(tmp_path / "black.fits", np.zeros((1, 64, 64), np.float32))
    _fails([path], capsys, r"no valid pixel", tmp_path)


def test_unwritable_output_dir(sky_file, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    _fails([sky_file, "-o", blocker / "sub"], capsys, r"output directory .*a_file/sub: cannot create it", tmp_path)


def test_out_of_range_option_names_the_parameter(sky_file, capsys):
    with pytest.raises(SystemExit) as stop:
        main([str(sky_file), "--downscale", "0"])
    assert stop.value.code == 2
    assert "--downscale must be at least 1; got 0" in capsys.readouterr().err  # every value check: test_params.py
    with pytest.raises(SystemExit):
        main([str(sky_file), "--threshold-min", "0.5", "--threshold-max", "0.4", "--order", "4", "--poly-degree", "1"])
    assert "error: --threshold-min (0.5) must be below --threshold-max (0.4)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(sky_file), "--fit-domain", "log"])
    assert "--fit-domain: invalid choice: 'log'" in capsys.readouterr().err


def test_nan_pixels_are_missing_and_stay_zero(sky_file, tmp_path):
    data = read_image(sky_file).data.copy()
    data[:, :20, :] = np.nan  # e.g. an uncovered strip of a reprojected mosaic
    path = write_image(tmp_path / "nan.fits", data)
    assert main([str(path), "--epochs", "20"]) == 0
    corrected = read_image(tmp_path / "nan_bgSubtracted.fits").data
    assert np.all(corrected[:, :20, :] == 0.0) and np.isfinite(corrected).all()
    assert np.median(corrected[:, 20:, :]) > 0


def test_one_bad_file_among_several(sky_file, tmp_path, capsys):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"garbage" * 500)
    out = tmp_path / "batch"
    code = main([str(sky_file), str(bad), "-o", str(out), "--epochs", "20"])
    assert code == 1
    assert _outputs(out) == ["sky_bgModel.fits", "sky_bgSubtracted.fits"]
    assert "1 of 2 files failed" in capsys.readouterr().err


def test_demo_recovers_the_gradient(tmp_path, capsys):
    assert demo_main([str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out
    rms = float(re.search(r"recovered gradient error: ([\d.]+)% RMS", printed).group(1))
    assert rms < 0.2  # 0.09 % measured
    from PIL import Image

    # Issue 41, item 9: input | background model | corrected (500 px each, 8 px apart) under their labels,
    # one linked stretch; a profile of the true and recovered gradient under them.
    picture = np.asarray(Image.open(tmp_path / "demo" / "demo_before_after.png").convert("RGB")).astype(float)
    assert picture.shape == (24 + 334 + 8 + 180, 3 * 500 + 2 * 8, 3)
    labels = picture[5:19].mean(axis=2)
    for left, letters in ((0, "input"), (508, "background model"), (1016, "corrected")):
        inked = np.flatnonzero((labels[:, left:left + 500] > 200).any(axis=0))
        assert inked.min() < 10 and abs(inked.max() - (12 * len(letters) - 4)) <= 8, (letters, inked.max())
    panels = [picture[24:358, left:left + 500] for left in (0, 508, 1016)]
    cast = [float(np.ptp(panel.reshape(-1, 3).mean(axis=0))) for panel in panels]
    assert cast[0] > 20 and cast[2] < 10  # the input's cast shown, the corrected sky neutral
    plot = picture[366 + 28: -8, 8:-8]
    green, orange = (plot[..., 1] > 200) & (plot[..., 0] < 120), (plot[..., 0] > 240) & (plot[..., 2] < 60)
    assert green.any(axis=0).mean() > 0.4 and orange.any(axis=0).mean() > 0.4  # both curves, across the row


def test_switches_default_on_can_be_turned_off():
    from bgoptimizer.command_line.main import build_parser

    assert build_parser().parse_args(["in.fits"]).protect_objects is True
    assert build_parser().parse_args(["in.fits", "--no-protect-objects"]).protect_objects is False


def test_fits_model_streamed_to_its_file_equals_the_model_in_memory(sky_file, tmp_path):
    """The CLI writes a FITS model band by band while correcting in place; nothing may differ."""
    source = read_image(sky_file).data
    expected = extract_background(source.copy(), Parameters(epochs=50))
    assert main([str(sky_file), str(tmp_path / "out"), "--epochs", "50"]) == 0
    model = read_image(tmp_path / "out" / "sky_bgModel.fits")
    corrected = read_image(tmp_path / "out" / "sky_bgSubtracted.fits")
    np.testing.assert_array_equal(model.data, expected.background)
    np.testing.assert_array_equal(corrected.data, expected.corrected)
    assert model.header["OBSERVER"] == "tester"
    assert "background model" in str(model.header["HISTORY"])


def test_console_entry_point_runs_in_a_fresh_interpreter(sky_file, tmp_path):
    # The package imports its engine lazily, so the entry point can pause the collector before torch loads.
    probe = "import sys, bgoptimizer.command_line.entry; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"
    run = subprocess.run([sys.executable, "-m", "bgoptimizer", str(sky_file), str(tmp_path / "out")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert _outputs(tmp_path / "out") == ["sky_bgModel.fits", "sky_bgSubtracted.fits"]
    assert "fitted on CPU" in run.stdout


def test_console_exit_code_of_a_failed_run(tmp_path):
    (tmp_path / "bad.fits").write_bytes(b"not a fits file at all" * 200)
    run = subprocess.run([sys.executable, "-m", "bgoptimizer", str(tmp_path / "bad.fits")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "bad.fits" in run.stderr


@pytest.mark.parametrize("what", ["input", "mask"])
def test_a_missing_input_or_mask_is_refused_before_any_work(sky_file, tmp_path, capsys, what):
    absent = tmp_path / "absent.fits"
    out = tmp_path / "new" / "out"
    argv = [sky_file, absent, out] if what == "input" else [sky_file, out, "--mask", absent]
    assert main([str(a) for a in argv]) == 2
    line = capsys.readouterr().err.strip()
    assert re.fullmatch(rf"bgoptimizer: error: (--mask )?{absent}: no such file( or folder)?; nothing was processed",
                        line), line
    assert not (tmp_path / "new").exists()  # no folder made for a refused run


_ENDING = """
import atexit, sys, threading, time
from pathlib import Path
from bgoptimizer.process import end_process
folder = Path(sys.argv[1])
atexit.register(lambda: (folder / "handler").write_text("ran"))
def work():
    time.sleep(0.3)
    (folder / "thread").write_text("done")
if sys.argv[2] == "thread":
    threading.Thread(target=work).start()
print("unflushed", end="")
end_process(3)
"""


@pytest.mark.parametrize("case", ["alone", "thread"])
def test_end_process_ends_as_an_ordinary_exit_would(tmp_path, case):
    # Exit handlers run, the buffered output comes out, the code is kept, a working thread is waited for.
    run = subprocess.run([sys.executable, "-c", _ENDING, str(tmp_path), case], capture_output=True, text=True)
    assert (run.returncode, run.stdout, run.stderr) == (3, "unflushed", "")
    assert (tmp_path / "handler").read_text() == "ran"
    assert (tmp_path / "thread").exists() == (case == "thread")


def test_without_cpythons_exit_handler_runner_the_ordinary_exit_is_taken(monkeypatch):
    import atexit

    from bgoptimizer.process import end_process

    monkeypatch.delattr(atexit, "_run_exitfuncs")
    with pytest.raises(SystemExit) as ended:
        end_process(4)
    assert ended.value.code == 4


def test_entry_point_leaves_the_collector_running(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bgoptimizer", "--version"])
    try:
        with pytest.raises(SystemExit):
            entry_main()
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_every_public_name_of_the_package_resolves():
    import bgoptimizer

    for name in bgoptimizer.__all__:
        value = getattr(bgoptimizer, name)
        home = bgoptimizer._LAZY.get(name)
        assert value is (getattr(importlib.import_module(f"bgoptimizer.{home}"), name) if home else value)
        assert home or name in vars(bgoptimizer)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = bgoptimizer.nothing


def test_help_shows_integer_ranges_whole_and_zero_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    printed = " ".join(capsys.readouterr().out.split())
    assert "same result. [0, 2147483647] (default: 0)" in printed


def test_report_holds_each_outcome_for_scripts(sky_file, tmp_path):
    import json

    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"garbage" * 500)
    report = tmp_path / "report.json"
    assert main([str(sky_file), str(bad), "-o", str(tmp_path / "out"), "--epochs", "20", "--report", str(report)]) == 1
    files = json.loads(report.read_text())["files"]
    good, failed = files
    assert good["input"] == str(sky_file) and good["iterations"] == 10 and good["objects"] == 0.0
    assert good["start_kept"] is True  # no step improved on the robust start: stopped at half the patience
    out = tmp_path / "out"
    assert good["outputs"] == [str(out / "sky_bgSubtracted.fits"), str(out / "sky_bgModel.fits")]
    assert set(good["stages"]) == {"prepare", "fit", "reconstruct", "correct"} and good["warnings"] == []
    assert 0 < good["read_seconds"] and sum(good["stages"].values()) < good["seconds"]  # the writes come on top
    assert failed["input"] == str(bad) and "not a readable FITS file" in failed["error"]


def test_no_model_writes_the_corrected_image_only(sky_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(sky_file), str(out), "--no-model", "--epochs", "20"]) == 0
    assert _outputs(out) == ["sky_bgSubtracted.fits"]
    assert "_bgModel" not in capsys.readouterr().out
    assert read_image(out / "sky_bgSubtracted.fits").data.dtype == np.float32


def test_help_states_the_output_sample_type(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "32-bit floats whatever the input's sample type" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("argv, code", [(["--version"], 0), (["--help"], 0), (["x.fits", "--points", "2"], 2)])
def test_help_version_and_bad_options_answer_without_the_engine(argv, code):
    """Issue 41, item 8: the options are read before torch and astropy are imported (1.4 s of start-up)."""
    probe = ("import sys\nsys.modules['torch'] = None\nsys.modules['astropy'] = None\n"
             "from bgoptimizer.command_line.main import main\n"
             f"sys.exit(main({argv!r}))\n")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == code, run.stderr
    assert "Traceback" not in run.stderr and ("bgoptimizer" in run.stdout + run.stderr)
