"""Sequence mode of the Siril plugin: real frames (M94 crops, each with its own gradient) via the sirilpy double."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from bgoptimizer import Parameters

from .conftest import M94, injected_gradient
from .test_siril_plugin import run_script

# (row, column) corners of the 240x320 crops; the fourth frame is blank (all pixels missing).
CORNERS = [(0, 0), (300, 200), (700, 100), None, (1200, 600)]


def _quadrant_spread(image: np.ndarray) -> float:
    """Peak-to-peak of the four quadrant medians of the first channel: what a gradient leaves."""
    channel = image[0]
    h, w = channel.shape[0] // 2, channel.shape[1] // 2
    return float(np.ptp([np.median(channel[r:r + h, c:c + w]) for r in (0, h) for c in (0, w)]))


@pytest.fixture
def frames(siril, sirilpy, m94, tmp_path):
    """Five frames light_00001..5.fit in Siril's working directory; the third is excluded."""
    header = fits.getheader(M94)
    paths, truths = [], []
    for number, corner in enumerate(CORNERS, 1):
        if corner is None:
            pixels = np.zeros((3, 240, 320), np.float32)
        else:
            crop = m94[:, corner[0]:corner[0] + 240, corner[1]:corner[1] + 320]
            sky = float(np.median(crop))
            shape = injected_gradient(240, 320, sky * number / 2)
            pixels = (crop + (shape if number % 2 else shape[::-1, ::-1])).astype(np.float32)
        path = tmp_path / f"light_{number:05d}.fit"
        fits.PrimaryHDU(pixels, header=header).writeto(path)
        paths.append(path)
        truths.append(pixels)
    siril.sequence = sirilpy.SequenceState("light_", paths, [True, True, False, True, True])
    return paths, truths


def test_sequence_corrects_included_frames_and_reports_the_bad_one(siril, sirilpy, frames, monkeypatch, tmp_path):
    paths, inputs = frames
    originals = [p.read_bytes() for p in paths]

    run_script(monkeypatch, "--sequence", "--save-models", "--epochs", "150")

    written = sorted(p.name for p in tmp_path.glob("bkg_light_*.fit"))
    assert written == ["bkg_light_00001.fit", "bkg_light_00002.fit", "bkg_light_00005.fit"]
    assert siril.created_sequences == ["bkg_light_"] and (tmp_path / "bkg_light_.seq").is_file()
    assert [p.read_bytes() for p in paths] == originals  # the original sequence is untouched
    (failure,) = [line for line in siril.lines(sirilpy.LogColor.RED)]
    assert "frame 4/5 (light_00004.fit)" in failure and "no valid pixel" in failure
    (summary,) = siril.lines(sirilpy.LogColor.SALMON)
    assert "3 frames corrected" in summary and "1 excluded skipped" in summary and "failed: frame 4" in summary
    for number in (1, 2, 5):
        corrected = fits.getdata(tmp_path / f"bkg_light_{number:05d}.fit")
        assert corrected.dtype.kind == "f" and corrected.shape == (3, 240, 320)
        source = inputs[number - 1]
        assert _quadrant_spread(corrected) < 0.15 * _quadrant_spread(source)
        model = fits.getdata(tmp_path / f"light_{number:05d}_bgModel.fit")
        # Corrected = frame - its model + a level per channel.
        assert np.std(corrected - (source - model), axis=(1, 2)).max() < 1e-5
        header = fits.getheader(tmp_path / f"bkg_light_{number:05d}.fit")
        assert header["INSTRUME"] == "Seestar S50"
        assert "background subtracted" in " ".join(header["HISTORY"])  # the run recorded in the frame
    assert any(message.startswith("Background Optimizer: Frame 5/5") for message, _ in siril.progress)


def test_cancel_keeps_finished_frames(siril, sirilpy, frames, tmp_path):
    from bgoptimizer_siril.options import OutputOptions
    from bgoptimizer_siril.sequence import process_sequence

    paths, _ = frames
    originals = [p.read_bytes() for p in paths]
    interface = sirilpy.SirilInterface()

    def cancel_after_first_frame() -> bool:
        return any(tmp_path.glob("bkg_*.fit"))

    outcome = process_sequence(
        interface, Parameters(epochs=100), OutputOptions(sequence=True), cancel=cancel_after_first_frame
    )
    assert outcome.cancelled and outcome.processed == [0] and not outcome.succeeded
    assert [p.name for p in tmp_path.glob("bkg_*.fit")] == ["bkg_light_00001.fit"]
    assert [p.read_bytes() for p in paths] == originals
    assert "cancelled" in outcome.summary()


