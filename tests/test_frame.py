"""One frame end to end (:func:`bgoptimizer.process_frame`), the recipe every front end runs."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from bgoptimizer import FitInputs, FrameOutputs, Parameters, RunControl, process_frame
from bgoptimizer.io import ImageFile, OutputFiles, read_image
from bgoptimizer.synthetic import make_scene

from .conftest import REAL


def _raw_crop() -> ImageFile:
    raw = read_image(REAL / "seestar_raw_sub_bayer_u16.fit")
    return ImageFile(np.ascontiguousarray(raw.data[:, :400, :600]), raw.header)


def test_a_raw_frame_starts_from_the_previous_fit_in_every_phase():
    params = Parameters(epochs=60, patience=1000)  # no early stop: the count says how many ran
    cold = process_frame(_raw_crop(), params, control=RunControl(device="cpu"))
    assert cold.bayer_pattern == "GRBG" and cold.report.iterations == 60  # one fit for the four phases
    warm = process_frame(_raw_crop(), params, inputs=FitInputs(initial=cold.state), control=RunControl(device="cpu"))
    assert warm.report.iterations == 60 // 5  # a fifth, as for any other warm-started frame
    assert np.abs(warm.corrected - cold.corrected).max() < 2e-3


def test_both_files_carry_the_metadata_and_history_and_appear_together(tmp_path):
    header = fits.Header({"INSTRUME": "test camera"})
    image = ImageFile(make_scene(300, 200, nebula=False, seed=2).image, header)
    corrected, model = tmp_path / "c.fits", tmp_path / "m.fits"
    with OutputFiles() as files:
        result = process_frame(image, Parameters(epochs=30),
                               outputs=FrameOutputs(corrected_path=corrected, model_path=model, files=files),
                               excluded="mask.fits", control=RunControl(device="cpu"))
        assert not corrected.exists() and not model.exists()  # not before the pair commits
        files.commit()
    for path, what in ((corrected, "background subtracted"), (model, "background model")):
        written = read_image(path)
        assert written.header["INSTRUME"] == "test camera"
        history = " ".join(written.header["HISTORY"])
        assert what in history and "excluded=mask.fits" in history
    np.testing.assert_array_equal(read_image(corrected).data, result.corrected)
    assert result.bayer_pattern is None and result.seconds >= result.write_seconds > 0


def test_an_odd_sized_raw_frame_is_fitted_phase_by_phase_to_the_same_models():
    """A mosaic one row and one column short of even has phases of two sizes: fitted one after the other
    (four reports' iterations summed), each phase's model as the joint fit's on the even frame."""
    even = _raw_crop()
    odd = ImageFile(np.ascontiguousarray(even.data[:, :399, :599]), even.header)
    params = Parameters(epochs=0)
    joint = process_frame(even, params, control=RunControl(device="cpu"))
    alone = process_frame(odd, params, control=RunControl(device="cpu"))
    assert alone.report.iterations == 0 and alone.corrected.shape == (1, 399, 599)
    for row, column in ((0, 0), (0, 1), (1, 0), (1, 1)):
        phase = (slice(None), slice(row, 399, 2), slice(column, 599, 2))
        difference = alone.corrected[phase] - joint.corrected[phase][:, : alone.corrected[phase].shape[1],
                                                                     : alone.corrected[phase].shape[2]]
        assert np.abs(np.median(difference)) < 2e-3
