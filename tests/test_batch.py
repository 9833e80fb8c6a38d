"""Nothing lost, ever: a run's outputs are checked before the first write, a result's files appear
together or not at all, and a signal or a full disk leaves no debris (bgoptimizer.runs.jobs, the CLI)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import bgoptimizer.runs.frame as frame
import bgoptimizer.runs.jobs as batch
from bgoptimizer import FitInputs, RunControl
from bgoptimizer.arguments import flags_naming
from bgoptimizer.command_line.main import main
from bgoptimizer.interrupts import Interrupted, interrupts_deferred, interrupts_raised
from bgoptimizer.io import OutputFiles, read_image, write_image
from bgoptimizer.runs.frame import with_history
from bgoptimizer.synthetic import Nebula, make_scene

from .conftest import REAL, XISF, send_own_signal


def _sky(path: Path, seed: int = 3, width: int = 400, height: int = 300) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = fits.Header()
    header["OBSERVER"] = "tester"
    return write_image(path, make_scene(width, height, nebula=False, seed=seed).image, header)


def _files(folder: Path) -> list[str]:
    """Every name in a folder, hidden temporaries included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_names_in_two_folders_are_refused_before_any_work(tmp_path, capsys):
    first, second = _sky(tmp_path / "night1" / "M42.fit", 1), _sky(tmp_path / "night2" / "M42.fit", 2)
    assert main([str(first), str(second), str(tmp_path / "out"), "--epochs", "20"]) == 2
    message = capsys.readouterr().err
    assert f"{first} and {second} would both be written to {tmp_path / 'out' / 'M42_bgSubtracted.fit'}" in message
    assert message.count("\n") == 1 and "nothing was processed" in message
    assert _files(tmp_path / "out") == []
    # Next to their inputs the same names do not collide.
    assert main([str(first), str(second), "--epochs", "20"]) == 0
    assert _files(tmp_path / "night2") == ["M42.fit", "M42_bgModel.fit", "M42_bgSubtracted.fit"]


def test_an_input_is_never_an_output(tmp_path, capsys):
    image, own = _sky(tmp_path / "s" / "img.fits", 1), _sky(tmp_path / "s" / "img_bgSubtracted.fits", 2)
    before = _snapshot(tmp_path)
    assert main([str(image), str(own), "--epochs", "20"]) == 2
    assert f"{own}: is an input of this run and would be overwritten" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before
    # The mask is an input too, even where --overwrite allows replacing outputs.
    mask = write_image(tmp_path / "s" / "img_bgModel.fits", np.ones((1, 300, 400), np.float32))
    before = _snapshot(tmp_path)
    assert main([str(image), "--mask", str(mask), "--overwrite", "--epochs", "20"]) == 2
    assert f"{mask}: is an input of this run and would be overwritten" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before


def test_an_output_linked_to_an_input_is_refused(tmp_path, capsys):
    image = _sky(tmp_path / "a" / "img.fits")
    (tmp_path / "out").mkdir()
    os.link(image, tmp_path / "out" / "img_bgModel.fits")  # another name of the same file
    before = _snapshot(tmp_path)
    assert main([str(image), str(tmp_path / "out"), "--overwrite", "--epochs", "20"]) == 2
    assert f"(as {image}) and would be overwritten" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before


def test_a_rerun_is_refused_unless_overwrite(tmp_path, capsys):
    image = _sky(tmp_path / "img.fits")
    assert main([str(image), "--epochs", "20"]) == 0
    first = _snapshot(tmp_path)
    capsys.readouterr()
    assert main([str(image), "--epochs", "30"]) == 2
    message = capsys.readouterr().err
    assert re.search(r"img_bgSubtracted.fits, .*img_bgModel.fits: already exist .* use --overwrite", message)
    assert _snapshot(tmp_path) == first
    assert main([str(image), "--epochs", "30", "--overwrite"]) == 0
    replaced = _snapshot(tmp_path)
    assert replaced["img_bgModel.fits"] != first["img_bgModel.fits"]
    assert "epochs=30" in str(fits.getheader(tmp_path / "img_bgModel.fits")["HISTORY"])
    # A preview is a throwaway view for tuning: replaced without asking.
    for _ in range(2):
        assert main([str(image), "--preview"]) == 0


