import threading

import numpy as np
import pytest
from astropy.io import fits

from bgoptimizer.errors import FileFormatError, InputImageError, OutputError
from bgoptimizer.io import fits_band_writer, image_band_writer, read_image, write_image

from .conftest import M94, RAW_U16


def test_real_stack_reads_planar_float32():
    image = read_image(M94)
    assert image.data.shape == (3, 1920, 1080) and image.data.dtype == np.float32
    raw = fits.getdata(M94)
    assert np.array_equal(image.data, raw.astype(np.float32))  # same rows: FITS order kept
    assert image.header["INSTRUME"] == fits.getheader(M94)["INSTRUME"]


def test_raw_u16_camera_frame_scales_to_unit_range():
    image = read_image(RAW_U16)
    raw = fits.getdata(RAW_U16)  # astropy applies BZERO: uint16
    assert raw.dtype == np.uint16
    assert image.data.shape == (1, 1920, 1080)
    assert image.data.min() >= 0.0 and image.data.max() <= 1.0
    assert np.allclose(image.data[0], raw / 65535.0, atol=1e-7)
    assert image.header["BAYERPAT"] == fits.getheader(RAW_U16)["BAYERPAT"]


@pytest.mark.parametrize("compress", [False, True])
def test_fits_round_trip_keeps_values_and_keywords(tmp_path, compress):
    source = read_image(M94)
    header = source.header.copy()
    header.add_history("bgoptimizer test: round trip")
    path = write_image(tmp_path / "out.fits", source.data, header, compress=compress)
    again = read_image(path)
    assert np.array_equal(again.data, source.data)
    for key in ("INSTRUME", "EXPTIME", "DATE-OBS"):
        assert again.header[key] == source.header[key]
    assert "bgoptimizer test: round trip" in str(again.header["HISTORY"])
    stored = fits.getheader(path, 1 if compress else 0, disable_image_compression=True)  # as written
    assert stored["ZBITPIX" if compress else "BITPIX"] == -32 and "BZERO" not in stored
    assert not list(tmp_path.glob(".*.part"))


def test_integer_fits_with_bzero_round_trips_to_float(tmp_path):
    data = np.array([[0, 1000], [40000, 65535]], np.uint16)
    path = tmp_path / "u16.fit"
    fits.PrimaryHDU(data).writeto(path)  # astropy writes BZERO=32768
    assert fits.getheader(path)["BZERO"] == 32768
    assert np.allclose(read_image(path).data[0], data / 65535.0)


def test_signed_bytes_scale_to_the_unit_range(tmp_path):
    """FITS signed bytes are BITPIX 8 with BZERO -128: -128..127 read as 0..1, like the bytes they are."""
    data = np.array([[-128, -1], [0, 127]], np.int8)
    path = tmp_path / "i8.fit"
    fits.PrimaryHDU(data).writeto(path)
    assert fits.getheader(path)["BZERO"] == -128
    np.testing.assert_allclose(read_image(path).data[0], (data.astype(np.float64) + 128) / 255, atol=1e-7)


def test_a_truncated_fits_says_so(tmp_path):
    path = tmp_path / "cut.fits"
    fits.PrimaryHDU(np.ones((100, 120), np.float32)).writeto(path)
    path.write_bytes(path.read_bytes()[:25920])
    with pytest.raises(FileFormatError, match=r"cut.fits: the file is truncated: 25920 bytes of the 51840 its header "
                       r"announces \(an interrupted copy or download\?\)$"):
        read_image(path)


def test_float64_beyond_float32_is_refused_by_name(tmp_path, recwarn):
    data = np.full((20, 30), 1e39)
    data[0, 0] = np.inf  # a real infinity beside: the range is what is named
    path = tmp_path / "huge.fits"
    fits.PrimaryHDU(data).writeto(path)
    with pytest.raises(InputImageError, match=r"huge.fits has pixel values up to 1e\+39, beyond the 32-bit float range"):
        read_image(path)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_unknown_extension_and_missing_file_are_named(tmp_path):
    with pytest.raises(FileFormatError, match=r"unsupported file type '\.png'"):
        read_image(tmp_path / "image.png")
    with pytest.raises(FileFormatError, match="no such file"):
        read_image(tmp_path / "absent.fits")


