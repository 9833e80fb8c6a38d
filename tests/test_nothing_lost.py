"""Nothing lost, round 3 (issue 39): the report follows the images' rule, a killed run's temporaries are
cleared, BLANK pixels are missing in a scaled image, and every other hostile case is one line."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from bgoptimizer.command_line.main import main
from bgoptimizer.io import read_image, write_image
from bgoptimizer.synthetic import make_scene

from .conftest import RAW_U16


def _sky(path: Path, seed: int = 3, width: int = 400, height: int = 300) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(path, make_scene(width, height, nebula=False, seed=seed).image)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _wait_for(condition, seconds: float = 120.0) -> None:
    """Wait for a condition, however loaded the machine (no fixed sleep decides a test)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition was not met in time"
        time.sleep(0.05)


# --report -------------------------------------------------------------------------------------------------


def test_an_existing_file_is_not_replaced_by_the_report(tmp_path, capsys):
    image = _sky(tmp_path / "in" / "good.fits")
    notes = tmp_path / "in" / "notes.txt"
    notes.write_text("my notes")
    before = _snapshot(tmp_path)
    assert main([str(image), "-o", str(tmp_path / "out"), "--epochs", "20", "--report", str(notes)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"bgoptimizer: error: {notes}: already exists; use --overwrite to replace it, or name another report "
        "file; nothing was processed")
    assert _snapshot(tmp_path) == before
    # With --overwrite a file that is not an image is replaced by the report.
    assert main([str(image), "-o", str(tmp_path / "out"), "--epochs", "20", "--report", str(notes),
                 "--overwrite"]) == 0
    assert json.loads(notes.read_text())["files"][0]["input"] == str(image)


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_an_image_is_never_replaced_by_the_report(tmp_path, capsys, overwrite):
    """A master frame not in the run, under an image's name or not: refused even with --overwrite."""
    image = _sky(tmp_path / "in" / "good.fits")
    other = _sky(tmp_path / "in" / "other.fits", seed=4)
    renamed = tmp_path / "in" / "master.dat"
    renamed.write_bytes(other.read_bytes())
    for report in (other, renamed):
        before = _snapshot(tmp_path)
        assert main([str(image), "-o", str(tmp_path / "out"), "--epochs", "20", "--report", str(report),
                     *overwrite]) == 2
        assert capsys.readouterr().err.strip() == (
            f"bgoptimizer: error: {report}: is an image; a report never replaces one, not even with overwrite: "
            "name another file; nothing was processed")
        assert _snapshot(tmp_path) == before


def test_a_report_of_an_earlier_run_is_replaced_with_overwrite_only(tmp_path, capsys):
    image = _sky(tmp_path / "good.fits")
    report = tmp_path / "r.json"
    assert main([str(image), "-o", str(tmp_path / "a"), "--epochs", "20", "--report", str(report)]) == 0
    first = report.read_text()
    assert main([str(image), "-o", str(tmp_path / "b"), "--epochs", "20", "--report", str(report)]) == 2
    assert report.read_text() == first and not (tmp_path / "b").exists()
    assert main([str(image), "-o", str(tmp_path / "b"), "--epochs", "20", "--report", str(report),
                 "--overwrite"]) == 0
    assert json.loads(report.read_text())["files"][0]["outputs"][0].startswith(str(tmp_path / "b"))


@pytest.mark.parametrize("name", ["-", "/dev/fd/1"])
def test_a_report_to_standard_output_prints_the_json_alone(tmp_path, name):
    image = _sky(tmp_path / "good.fits")
    run = subprocess.run([sys.executable, "-m", "bgoptimizer", str(image), "--epochs", "20", "--report", name],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)["files"][0]
    assert record["input"] == str(image) and record["outputs"][0].endswith("good_bgSubtracted.fits")
    assert "good.fits: done in" in run.stderr  # the summary goes to standard error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.fits", "good_bgModel.fits",
                                                          "good_bgSubtracted.fits"]


def test_the_standard_streams_by_name_are_written_into():
    """Planned only (a test writing to the system's /dev/stdout would replace it where the rule is broken)."""
    from bgoptimizer.runs.report import plan_report

    assert [plan_report(name, [], [], False).descriptor for name in ("-", "/dev/stdout", "/dev/stderr",
                                                                       "/dev/fd/3", "/proc/self/fd/4")] == [1, 1, 2, 3, 4]