def test_a_result_is_the_pair_a_failed_second_file_leaves_neither(tmp_path, monkeypatch, capsys):
    image = _sky(tmp_path / "img.fits")
    real_writing = OutputFiles.writing

    @contextlib.contextmanager
    def failing(self, path):
        with real_writing(self, path) as temporary:
            yield temporary
            if "_bgSubtracted" in str(path):  # the second file of the pair fills the disk
                temporary.write_bytes(b"half")
                raise OSError(28, "No space left on device")

    monkeypatch.setattr(OutputFiles, "writing", failing)
    assert main([str(image), "--epochs", "20", "--format", "xisf"]) == 1
    assert "img_bgSubtracted.xisf: the disk is full" in capsys.readouterr().err
    assert _files(tmp_path) == ["img.fits"]


def test_a_commit_that_fails_halfway_takes_back_what_it_renamed(tmp_path, monkeypatch):
    renamed = []
    real_replace = os.replace

    def replace(source, target):
        if renamed:
            raise OSError(13, "Permission denied")
        renamed.append(target)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    files = OutputFiles()
    for name in ("a.bin", "b.bin"):
        with files.writing(tmp_path / name) as temporary:
            temporary.write_bytes(b"x")
    with pytest.raises(Exception, match=r"b.bin: cannot write it \(Permission denied\)"):
        files.commit()
    assert _files(tmp_path) == []