def test_corrupt_fits_is_a_format_error(tmp_path):
    path = tmp_path / "broken.fits"
    path.write_bytes(b"SIMPLE  =                    T" + b"garbage" * 100)
    with pytest.raises(FileFormatError, match="broken.fits"):
        read_image(path)


def test_failed_write_leaves_no_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        write_image(blocker / "out.fits", np.zeros((1, 4, 4), np.float32))
    assert list(tmp_path.iterdir()) == [blocker]


@pytest.mark.parametrize("channels", [1, 3])
def test_fits_written_in_bands_is_the_file_written_whole(tmp_path, channels):
    data = np.random.default_rng(0).random((channels, 37, 53), dtype=np.float32)
    header = fits.Header()
    header["OBJECT"] = "M94"
    header.add_history("stacked")
    whole = write_image(tmp_path / "whole.fits", data, header)

    with fits_band_writer(tmp_path / "banded.fits", data.shape, header) as sink:
        for top in (30, 0, 10, 20):  # any order: each band lands at its rows
            sink(top, data[:, top : top + 10])
    assert (tmp_path / "banded.fits").read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("name", ["model.fits", "model.xisf"])
@pytest.mark.parametrize("compress", [False, True])
def test_bands_failing_midway_leave_no_file(tmp_path, name, compress):
    """The computation that delivers the bands fails inside the writer's block (a cancelled fit)."""
    with pytest.raises(RuntimeError, match="cancelled"), \
            image_band_writer(tmp_path / name, (1, 4, 4), compress=compress) as sink:
        sink(0, np.zeros((1, 2, 4), np.float32))
        raise RuntimeError("fit cancelled")
    assert list(tmp_path.iterdir()) == []


def _fitsverify(path) -> str:
    """fitsverify's verdict; CI installs it, elsewhere the check is skipped when it is missing."""
    import os
    import shutil
    import subprocess

    if shutil.which("fitsverify") is None:
        if os.environ.get("CI"):
            pytest.fail("fitsverify is not installed (.ci/run installs it)")
        pytest.skip("fitsverify is not installed")
    return subprocess.run(["fitsverify", "-q", str(path)], capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("shape", [(1, 37, 53), (3, 50, 20), (3, 16, 9)])
def test_compressed_fits_reads_back_bit_exact_and_verifies(tmp_path, monkeypatch, shape, wide):
    import bgoptimizer.io.fits_tiles as tiles

    if wide:  # 64-bit descriptors, which images above 2 GB get
        monkeypatch.setattr(tiles, "_WIDE_BYTES", 0)
    data = np.random.default_rng(1).random(shape, dtype=np.float32)
    data[0, 3, 4] = np.nan
    header = fits.Header()
    header["OBJECT"] = ("M94", "target")
    header["ZENITH"] = 12.5  # a user keyword that only looks like the convention's
    header.add_history("stacked")
    path = write_image(tmp_path / "c.fits", data, header, compress=True)
    table = fits.getheader(path, 1, disable_image_compression=True)
    assert (table["ZCMPTYPE"], table["ZQUANTIZ"], table["ZTILE2"]) == ("GZIP_2", "NONE", min(16, shape[1]))
    assert table["TFORM1"].startswith("1QB" if wide else "1PB")
    with fits.open(path) as hdus:
        np.testing.assert_array_equal(hdus[1].data, data[0] if shape[0] == 1 else data)
        assert hdus[1].header["OBJECT"] == "M94" and hdus[1].header["ZENITH"] == 12.5
        assert "stacked" in str(hdus[1].header["HISTORY"])
    assert _fitsverify(path) == f"verification OK: {path}"
    assert _gzip_threads() == []  # the writer's threads end with it: none outlives the file


def _gzip_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("bgoptimizer-gzip")]


