"""Tile-compressed FITS output (the FITS standard's tiled image convention): lossless GZIP_2 of the samples.

astropy's ``CompImageHDU`` compresses one row per tile at zlib's default
level in one thread, from the whole image: a 6000x4000 RGB model took 27 s
with the progress frozen, and the write held a second image. Here tiles of
16 rows are byte-shuffled (GZIP_2) and deflated at level 1 on a thread pool
(zlib releases the GIL) as the bands arrive, straight into the file's heap,
so only a band is held. Level 1 against 6: 0.8 % of the size more, half the
time; 16-row tiles compress 3 % better than single rows. Files read back
bit-exact with astropy (cfitsio's decompression) and pass ``fitsverify``.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
from astropy.io import fits

__all__ = ["TiledGzipWriter"]

_TILE_ROWS = 16
_LEVEL = 1
_BLOCK = 2880
# 'P' descriptors (32-bit) address a heap of up to 2 GiB; images above this many bytes get 'Q' (64-bit),
# with room for deflate's growth of incompressible data.
_WIDE_BYTES = (1 << 31) - (1 << 27)
# Image keywords not copied into the table's header: its structure, or the convention's own.
_NOT_COPIED = re.compile(
    r"SIMPLE|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|XTENSION|EXTNAME|TFIELDS|THEAP|T(TYPE|FORM|DIM)\d+"
    r"|Z(IMAGE|SIMPLE|TENSION|EXTEND|BLOCKED|BITPIX|NAXIS\d*|TILE\d+|CMPTYPE|NAME\d+|VAL\d+|MASKCMP|QUANTIZ"
    r"|DITHER0|PCOUNT|GCOUNT|HECKSUM|DATASUM)"
)


def _gzip_tile(samples: np.ndarray) -> bytes:
    """One tile of big-endian samples, bytes shuffled (all first bytes, then all second...), gzip-deflated."""
    shuffled = samples.view(np.uint8).reshape(-1, samples.dtype.itemsize).T.tobytes()
    deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, 31)  # 31: the gzip format cfitsio writes
    return deflate.compress(shuffled) + deflate.flush()


class TiledGzipWriter:
    """Writes a ``(C, H, W)`` float32 image as a tile-compressed extension, from bands top to bottom,
    each tile's rows as ``encode`` gives them (big-endian samples of the image header's BITPIX).

    The layout (empty primary header, table header, tile descriptors, heap)
    is reserved first; the heap is appended as tiles are compressed, and the
    headers and descriptors, which need the heap's final size, at the end.
    Tiles are compressed on the writer's own threads, which end with it (a
    context manager): no idle thread outlives a file.
    """

    def __init__(self, stream: BinaryIO, shape: tuple[int, int, int], image_header: fits.Header,
                 encode: Callable[[np.ndarray], np.ndarray]) -> None:
        self.stream, self.encode, self.bitpix = stream, encode, int(image_header["BITPIX"])
        self.channels, self.height, self.width = shape
        self.keywords = [card for card in image_header.cards if not _NOT_COPIED.fullmatch(card.keyword)]
        # How unsigned integers are stored (astropy's Header.extend strips these: set on their own).
        self.scaling = [(key, image_header[key]) for key in ("BSCALE", "BZERO") if key in image_header]
        self.tiles_per_channel = -(-self.height // _TILE_ROWS)
        self.wide = self.channels * self.height * self.width * abs(self.bitpix) // 8 > _WIDE_BYTES
        self.descriptors = np.zeros((self.channels * self.tiles_per_channel, 2), np.int64)
        self.header_size = len(self._headers(0, 0))
        self.heap_start = self.header_size + self.descriptors.size * (8 if self.wide else 4)
        self.heap_size = 0
        self.next_row = 0
        self.carry = np.empty((self.channels, 0, self.width), np.float32)  # rows short of a whole tile
        self.pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="bgoptimizer-gzip")
        stream.seek(self.heap_start)

    def __enter__(self) -> TiledGzipWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.pool.shutdown(cancel_futures=True)

    def _headers(self, heap_size: int, longest: int) -> bytes:
        table = fits.Header()
        table["XTENSION"] = ("BINTABLE", "binary table extension")
        table["BITPIX"] = (8, "array data type")
        table["NAXIS"] = (2, "number of array dimensions")
        table["NAXIS1"] = (16 if self.wide else 8, "width of table in bytes")
        table["NAXIS2"] = (len(self.descriptors), "number of tiles")
        table["PCOUNT"] = (heap_size, "size of the heap")
        table["GCOUNT"] = (1, "number of groups")
        table["TFIELDS"] = (1, "number of fields in each row")
        table["TTYPE1"] = "COMPRESSED_DATA"
        table["TFORM1"] = f"1{'Q' if self.wide else 'P'}B({longest})"
        table["ZIMAGE"] = (True, "extension contains compressed image")
        table["ZSIMPLE"] = (True, "the image is a primary array")
        table["ZBITPIX"] = (self.bitpix, "array data type")
        sizes = (self.width, self.height) + ((self.channels,) if self.channels > 1 else ())
        table["ZNAXIS"] = (len(sizes), "number of array dimensions")
        for axis, size in enumerate(sizes, 1):
            table[f"ZNAXIS{axis}"] = size
        for axis, size in enumerate((self.width, min(_TILE_ROWS, self.height), 1)[: len(sizes)], 1):
            table[f"ZTILE{axis}"] = (size, "size of tiles to be compressed")
        table["ZCMPTYPE"] = ("GZIP_2", "compression algorithm")
        if self.bitpix < 0:
            table["ZQUANTIZ"] = ("NONE", "lossless: floats not quantized")
        table["EXTNAME"] = "COMPRESSED_IMAGE"
        for key, value in self.scaling:
            table[key] = value
        table.extend(self.keywords)
        return fits.PrimaryHDU().header.tostring().encode("ascii") + table.tostring().encode("ascii")

    def add(self, top: int, rows: np.ndarray) -> None:
        """Take the band ``(C, n, W)`` starting at row ``top`` (the row after the last band's)."""
        if top != self.next_row:
            raise ValueError(f"compressed FITS bands must come top to bottom: row {top} after {self.next_row}")
        self.next_row = top + rows.shape[1]
        pending = np.concatenate([self.carry, rows], axis=1) if self.carry.shape[1] else rows
        first = self.next_row - pending.shape[1]
        whole = pending.shape[1] if self.next_row >= self.height else pending.shape[1] // _TILE_ROWS * _TILE_ROWS
        self._compress(first, pending[:, :whole])
        self.carry = np.array(pending[:, whole:], np.float32)

    def _compress(self, first: int, rows: np.ndarray) -> None:
        tiles = [(channel * self.tiles_per_channel + (first + offset) // _TILE_ROWS,
                  rows[channel, offset : offset + _TILE_ROWS])
                 for channel in range(self.channels) for offset in range(0, rows.shape[1], _TILE_ROWS)]
        for (index, _), packed in zip(tiles, self.pool.map(self._packed, [pixels for _, pixels in tiles])):
            self.stream.write(packed)
            self.descriptors[index] = (len(packed), self.heap_size)
            self.heap_size += len(packed)

    def _packed(self, pixels: np.ndarray) -> bytes:
        """One tile's rows encoded and deflated (on the writer's threads)."""
        return _gzip_tile(self.encode(pixels))

    def finish(self) -> None:
        """Write the descriptors and headers, and pad the file to whole FITS blocks."""
        if self.next_row != self.height:
            raise ValueError(f"compressed FITS: bands covered {self.next_row} of {self.height} rows")
        end = self.heap_start + self.heap_size
        self.stream.write(bytes(-end % _BLOCK))
        self.stream.truncate()
        self.stream.seek(0)
        headers = self._headers(self.heap_size, int(self.descriptors[:, 0].max()))
        assert len(headers) == self.header_size  # fixed-width cards: the reserved space fits
        self.stream.write(headers)
        self.stream.write(self.descriptors.astype(">i8" if self.wide else ">i4").tobytes())