def test_a_signal_while_writing_leaves_no_file(tmp_path, monkeypatch, capsys):
    """SIGTERM arriving while the second file of the pair is written (the first is complete on disk)."""
    image = _sky(tmp_path / "img.fits")
    real_write = frame.write_image

    def terminated(path, *args, **kwargs):
        if "_bgSubtracted" in str(path):
            send_own_signal(signal.SIGTERM)
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(frame, "write_image", terminated)
    assert main([str(image), "--epochs", "20", "--format", "xisf"]) == 143
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"bgoptimizer: interrupted by SIGTERM while processing {image}, none of whose outputs was written; "
        "no input complete"
    )
    assert _files(tmp_path) == ["img.fits"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are put back


def test_a_signal_during_the_renames_waits_for_them():
    with interrupts_raised():
        with pytest.raises(Interrupted) as stop:
            with interrupts_deferred():
                send_own_signal(signal.SIGINT)
                finished = True  # reached: the signal waited
        assert finished and stop.value.exit_code == 130


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_batch_stopped_by_a_signal_keeps_finished_files_only(tmp_path, signum, code):
    folder = tmp_path / "in"
    for seed in range(3):
        _sky(folder / f"b{seed}.fits", seed, 1500, 1000)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "bgoptimizer", str(folder), str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in run.stderr:
        lines.append(line.rstrip("\n"))
        if line.startswith("[2/3]"):
            run.send_signal(signum)
            break
    lines += run.stderr.read().splitlines()
    assert run.wait(600) == code
    name = signal.Signals(signum).name
    assert lines[-1] == (f"bgoptimizer: interrupted by {name} while processing {folder / 'b1.fits'}, none of "
                         "whose outputs was written; 1 of 3 inputs complete, their outputs kept"), lines
    assert not any("Traceback" in line for line in lines)
    assert _files(out) == ["b0_bgModel.fits", "b0_bgSubtracted.fits"]
    assert read_image(out / "b0_bgModel.fits").data.shape == (3, 1000, 1500)


@pytest.mark.skipif(shutil.which("nohup") is None, reason="needs nohup")
def test_a_run_under_nohup_survives_a_hangup(tmp_path):
    """nohup starts the run with SIGHUP ignored: a closed terminal must not stop it."""
    folder = tmp_path / "in"
    for seed in range(2):
        _sky(folder / f"b{seed}.fits", seed, 900, 600)
    out = tmp_path / "out"
    run = subprocess.Popen(["nohup", sys.executable, "-m", "bgoptimizer", str(folder), str(out), "--epochs", "20"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in run.stderr:
        lines.append(line.rstrip("\n"))
        if line.startswith("[1/2]"):
            run.send_signal(signal.SIGHUP)
    assert run.wait(600) == 0, lines
    assert _files(out) == ["b0_bgModel.fits", "b0_bgSubtracted.fits", "b1_bgModel.fits", "b1_bgSubtracted.fits"]


def test_an_ignored_signal_stays_ignored():
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with interrupts_raised():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # the others are caught
    finally:
        signal.signal(signal.SIGHUP, previous)


def _small_disk_available() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"], capture_output=True
    ).returncode == 0


@pytest.mark.skipif(not _small_disk_available(), reason="needs unshare and a tmpfs mount (user namespaces)")
@pytest.mark.parametrize("options", [(), ("--compress",), ("--format", "xisf")])
def test_a_full_disk_leaves_neither_file_and_says_so_once(tmp_path, options):
    """A real 1.6 MB file system: room for the model (1.44 MB, compressed 0.8), not for the pair."""
    image = _sky(tmp_path / "img.fits")
    disk = tmp_path / "disk"
    disk.mkdir()
    command = (f"mount -t tmpfs -o size=1600k none {disk} && {sys.executable} -m bgoptimizer {image} {disk} "
               f"--epochs 20 {' '.join(options)}; echo rc=$?; ls -a {disk}")
    run = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True)
    assert "rc=1" in run.stdout, run.stdout + run.stderr
    assert run.stdout.split("rc=1")[1].split() == [".", ".."]  # no model alone, no temporary file
    (line,) = run.stderr.strip().splitlines()
    assert re.fullmatch(rf"bgoptimizer: error: {image}: {disk}/img_bg\w+\.\w+: the disk is full \(1\.6 MB free "
                        rf"in {disk} without this run's files\); not written", line), line


def test_raw_cfa_frames_are_modelled_phase_by_phase(tmp_path, capsys):
    raw = REAL / "seestar_raw_sub_bayer_u16.fit"
    assert main([str(raw), str(tmp_path), "--epochs", "20"]) == 0
    assert "raw GRBG frame, each CFA phase modelled on its own" in capsys.readouterr().out
    corrected = read_image(tmp_path / "seestar_raw_sub_bayer_u16_bgSubtracted.fit")
    assert corrected.header["BAYERPAT"] == "GRBG"
    source = read_image(raw).data
    for row, column in ((0, 0), (0, 1), (1, 0), (1, 1)):  # each phase keeps its own sky level
        phase = (slice(None), slice(row, None, 2), slice(column, None, 2))
        assert np.median(corrected.data[phase]) == pytest.approx(np.median(source[phase]), rel=0.01)


def test_sky_subtracted_data_keep_their_level(tmp_path):
    """SDSS frames are sky-subtracted: the sky is about 0, half of it negative; no pedestal is added."""
    source = REAL / "reprojected_sdss_g.fits"
    assert main([str(source), str(tmp_path), "--epochs", "50"]) == 0
    before, after = read_image(source).data, read_image(tmp_path / "reprojected_sdss_g_bgSubtracted.fits").data
    assert before.min() < 0 and after.min() < 0
    assert abs(np.median(after) - np.median(before)) < 2e-4  # was +0.028 (a shift to make it non-negative)


def test_scarce_background_is_reported_in_one_line_and_the_result_written(tmp_path, capsys):
    image = _sky(tmp_path / "small.fits", width=120, height=100)
    assert main([str(image), "--epochs", "20"]) == 0
    printed = capsys.readouterr()
    assert "0% of the frame masked as objects" in printed.out
    (warning,) = printed.err.strip().splitlines()
    assert warning == (f"bgoptimizer: warning: {image}: only 195 background samples for 64 control points: too "
                       "few to trust the model; use a smaller --downscale, fewer --points, or a larger image")
    assert _files(tmp_path) == ["small.fits", "small_bgModel.fits", "small_bgSubtracted.fits"]


def test_objects_covering_most_of_the_frame_are_reported(tmp_path, capsys):
    scene = make_scene(900, 600, nebula=Nebula(size=0.3, amplitude=5.0), seed=1)  # a nebula beyond the frame
    image = write_image(tmp_path / "nebula.fits", scene.image)
    assert main([str(image)]) == 0
    (warning,) = capsys.readouterr().err.strip().splitlines()
    assert re.fullmatch(rf"bgoptimizer: warning: {image}: objects cover (4[1-9]|[5-9]\d)% of the frame, so the "
                        r"model rests on the \d+% left .* --mask of the background .*", warning), warning


@pytest.mark.parametrize(
    "pixels, pattern",
    [
        (np.random.default_rng(0).random((1, 10, 10), np.float32),
         r"bad.fits: --downscale 8: the image \(10x10\) shrinks to 2x2 pixels, fewer than the 16 a fit needs; "
         r"use a --downscale of at most 3"),
        (np.full((1, 64, 64), 0.25, np.float32), r"bad.fits: channel 0 is constant"),
        (np.zeros((1, 64, 64), np.float32), r"bad.fits: the image has no valid pixel"),
    ],
)
def test_pixel_problems_name_the_file(tmp_path, capsys, pixels, pattern):
    path = write_image(tmp_path / "bad.fits", pixels)
    assert main([str(path)]) == 1
    assert re.search(pattern, capsys.readouterr().err)


def test_a_tiny_xisf_names_the_downscale(tmp_path, capsys):
    assert main([str(XISF / "test.xisf"), str(tmp_path)]) == 1
    assert (f"{XISF / 'test.xisf'}: --downscale 8: the image (8x10) shrinks to 1x2 pixels, fewer than the 16 a fit "
            "needs; use a --downscale of at most 2") in capsys.readouterr().err


def test_random_bytes_after_a_header_are_not_image_data(tmp_path):
    good = _sky(tmp_path / "good.fits")
    raw = good.read_bytes()
    damaged = tmp_path / "damaged.fits"
    damaged.write_bytes(raw[:2880] + np.random.default_rng(1).bytes(len(raw) - 2880))
    run = subprocess.run([sys.executable, "-m", "bgoptimizer", str(damaged)], capture_output=True, text=True)
    assert run.returncode == 1
    assert re.fullmatch(rf"bgoptimizer: error: {damaged}: pixel values reach \S+: not image data "
                        r"\(a damaged file\?\)\n", run.stderr), run.stderr


def test_folders_without_inputs_are_named(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty)]) == 2
    assert f"{empty}: no FITS or XISF image in this folder" in capsys.readouterr().err
    _sky(empty / "old_bgSubtracted.fits")
    (empty / ".img.fits.x1.part").write_bytes(b"")  # another run's temporary file
    assert main([str(empty)]) == 2
    assert f"{empty}: no FITS or XISF image in this folder" in capsys.readouterr().err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")