def _device(path: Path, minor: int) -> Path:
    """A character device node of our own (1, minor: 3 is null, 7 is full), so that no test can replace
    the system's /dev/null or /dev/full where the rule is broken."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot make a device node here ({error})")
    return path


def test_a_device_or_fifo_is_written_into_never_replaced(tmp_path, capsys):
    image = _sky(tmp_path / "good.fits")
    null, full = _device(tmp_path / "null", 3), _device(tmp_path / "full", 7)
    assert main([str(image), "-o", str(tmp_path / "a"), "--epochs", "20", "--report", str(null)]) == 0
    assert null.is_char_device()
    # A full device: the write fails; the device stays, the images are kept and the run fails.
    assert main([str(image), "-o", str(tmp_path / "b"), "--epochs", "20", "--report", str(full)]) == 1
    assert full.is_char_device()
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"bgoptimizer: error: report: {full}: cannot write it (No space left on device); the images of 1 input "
        "were written")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    assert main([str(image), "-o", str(tmp_path / "c"), "--epochs", "20", "--report", str(fifo)]) == 0
    assert json.loads(reader.communicate(timeout=600)[0])["files"][0]["input"] == str(image)
    assert fifo.is_fifo()


def test_a_socket_is_refused_naming_it(tmp_path, capsys):
    import socket

    image = _sky(tmp_path / "good.fits")
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert main([str(image), "--epochs", "20", "--report", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"bgoptimizer: error: {path}: is a socket; the report is written into a file, a character device or a "
        "FIFO, never over anything else: name a file; nothing was processed")
    assert not (tmp_path / "good_bgModel.fits").exists()


def test_a_symbolic_link_is_followed_and_kept(tmp_path):
    image = _sky(tmp_path / "good.fits")
    (tmp_path / "reports").mkdir()
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "reports" / "r.json")  # dangling until the first report
    assert main([str(image), "-o", str(tmp_path / "a"), "--epochs", "20", "--report", str(link)]) == 0
    assert link.is_symlink() and json.loads((tmp_path / "reports" / "r.json").read_text())["files"]
    # A link to an input is refused like the input itself.
    (tmp_path / "to_input.json").symlink_to(image)
    assert main([str(image), "-o", str(tmp_path / "b"), "--epochs", "20", "--report",
                 str(tmp_path / "to_input.json"), "--overwrite"]) == 2
    assert read_image(image).data.shape == (3, 300, 400)


# Temporaries left by SIGKILL ------------------------------------------------------------------------------

_KILLED_WRITER = """
import sys, time
from pathlib import Path
from bgoptimizer.io import OutputFiles
with OutputFiles().writing(sys.argv[1]) as temporary:  # stuck while writing
    Path(sys.argv[2]).write_text(str(temporary))
    time.sleep(600)
