"""One frame end to end (:func:`bgoptimizer.process_frame`), the recipe every front end runs."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from bgoptimizer import FrameOutputs, Parameters, RunControl, process_frame
from bgoptimizer.io import ImageFile, OutputFiles, read_image
from bgoptimizer.synthetic import make_scene


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
