"""XISF: every PixInsight-written test file, round trips, orientation across formats, corrupt files."""

import base64
import hashlib
import re

import numpy as np
import pytest
import xisf
from astropy.io import fits

from bgoptimizer.errors import FileFormatError
from bgoptimizer.io import read_image, write_image
from bgoptimizer.io.xisf_reader import read_xisf_image

from .conftest import M94, XISF

# Constant value of each file, from shared/data/README.md.
EXPECTED = {
    "400x300-f32.xisf": (np.float32, 0.5),
    "400x300-f64.xisf": (np.float64, 0.5),
    "400x300-u8.xisf": (np.uint8, 128),
    "400x300-u16.xisf": (np.uint16, 32768),
    "400x300-u32.xisf": (np.uint32, 2147483648),
    "40x30-u16-embedded.xisf": (np.uint16, 32768),
    "200x150-u16-zstd-shuffle-process-history-display-function-icc-sha1.xisf": (np.uint16, 32768),
}
FILES = sorted(p.name for p in XISF.glob("*.xisf"))


def test_all_twenty_files_are_covered():
    assert len(FILES) == 20


@pytest.mark.parametrize("name", FILES)
def test_every_pixinsight_file_reads_with_the_right_values(name):
    image = read_xisf_image(XISF / name)
    width, height = (int(v) for v in re.match(r"(\d+)x(\d+)", name).groups()) if name[0].isdigit() else (8, 10)
    assert image.samples.shape == (1, height, width)
    if name.startswith("test"):
        assert image.samples.dtype == np.uint16
        assert list(image.samples[0, 0]) == [5, 7, 4, 2, 1, 1, 1, 5]  # top row, XISF order
        assert list(image.samples[0, 1]) == [6, 4, 3, 6, 7, 5, 1, 6]
        assert int(image.samples.sum()) == 390
        return
    dtype, value = EXPECTED.get(name, (np.uint16, 42))
    assert image.samples.dtype == dtype
    assert np.all(image.samples == value)
    scaled = read_image(XISF / name).data  # integers scaled to [0, 1] like FITS integers
    assert scaled.dtype == np.float32
    expected = value if dtype in (np.float32, np.float64) else value / np.iinfo(dtype).max
    assert np.allclose(scaled, expected, rtol=1e-6)


def test_test_file_rows_come_out_in_fits_order():
    data = read_image(XISF / "test.xisf").data
    assert list(np.rint(data[0, -1] * 65535)) == [5, 7, 4, 2, 1, 1, 1, 5]


def test_keywords_are_read_without_the_source_sample_format():
    header = read_image(XISF / "test.xisf").header
    assert (header["INSTRUME"], header["ROWORDER"], header["MEAN1"]) == ("CCD Simulator", "TOP-DOWN", 4.0625)
    assert "BZERO" not in header and "BITPIX" not in header  # 16-bit storage: not true of what we write


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_is_bit_exact_for_us_and_the_xisf_package(tmp_path, channels, compress):
    source = read_image(M94)
    data = np.ascontiguousarray(source.data[:channels, :200, :150])
    path = write_image(tmp_path / "out.xisf", data, source.header, compress=compress)
    assert np.array_equal(read_image(path).data, data)
    by_package = xisf.XISF(str(path)).read_image(0)  # (H, W, C), top row first
    assert np.array_equal(np.moveaxis(by_package, -1, 0)[:, ::-1], data)
    assert (b'compression="zstd+sh:' in path.read_bytes()[:8192]) == compress


@pytest.mark.parametrize("name", ["test.xisf", "200x150-u16-zstd-shuffle-process-history-display-function-icc-sha1.xisf"])
def test_properties_and_keywords_survive_a_rewrite(tmp_path, name):
    source = read_image(XISF / name)
    source.header.add_history("added by a test")
    path = write_image(tmp_path / "copy.xisf", source.data, source.header, source.properties)
    again = read_image(path)
    assert list(again.header.items()) == list(source.header.items())
    assert again.properties == source.properties
    assert len(source.header) + len(source.properties) > 1  # each file brings metadata to keep


def test_orientation_is_kept_across_formats(tmp_path):
    # An asymmetric picture: a bright block in the top-left corner as XISF (and PixInsight) shows it.
    picture = np.full((40, 60, 1), 0.1, np.float32)
    picture[:10, :15] = 0.9
    xisf.XISF.write(str(tmp_path / "corner.xisf"), picture)
    as_read = read_image(tmp_path / "corner.xisf")
    fits_path = write_image(tmp_path / "corner.fits", as_read.data)
    stored = fits.getdata(fits_path)  # FITS row 0 is the bottom row
    assert stored[-1, 0] == np.float32(0.9) and stored[0, 0] == np.float32(0.1)
    back = write_image(tmp_path / "back.xisf", read_image(fits_path).data)
    assert np.array_equal(xisf.XISF(str(back)).read_image(0), picture)


def _header(content: bytes) -> tuple[int, str]:
    size = int.from_bytes(content[8:12], "little")
    return size, content[16 : 16 + size].decode()


def _with_header(content: bytes, text: str) -> bytes:
    encoded = text.encode()
    rest = content[16 + _header(content)[0] :]
    return content[:8] + len(encoded).to_bytes(4, "little") + content[12:16] + encoded + rest


