"""A small, strict XISF 1.0 image reader.

The ``xisf`` package cannot read data blocks embedded in the header (PixInsight
writes small and compressed images that way) and never verifies checksums, so
reading is done here: monolithic files with attachment, inline or embedded
blocks (base64 or hex), zlib / lz4 / lz4hc / zstd compression with or without
byte shuffling, sha1 / sha256 / sha512 checksums, planar or normal pixel storage.
Writing is :mod:`.xisf_io`'s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import xml.etree.ElementTree as ElementTree
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError

__all__ = ["SIGNATURE", "ICC_PROFILE", "XisfImage", "read_xisf_image"]

SIGNATURE = b"XISF0100"
_NAMESPACE = "{http://www.pixinsight.com/xisf}"
_SAMPLE_TYPES = {
    "UInt8": np.uint8,
    "UInt16": np.uint16,
    "UInt32": np.uint32,
    "UInt64": np.uint64,
    "Float32": np.float32,
    "Float64": np.float64,
}
_DIGESTS = {"sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256",
            "sha512": "sha512", "sha-512": "sha512"}
# Property types whose value is a plain scalar or string, kept for output.
_SCALAR_PROPERTY_TYPES = ("Boolean", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32",
                          "UInt64", "Float32", "Float64", "String", "TimePoint")


# The key under which the image's ICC profile (its colour space) rides with the properties: the profile's
# bytes, written back as an ICCProfile element.
ICC_PROFILE = "ICCProfile"


@dataclass
class XisfImage:
    """Samples ``(C, H, W)`` in XISF row order (top row first) and the image's metadata."""

    samples: np.ndarray
    keywords: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, comment)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)


def _tag(element: ElementTree.Element) -> str:
    return element.tag.removeprefix(_NAMESPACE)


def _decompress(block: bytes, spec: str, source: str) -> bytes:
    parts = spec.split(":")
    codec, shuffled = parts[0], parts[0].endswith("+sh")
    codec = codec.removesuffix("+sh")
    try:
        size = int(parts[1])
        item_size = int(parts[2]) if len(parts) > 2 else 1
    except (IndexError, ValueError):
        raise FileFormatError(f"{source}: malformed compression attribute {spec!r}") from None
    try:
        if codec == "zlib":
            raw = zlib.decompress(block)
        elif codec in ("lz4", "lz4hc"):
            import lz4.block

            raw = lz4.block.decompress(block, uncompressed_size=size)
        elif codec == "zstd":
            import zstandard

            raw = zstandard.ZstdDecompressor().decompress(block, max_output_size=size)
        else:
            raise FileFormatError(f"{source}: unknown compression codec {codec!r}")
    except FileFormatError:
        raise
    except Exception as error:  # each codec raises its own error type on corrupt data
        raise FileFormatError(f"{source}: {codec} data cannot be decompressed ({error})") from None
    if len(raw) != size:
        raise FileFormatError(f"{source}: {codec} block gives {len(raw)} bytes, expected {size}")
    return _unshuffle(raw, item_size) if shuffled and item_size > 1 else raw


def _unshuffle(data: bytes, item_size: int) -> bytes:
    """Undo XISF byte shuffling: byte k of every item was stored together, for each k."""
    count = len(data) // item_size
    body = np.frombuffer(data, np.uint8, count * item_size).reshape(item_size, count).T
    return body.tobytes() + data[count * item_size :]


def _decode_text(text: str, encoding: str, source: str) -> bytes:
    compact = "".join(text.split())
    try:
        if encoding == "base64":
            return base64.b64decode(compact, validate=True)
        if encoding in ("hex", "base16"):
            return binascii.unhexlify(compact)
    except (binascii.Error, ValueError):
        raise FileFormatError(f"{source}: corrupt {encoding} data block") from None
    raise FileFormatError(f"{source}: unknown data block encoding {encoding!r}")