def test_an_unavailable_device_is_a_bad_option_before_any_work(tmp_path, capsys):
    image = _sky(tmp_path / "img.fits")
    with pytest.raises(SystemExit) as stop:
        main([str(image), "--device", "cuda"])
    assert stop.value.code == 2
    assert "--device 'cuda': this torch build sees no CUDA GPU" in capsys.readouterr().err
    assert _files(tmp_path) == ["img.fits"]


def test_divide_mode_names_its_output_divided(tmp_path):
    image = _sky(tmp_path / "flat.fits")
    assert main([str(image), "--mode", "divide", "--epochs", "20"]) == 0
    assert _files(tmp_path) == ["flat.fits", "flat_bgDivided.fits", "flat_bgModel.fits"]
    assert main([str(tmp_path), "--overwrite", "--epochs", "20"]) == 0  # outputs of either mode are not inputs
    assert "flat_bgSubtracted.fits" in _files(tmp_path)


def test_a_file_given_twice_is_processed_once(tmp_path, capsys):
    image = _sky(tmp_path / "img.fits")
    assert main([str(image), str(tmp_path / "." / "img.fits"), "--epochs", "20"]) == 0
    assert capsys.readouterr().out.count("done in") == 1
    assert _files(tmp_path) == ["img.fits", "img_bgModel.fits", "img_bgSubtracted.fits"]