def test_compressed_fits_bands_must_come_in_order(tmp_path):
    with pytest.raises(ValueError, match="top to bottom: row 10 after 0"), \
            fits_band_writer(tmp_path / "model.fits", (1, 20, 4), fits.Header(), compress=True) as sink:
        sink(10, np.zeros((1, 10, 4), np.float32))
    assert list(tmp_path.iterdir()) == []
    assert _gzip_threads() == []


@pytest.mark.parametrize("options", [(), ("--compress",)])
def test_every_fits_the_cli_writes_passes_fitsverify(tmp_path, options):
    from bgoptimizer.command_line.main import main

    for source in (M94, RAW_U16):
        assert main([str(source), str(tmp_path), "--epochs", "20", *options]) == 0
    written = sorted(tmp_path.glob("*_bg*.fit"))
    assert len(written) == 4
    for path in written:
        assert _fitsverify(path) == f"verification OK: {path}"


@pytest.mark.parametrize("compress", [False, True])
def test_keep_bit_depth_writes_the_inputs_integers(tmp_path, compress):
    """The real 16-bit raw frame (BZERO 32768): the corrected image as uint16, the same values as the float
    output rounded; the model stays float; both pass fitsverify."""
    from bgoptimizer.command_line.main import main

    options = ["--epochs", "20", *(["--compress"] if compress else [])]
    assert main([str(RAW_U16), str(tmp_path / "float"), *options]) == 0
    assert main([str(RAW_U16), str(tmp_path / "kept"), "--keep-bit-depth", *options]) == 0
    corrected, model = (tmp_path / "kept" / f"{RAW_U16.stem}{tag}.fit" for tag in ("_bgSubtracted", "_bgModel"))
    header = fits.getheader(corrected, int(compress))
    assert (header["BITPIX"], header["BZERO"]) == (16, 32768)
    assert fits.getheader(model, int(compress))["BITPIX"] == -32
    kept = fits.getdata(corrected)
    assert kept.dtype == np.uint16
    as_float = read_image(tmp_path / "float" / corrected.name).data[0]
    np.testing.assert_array_equal(kept, np.rint(as_float.astype(np.float64) * 65535).astype(np.uint16))
    np.testing.assert_allclose(read_image(corrected).data[0], as_float, atol=0.5 / 65535 + 1e-7)
    for path in (corrected, model):
        assert _fitsverify(path) == f"verification OK: {path}"


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("sample_type", [np.uint8, np.uint16])
def test_keep_bit_depth_in_xisf(tmp_path, compress, sample_type):
    import xisf

    from bgoptimizer.command_line.main import main
    from bgoptimizer.synthetic import make_scene

    largest = np.iinfo(sample_type).max
    scene = make_scene(300, 200, nebula=False, seed=2).image
    source = tmp_path / "in.fits"
    fits.PrimaryHDU(np.rint(scene * largest).astype(sample_type)).writeto(source)
    options = ["--epochs", "20", "--format", "xisf", *(["--compress"] if compress else [])]
    assert main([str(source), str(tmp_path / "float"), *options]) == 0
    assert main([str(source), str(tmp_path / "kept"), "--keep-bit-depth", *options]) == 0
    written = tmp_path / "kept" / "in_bgSubtracted.xisf"
    other = xisf.XISF(str(written))  # a second reader
    assert other.get_images_metadata()[0]["dtype"] == np.dtype(sample_type)
    kept = read_image(written).data
    as_float = read_image(tmp_path / "float" / written.name).data
    np.testing.assert_array_equal(np.rint(kept * largest), np.rint(as_float.astype(np.float64) * largest))


def test_keep_bit_depth_refuses_signed_integers_in_xisf_before_the_fit(tmp_path, capsys):
    from bgoptimizer.command_line.main import main

    source = tmp_path / "signed.fits"
    fits.PrimaryHDU(np.full((200, 300), 1000, np.int16)).writeto(source)
    assert main([str(source), "--format", "xisf", "--keep-bit-depth"]) == 1
    line = capsys.readouterr().err.strip()
    assert line == (f"bgoptimizer: error: {source}: XISF has no signed integer samples (int16); write FITS "
                    "(--format fits) or 32-bit floats"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signed.fits"]