def _block(
    image: ElementTree.Element, content: bytes, header_end: int, source: str
) -> tuple[bytes, str | None, str | None]:
    """The stored bytes of an element's data block (the image's, its ICC profile's), its checksum and its
    compression attributes."""
    location = image.get("location", "")
    kind = location.split(":")[0]
    checksum, compression = image.get("checksum"), image.get("compression")
    if kind == "attachment":
        try:
            _, position, size = location.split(":")
            start, length = int(position), int(size)
        except ValueError:
            raise FileFormatError(f"{source}: malformed location {location!r}") from None
        if start < header_end or start + length > len(content):
            raise FileFormatError(
                f"{source}: data block at bytes {start}-{start + length} lies outside the file "
                f"({len(content)} bytes): truncated or corrupt"
            )
        return content[start : start + length], checksum, compression
    if kind == "inline":
        encoding = location.split(":")[1] if ":" in location else ""
        return _decode_text(image.text or "", encoding, source), checksum, compression
    if kind == "embedded":
        data = next((child for child in image if _tag(child) == "Data"), None)
        if data is None:
            raise FileFormatError(f"{source}: embedded image without a Data element")
        block = _decode_text(data.text or "", data.get("encoding", ""), source)
        return block, data.get("checksum", checksum), data.get("compression", compression)
    raise FileFormatError(f"{source}: unsupported data block location {location!r}")


def _verify(block: bytes, checksum: str | None, source: str) -> None:
    if not checksum:
        return
    algorithm, _, expected = checksum.partition(":")
    name = _DIGESTS.get(algorithm.lower())
    if name is None:
        raise FileFormatError(f"{source}: unsupported checksum algorithm {algorithm!r}")
    if hashlib.new(name, block).hexdigest() != expected.lower():
        raise FileFormatError(f"{source}: checksum mismatch ({algorithm}): the data block is corrupt")


def _metadata(image: ElementTree.Element, content: bytes, header_end: int,
              source: str) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, Any]]]:
    """The FITS keywords, the scalar properties and the ICC profile (a thumbnail is made anew by the writer)."""
    keywords, properties = [], {}
    for child in image:
        if _tag(child) == "FITSKeyword":
            keywords.append((child.get("name", ""), child.get("value", ""), child.get("comment", "")))
        elif _tag(child) == "Property" and child.get("type") in _SCALAR_PROPERTY_TYPES:
            value = child.get("value", child.text or "")
            properties[child.get("id", "")] = {"id": child.get("id", ""), "type": child.get("type"), "value": value}
        elif _tag(child) == ICC_PROFILE:
            block, checksum, compression = _block(child, content, header_end, source)
            _verify(block, checksum, source)
            profile = _decompress(block, compression, source) if compression else block
            properties[ICC_PROFILE] = {"id": ICC_PROFILE, "type": ICC_PROFILE, "value": profile}
    return keywords, properties


def read_xisf_image(path: str | Path) -> XisfImage:
    """Read the first image of a monolithic XISF file, verifying its checksum."""
    source = str(path)
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise FileFormatError(f"{source}: cannot read ({error.strerror})") from None
    if content[:8] != SIGNATURE:
        raise FileFormatError(f"{source}: not an XISF file (bad signature)")
    if len(content) < 16:
        raise FileFormatError(f"{source}: truncated XISF file")
    (header_size,) = struct.unpack("<I", content[8:12])
    header_end = 16 + header_size
    if header_end > len(content):
        raise FileFormatError(f"{source}: truncated XISF file (header of {header_size} bytes)")
    try:
        root = ElementTree.fromstring(content[16:header_end])
    except ElementTree.ParseError as error:
        raise FileFormatError(f"{source}: corrupt XISF header ({error})") from None
    image = next((child for child in root if _tag(child) == "Image"), None)
    if image is None:
        raise FileFormatError(f"{source}: no image in this XISF file")

    try:
        width, height, channels = (int(v) for v in image.get("geometry", "").split(":"))
    except ValueError:
        raise FileFormatError(f"{source}: unsupported geometry {image.get('geometry')!r}") from None
    sample_format = image.get("sampleFormat", "")
    if sample_format not in _SAMPLE_TYPES:
        raise FileFormatError(f"{source}: unsupported sample format {sample_format!r}")
    dtype = np.dtype(_SAMPLE_TYPES[sample_format]).newbyteorder(">" if image.get("byteOrder") == "big" else "<")

    block, checksum, compression = _block(image, content, header_end, source)
    _verify(block, checksum, source)
    raw = _decompress(block, compression, source) if compression else block
    expected = width * height * channels * dtype.itemsize
    if len(raw) != expected:
        raise FileFormatError(f"{source}: data block holds {len(raw)} bytes, the geometry needs {expected}")
    samples = np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="))
    if image.get("pixelStorage", "Planar") == "Normal":
        samples = samples.reshape(height, width, channels).transpose(2, 0, 1)
    else:
        samples = samples.reshape(channels, height, width)
    keywords, properties = _metadata(image, content, header_end, source)
    return XisfImage(np.ascontiguousarray(samples), keywords, properties)