def test_a_gpu_out_of_memory_fails_that_file_and_the_batch_goes_on(tmp_path, monkeypatch, capsys):
    import torch

    first, second = _sky(tmp_path / "a.fits", 1), _sky(tmp_path / "b.fits", 2)
    real = frame.extract_frame_background

    def exhausted(image, header, *args, **kwargs):
        if image.shape[2] == 400 and not exhausted.raised:  # the first file only
            exhausted.raised = True
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(image, header, *args, **kwargs)

    exhausted.raised = False
    monkeypatch.setattr(frame, "extract_frame_background", exhausted)
    assert main([str(first), str(second), "--epochs", "20"]) == 1
    err = capsys.readouterr().err
    assert f"bgoptimizer: error: {first}: out of memory; try a larger --downscale" in err
    assert "(OutOfMemoryError)" in err and "Traceback" not in err
    assert _files(tmp_path) == ["a.fits", "b.fits", "b_bgModel.fits", "b_bgSubtracted.fits"]


def test_the_method_reads_no_file_the_front_end_reads_the_mask(tmp_path):
    from bgoptimizer import MaskError, Parameters, RunOptions, extract_background

    image = make_scene(200, 150, nebula=False, seed=1).image
    mask = np.ones((1, 150, 200), np.float32)
    mask[:, :, :100] = 0  # the left half is not background
    options = RunOptions(mask=str(write_image(tmp_path / "m.fits", mask)))
    assert batch.read_mask(options).shape == (1, 150, 200) and batch.read_mask(RunOptions()) is None
    result = extract_background(image, Parameters(), inputs=FitInputs(mask=batch.read_mask(options)),
                                control=RunControl(device=options.device))
    assert 12 * 19 <= result.report.samples <= 13 * 19  # the right half: 12-13 of 25 block columns, 19 rows
    with pytest.raises(MaskError) as raised:  # named as each front end names the setting
        extract_background(image, Parameters(), inputs=FitInputs(mask=mask[..., :100]),
                           control=RunControl(device=options.device))
    assert re.match(r"--mask .*m\.fits: size 100x150 does not match the image's 200x150",
                    raised.value.rendered(flags_naming(options)))


def test_the_history_line_wraps_at_spaces_into_whole_cards():
    from bgoptimizer import Parameters, __version__

    header = with_history(fits.Header(), Parameters(points=48), "background model", "mask.fits, 2 areas")
    cards = list(header["HISTORY"])
    assert len(cards) > 1 and all(len(card) <= 72 for card in cards)
    assert " ".join(cards) == (f"bgoptimizer {__version__}: background model; {Parameters(points=48).summary()} "
                               "excluded=mask.fits, 2 areas")


def test_a_name_too_long_for_the_file_system_is_refused_before_any_work(tmp_path, capsys):
    image = _sky(tmp_path / f"{'m' * 240}.fits")  # 245 bytes: its outputs would be 258
    assert main([str(image), "--epochs", "20"]) == 2
    line = capsys.readouterr().err.strip()
    assert re.fullmatch(rf"bgoptimizer: error: {tmp_path}/m+_bgSubtracted\.fits: the name is 258 bytes long, more "
                        r"than the 255 its file system takes; give the input a shorter name; nothing was processed",
                        line), line
    assert _files(tmp_path) == [image.name]


def test_a_long_name_whose_outputs_fit_is_processed(tmp_path):
    """232 bytes: the outputs (245) fit, a temporary named after them whole would not (260)."""
    image = _sky(tmp_path / f"{'m' * 227}.fits")
    assert main([str(image), "--epochs", "20"]) == 0
    assert _files(tmp_path) == sorted([image.name, f"{image.stem}_bgModel.fits", f"{image.stem}_bgSubtracted.fits"])