def test_single_file_sequences_are_refused_clearly(siril, sirilpy, frames, monkeypatch, tmp_path):
    siril.sequence.type = sirilpy.SequenceType.SEQ_FITSEQ
    run_script(monkeypatch, "--sequence")
    (line,) = siril.lines(sirilpy.LogColor.RED)
    assert "FITSEQ sequence" in line and "sequences of FITS files" in line
    assert not list(tmp_path.glob("bkg_*"))


def test_sequence_mode_without_a_sequence(siril, sirilpy, monkeypatch):
    run_script(monkeypatch, "-seq")
    (line,) = siril.lines(sirilpy.LogColor.RED)
    assert "no sequence is loaded" in line


def test_bad_prefix_is_named(siril, sirilpy, frames, monkeypatch, tmp_path):
    run_script(monkeypatch, "--sequence", "--prefix", "out/")
    (line,) = siril.lines(sirilpy.LogColor.RED)
    assert "prefix 'out/'" in line
    assert not list(tmp_path.glob("*bkg*"))


def test_sequence_frames_are_normalized_to_the_reference_frame(siril, sirilpy, m94, monkeypatch, tmp_path):
    """One registered sky (an M94 crop) under a different gradient and transparency per frame; the
    sequence's reference is frame 2: it is written unchanged, the others brought to its background."""
    crop = m94[:, 300:540, 200:520]
    sky = float(np.median(crop))
    paths = []
    for number, scale in enumerate((0.85, 1.0, 0.9), 1):
        shape = injected_gradient(240, 320, sky * number)
        pixels = (scale * crop + (shape if number % 2 else shape[::-1, ::-1])).astype(np.float32)
        path = tmp_path / f"light_{number:05d}.fit"
        fits.PrimaryHDU(pixels, header=fits.getheader(M94)).writeto(path)
        paths.append(path)
    siril.sequence = sirilpy.SequenceState("light_", paths, [True, True, True], reference_image=1)

    run_script(monkeypatch, "--sequence", "--normalize")

    assert siril.created_sequences == ["norm_light_"]
    reference = fits.getdata(paths[1])
    np.testing.assert_array_equal(fits.getdata(tmp_path / "norm_light_00002.fit"), reference)
    for number in (1, 3):
        source = fits.getdata(paths[number - 1])
        normalized = fits.getdata(tmp_path / f"norm_light_{number:05d}.fit")
        assert _quadrant_spread(normalized - reference) < 0.1 * _quadrant_spread(source - reference)
        assert "normalized to light_00002.fit, scale" in " ".join(fits.getheader(
            tmp_path / f"norm_light_{number:05d}.fit")["HISTORY"])
    (summary,) = siril.lines(sirilpy.LogColor.GREEN)
    assert "3 frames normalized" in summary and "new sequence norm_light_" in summary


def test_frames_that_are_not_registered_are_refused_and_the_others_normalized(siril, sirilpy, frames,
                                                                               monkeypatch, tmp_path):
    """Issue 39, item 6, in Siril: the fixture's frames are crops of different parts of M94 (not a registered
    sequence); each is refused in one red line naming it, the reference is still written."""
    run_script(monkeypatch, "--sequence", "--normalize")
    failed = siril.lines(sirilpy.LogColor.RED)
    assert len(failed) == 3, failed  # frames 2 and 5 differ from the reference (frame 1); 4 is blank
    for line, number in zip(failed, (2, 4, 5)):
        assert line.startswith(f"Background Optimizer: frame {number}/5 (light_{number:05d}.fit) failed: "), line
    assert sum("does not match the reference" in line and line.endswith("register the frames first")
               for line in failed) == 2, failed
    assert "failed: has no pixels in common with the reference" in failed[1], failed
    assert sorted(p.name for p in tmp_path.glob("norm_*.fit")) == ["norm_light_00001.fit"]
