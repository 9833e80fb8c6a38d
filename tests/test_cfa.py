"""Raw CFA frames (method/cfa.py): the phases fitted together from the previous fit, and an odd-sized
mosaic phase by phase to the same models."""

from __future__ import annotations

import numpy as np

from bgoptimizer import FitInputs, Parameters, RunControl, process_frame
from bgoptimizer.io import ImageFile, read_image

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