def test_an_output_made_by_another_run_meanwhile_is_not_replaced(tmp_path, monkeypatch, capsys):
    """Two runs into one folder: the check before the run passed for both; the later commit must not replace."""
    import bgoptimizer.command_line.runner as cli

    image = _sky(tmp_path / "img.fits")
    out = tmp_path / "out"
    real_process = cli.process_file

    def racing(job, *args, **kwargs):
        outcome = real_process(job, *args, **kwargs)
        job.outputs[1].write_bytes(b"the other run's model")  # appears before this run's commit
        return outcome

    monkeypatch.setattr(cli, "process_file", racing)
    assert main([str(image), str(out), "--epochs", "20"]) == 1
    line = capsys.readouterr().err.strip()
    assert line == (f"bgoptimizer: error: {image}: {out / 'img_bgModel.fits'}: appeared while this run was writing "
                    "it (another run writing into the same folder?); it was left as it is and this result was not "
                    "written"), line
    assert _files(out) == ["img_bgModel.fits"]
    assert (out / "img_bgModel.fits").read_bytes() == b"the other run's model"


def test_no_clobber_commit_takes_back_the_first_file_of_the_pair(tmp_path):
    files = OutputFiles(replace=False)
    for name in ("a.bin", "b.bin"):
        with files.writing(tmp_path / name) as temporary:
            temporary.write_bytes(b"ours")
    (tmp_path / "b.bin").write_bytes(b"theirs")
    with pytest.raises(Exception, match="b.bin: appeared while this run was writing it"):
        files.commit()
    assert _files(tmp_path) == ["b.bin"] and (tmp_path / "b.bin").read_bytes() == b"theirs"


@pytest.mark.parametrize("where", ["folder is a file", "an input", "an output"])
def test_a_report_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, where):
    image = _sky(tmp_path / "img.fits")
    (tmp_path / "blocker").write_text("a file")
    report = {"folder is a file": tmp_path / "blocker" / "r.json", "an input": image,
              "an output": tmp_path / "img_bgModel.fits"}[where]
    before = _snapshot(tmp_path)
    assert main([str(image), "--epochs", "20", "--report", str(report)]) == 2
    assert "nothing was processed" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before


def test_a_report_that_fails_at_the_end_fails_the_run(tmp_path, monkeypatch, capsys):
    import bgoptimizer.runs.report as report
    from bgoptimizer.errors import OutputError

    def failing(path, write, files=None):
        raise OutputError(f"{path}: cannot write it (Input/output error)")

    image = _sky(tmp_path / "img.fits")
    monkeypatch.setattr(report, "atomic_write", failing)
    assert main([str(image), "--epochs", "20", "--report", str(tmp_path / "r.json")]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == (f"bgoptimizer: error: report: {tmp_path / 'r.json'}: cannot write it (Input/output error); "
                    "the images of 1 input were written")


def test_a_refused_or_failed_run_leaves_no_folder(tmp_path, capsys):
    image = _sky(tmp_path / "img.fits")
    with pytest.raises(SystemExit) as bad_option:
        main([str(image), str(tmp_path / "a" / "b"), "--report", str(tmp_path / "c" / "r.json"),
              "--threshold-min", "0.5", "--threshold-max", "0.4"])
    assert bad_option.value.code == 2
    (tmp_path / "bad.fits").write_bytes(b"not a fits file at all" * 200)
    blank = write_image(tmp_path / "blank.fits", np.zeros((1, 300, 400), np.float32))  # fails in its fit
    assert main([str(tmp_path / "bad.fits"), str(blank), str(tmp_path / "a" / "b")]) == 1  # every input fails
    assert main([str(image), str(tmp_path / "a" / "b"), "--mask", str(tmp_path / "none.fits")]) == 2
    assert _files(tmp_path) == ["bad.fits", "blank.fits", "img.fits"]
    assert main([str(image), str(tmp_path / "a" / "b"), "--epochs", "20"]) == 0  # made with the first file
    assert _files(tmp_path / "a" / "b") == ["img_bgModel.fits", "img_bgSubtracted.fits"]