"""


def _temporary_of_a_writer(target: Path, ready: Path) -> tuple[subprocess.Popen, Path]:
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target), str(ready)])
    _wait_for(lambda: ready.exists() and ready.read_text())
    return writer, Path(ready.read_text())


def test_a_later_run_removes_what_a_killed_run_left(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    writer, temporary = _temporary_of_a_writer(out / "img_bgModel.fits", tmp_path / "ready")
    writer.send_signal(signal.SIGKILL)
    writer.wait(600)
    assert temporary.exists() and temporary.parent == out and temporary.name.startswith(".img_bgModel.fits.")
    image = _sky(tmp_path / "img.fits")
    assert main([str(image), str(out), "--epochs", "20"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["img_bgModel.fits", "img_bgSubtracted.fits"]


def test_the_temporaries_of_a_live_run_and_of_other_programs_stay(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    writer, live = _temporary_of_a_writer(out / "x_bgModel.fits", tmp_path / "ready")
    try:
        foreign = out / ".x.fits.abcdefgh.part"  # not named by this tool's rule
        foreign.write_bytes(b"")
        image = _sky(tmp_path / "img.fits")
        assert main([str(image), str(out), "--epochs", "20"]) == 0
        assert live.exists() and foreign.exists()
    finally:
        writer.kill()
        writer.wait(600)


# Input files -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stored, blank", [(np.int16, -1), (np.uint16, -32768), (np.int32, -1), (np.uint8, 255)])
def test_blank_pixels_are_missing_and_the_rest_scaled_as_without_blank(tmp_path, stored, blank):
    """The real raw Seestar frame's samples, stored as each integer type with and without BLANK (the value
    as the file stores it: the unsigned 16-bit 0 is stored as -32768)."""
    raw = fits.getdata(RAW_U16).astype(np.int64)[:400, :600]
    samples = (raw // (512 if stored is np.uint8 else 2)).astype(stored)
    plain, blanked = tmp_path / "plain.fits", tmp_path / "blank.fits"
    fits.PrimaryHDU(samples).writeto(plain)
    fits.PrimaryHDU(samples).writeto(blanked)
    with fits.open(blanked, mode="update", do_not_scale_image_data=True) as hdus:
        assert not (hdus[0].data == blank).any()
        hdus[0].data[:10, :20] = blank
        hdus[0].header["BLANK"] = blank
    without, with_blank = read_image(plain), read_image(blanked)
    assert with_blank.sample_type == without.sample_type == np.dtype(stored)
    missing = np.isnan(with_blank.data[0])
    assert missing[:10, :20].all() and missing.sum() == 200
    np.testing.assert_array_equal(with_blank.data[0][~missing], without.data[0][~missing])
    assert 0 < np.nanmax(with_blank.data) <= 1.0


def test_an_int16_frame_with_blank_gives_output_in_the_same_units(tmp_path):
    """The issue's case: the units of the output must not change with one keyword; BLANK stays missing."""
    raw = fits.getdata(RAW_U16).astype(np.int64)[:600, :900]
    samples = (raw // 2).astype(np.int16)
    results = []
    for name, blank in (("plain", None), ("blank", -32768)):
        hdu = fits.PrimaryHDU(samples.copy())
        if blank is not None:
            hdu.data[:, :40] = blank
            hdu.header["BLANK"] = blank
        hdu.writeto(tmp_path / f"{name}.fits")
        assert main([str(tmp_path / f"{name}.fits"), "--epochs", "20", "--no-model"]) == 0
        results.append(read_image(tmp_path / f"{name}_bgSubtracted.fits").data)
    plain, blanked = results
    assert abs(np.median(plain) - np.median(blanked[:, :, 40:])) < 0.01 and np.abs(blanked).max() <= 1.0
    assert (blanked[:, :, :40] == 0).all()  # missing stays missing


def test_a_one_dimensional_fits_says_what_it_holds(tmp_path, capsys):
    spectrum = tmp_path / "spectrum.fits"
    fits.PrimaryHDU(np.linspace(0, 1, 500, dtype=np.float32)).writeto(spectrum)
    assert main([str(spectrum)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"bgoptimizer: error: {spectrum}: no image in this FITS file: it holds a 1-D array of 500 values; an "
        "image is 2-D (mono) or 3-D (RGB)")


@pytest.mark.parametrize("where", ["input", "output folder", "mask", "report", "reference"])
def test_a_name_longer_than_the_file_system_takes_is_one_line(tmp_path, capsys, where):
    image = _sky(tmp_path / "good.fits")
    long = str(tmp_path / ("n" * 300))
    argv = {"input": [long + ".fits"], "output folder": [str(image), long], "mask": [str(image), "--mask", long],
            "report": [str(image), "--report", long + ".json"], "reference": ["--normalize-to", long, str(image)]}
    before = _snapshot(tmp_path)
    assert main(argv[where]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"bgoptimizer: error: .*n{300}\S*: a name in this path is 30[05] bytes long, more than the "
                        r"255 its file system takes; nothing was processed\n", err), err
    assert _snapshot(tmp_path) == before


def test_frames_of_other_skies_are_refused_and_the_others_normalized(tmp_path, capsys):
    """The issue's case: three different skies normalized to the first (not a registered sequence)."""
    frames = [_sky(tmp_path / f"f{seed}.fits", seed, 900, 600) for seed in (1, 2, 3)]
    assert main(["--normalize-to", str(frames[0]), *map(str, frames), str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    for line, frame in zip(lines, frames[1:]):
        assert re.fullmatch(rf"bgoptimizer: error: {frame}: does not match the reference: the stars and objects of "
                            r"the two do not fall on each other \(correlation -?0\.\d\d, registered frames give 0\.5 "
                            r"to 1\); register the frames first", line), line
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f1_bgNormalized.fits"]


# The suite and signals --------------------------------------------------------------------------------------

_PROBE = "BGOPTIMIZER_SIGNAL_PROBE"


@pytest.mark.skipif(_PROBE not in os.environ, reason="run by test_a_signal_to_the_suite_stops_it")
def test_probe_a_long_run_in_process(tmp_path, monkeypatch):
    """Runs the command line in-process on a long fit, saying when it is inside it."""
    import bgoptimizer.command_line.runner as cli

    marker = Path(os.environ[_PROBE])
    real = cli.process_file

    def started(*args, **kwargs):
        marker.write_text("started")
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "process_file", started)
    main([str(_sky(tmp_path / "img.fits")), "--epochs", "100000", "--patience", "100000"])


@pytest.mark.skipif(_PROBE not in os.environ, reason="run by test_a_signal_to_the_suite_stops_it")
def test_probe_after():
    Path(os.environ[_PROBE]).with_suffix(".after").write_text("ran")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_suite_stops_it(tmp_path, signum):
    """Issue 39, item 11: a Ctrl-C or SIGTERM meant for pytest, arriving while a test runs the command line
    in-process (which stops its run cleanly), stops the suite: no test after it runs."""
    marker = tmp_path / "probe.txt"
    suite = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "probe",
                              str(Path(__file__))], env={**os.environ, _PROBE: str(marker)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(marker.exists, 300)
    suite.send_signal(signum)
    output = suite.communicate(timeout=300)[0]
    assert suite.returncode == 128 + signum, output
    assert f"stopped by {signal.Signals(signum).name}" in output, output
    assert not marker.with_suffix(".after").exists()