def _corrupt(tmp_path, name, change) -> str:
    path = tmp_path / name
    path.write_bytes(change((XISF / name).read_bytes()))
    with pytest.raises(FileFormatError) as error:
        read_image(path)
    assert name in str(error.value)
    return str(error.value)


def test_truncated_file(tmp_path):
    message = _corrupt(tmp_path, "400x300-u16.xisf", lambda c: c[:100_000])
    assert "outside the file" in message


def test_bad_signature(tmp_path):
    assert "bad signature" in _corrupt(tmp_path, "400x300-u16-zlib.xisf", lambda c: b"XISF0200" + c[8:])


def test_unknown_codec(tmp_path):
    def change(content):
        return _with_header(content, _header(content)[1].replace('compression="zstd', 'compression="brotli'))

    assert "unknown compression codec 'brotli'" in _corrupt(tmp_path, "400x300-u16-zstd.xisf", change)


def test_checksum_mismatch_on_attachment(tmp_path):
    def change(content):
        flipped = bytearray(content)
        flipped[4096 + 1000] ^= 0xFF
        return bytes(flipped)

    assert "checksum mismatch (sha256)" in _corrupt(tmp_path, "400x300-u16-sha256.xisf", change)


def test_checksum_mismatch_on_embedded_block(tmp_path):
    name = "200x150-u16-zstd-shuffle-process-history-display-function-icc-sha1.xisf"

    def change(content):
        text = _header(content)[1]
        digest = hashlib.sha1(b"something else").hexdigest()
        return _with_header(content, re.sub(r'checksum="sha1:[0-9a-f]+"', f'checksum="sha1:{digest}"', text))

    assert "checksum mismatch (sha1)" in _corrupt(tmp_path, name, change)


def test_block_outside_the_file(tmp_path):
    def change(content):
        return _with_header(content, _header(content)[1].replace("attachment:4096:", "attachment:999999:"))

    assert "lies outside the file" in _corrupt(tmp_path, "400x300-u16.xisf", change)


def test_corrupt_embedded_data(tmp_path):
    def change(content):
        text = _header(content)[1]
        payload = re.search(r'encoding="base64">([^<]+)<', text).group(1)
        broken = base64.b64encode(b"\x00" * 30).decode()
        return _with_header(content, text.replace(payload, broken))

    assert "cannot be decompressed" in _corrupt(tmp_path, "400x300-u16-zstd-shuffle.xisf", change)


def test_cli_errors_do_not_write(tmp_path, capsys):
    from bgoptimizer.command_line.main import main

    bad = tmp_path / "bad.xisf"
    bad.write_bytes(b"NOTXISF!" + b"\0" * 100)
    assert main([str(bad)]) == 1
    assert "bad.xisf: not an XISF file (bad signature)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [bad]


def _thumbnail(path):
    """The thumbnail's 8-bit samples ``(C, h, w)``, top row first, from the attachment the header names."""
    content = path.read_bytes()
    size = int.from_bytes(content[8:12], "little")
    header = content[16:16 + size].decode()
    found = re.search(r'<Thumbnail geometry="(\d+):(\d+):(\d+)" sampleFormat="UInt8" colorSpace="(\w+)" '
                      r'location="attachment:(\d+):(\d+)"/>', header)
    width, height, channels, _, position, length = (int(v) if v.isdigit() else v for v in found.groups())
    assert length == width * height * channels
    return np.frombuffer(content[position:position + length], np.uint8).reshape(channels, height, width)


@pytest.mark.parametrize("compress", [[], ["--compress"]])
def test_the_icc_profile_is_kept_and_the_thumbnail_shows_the_corrected_image(tmp_path, compress):
    """PixInsight's ICC profile (from its own file) on a real sky (the M94 stack): kept byte for byte; the
    thumbnail is made from the written image (a third of its pixels per side at most 400), not the input's."""
    from bgoptimizer.command_line.main import main
    from bgoptimizer.io.xisf_reader import ICC_PROFILE

    profile = read_xisf_image(XISF / "400x300-f32.xisf").properties[ICC_PROFILE]
    assert len(profile["value"]) > 1000
    source = read_image(M94)
    path = write_image(tmp_path / "m94.xisf", source.data, source.header, {ICC_PROFILE: profile})
    assert main([str(path), "--epochs", "20", *compress]) == 0
    for name in ("m94_bgSubtracted.xisf", "m94_bgModel.xisf"):
        output = tmp_path / name
        assert read_xisf_image(output).properties[ICC_PROFILE]["value"] == profile["value"]
        thumbnail = _thumbnail(output)
        written = read_image(output).data
        assert thumbnail.shape == (3, 384, 216)  # 1080x1920 / 5
        blocks = written[:, ::-1].reshape(3, 384, 5, 216, 5).mean(axis=(2, 4))  # top row first
        ranks = [np.corrcoef(np.argsort(np.argsort(t.ravel())), np.argsort(np.argsort(b.ravel())))[0, 1]
                 for t, b in zip(thumbnail.astype(np.float64), blocks)]
        assert min(ranks) > 0.9, ranks  # the same picture, monotonically stretched
        assert 40 < np.median(thumbnail) < 90  # the sky's median near a quarter of white
    assert xisf.XISF(str(tmp_path / "m94_bgSubtracted.xisf")).read_image(0).shape == (1920, 1080, 3)
