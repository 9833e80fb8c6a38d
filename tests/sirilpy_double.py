"""A test double of ``sirilpy``, which exists only inside Siril.

It reproduces the documented behaviour of sirilpy 1.0.x (Siril 1.4) that
the plugin relies on: array shapes and dtypes, ``set_image_pixeldata``
refused outside ``image_lock``, commands refused inside it, the exception
types, ``is_cli``, logging and progress limits, and FITS-file sequences
whose frames are written with a prefix. A test installs it as
``sys.modules["sirilpy"]`` and sets :data:`STATE` to the Siril it imitates.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np
from astropy.io import fits

__version__ = "1.0.8"


class LogColor(IntEnum):
    DEFAULT = 0
    RED = 1
    SALMON = 2
    GREEN = 3
    BLUE = 4


class SequenceType(IntEnum):
    SEQ_REGULAR = 0
    SEQ_SER = 1
    SEQ_FITSEQ = 2
    SEQ_AVI = 3
    SEQ_INTERNAL = 4


class SirilError(Exception):
    pass


class SirilConnectionError(SirilError):
    pass


class CommandError(SirilError):
    def __init__(self, message: str, status_code: int = 1) -> None:
        super().__init__(message)
        self.status_code = status_code


class DataError(SirilError):
    pass


class NoImageError(SirilError):
    pass


class NoSequenceError(SirilError):
    pass


class ProcessingThreadBusyError(SirilError):
    pass


class ImageDialogOpenError(SirilError):
    pass


@dataclass
class ImgData:
    filenum: int = 0
    incl: bool = False
    rx: int = 0
    ry: int = 0


@dataclass
class Sequence:
    seqname: str = ""
    number: int = 0
    selnum: int = 0
    nb_layers: int = -1
    rx: int = 0
    ry: int = 0
    imgparam: list[ImgData] = field(default_factory=list)
    type: SequenceType = SequenceType.SEQ_REGULAR
    reference_image: int = -1


@dataclass
class SequenceState:
    """A loaded sequence: FITS files ``<name><nnnnn>.fit`` in the working directory."""

    name: str
    frames: list[Path]
    included: list[bool]
    type: SequenceType = SequenceType.SEQ_REGULAR
    reference_image: int = -1


@dataclass
class FPoint:
    x: float
    y: float


@dataclass
class Polygon:
    points: list[FPoint]
    polygon_id: int = 0
    color: int = 0xFFFFFFFF
    fill: bool = False
    legend: str | None = None


class MouseModeError(SirilError):
    """Siril is in a mouse mode that cannot draw now."""


@dataclass
class SirilState:
    """The Siril the double imitates, and what the plugin did to it."""

    wd: Path
    image: np.ndarray | None = None
    header: str = ""
    filename: str | None = None
    cli: bool = True
    theme: int = 0
    busy: bool = False
    dialog_open: bool = False
    sequence: SequenceState | None = None
    extension: str = ".fit"
    locked: bool = False
    logs: list[tuple[str, LogColor]] = field(default_factory=list)
    progress: list[tuple[str, float]] = field(default_factory=list)
    undo: list[str] = field(default_factory=list)
    commands: list[tuple[str, ...]] = field(default_factory=list)
    installed: list[tuple[str, str | None]] = field(default_factory=list)
    created_sequences: list[str] = field(default_factory=list)
    pixels_set: int = 0
    polygons: list[Polygon] = field(default_factory=list)  # Siril's overlay
    to_draw: list[list[tuple[float, float]]] = field(default_factory=list)  # what the user will draw next
    next_polygon_id: int = 0

    def lines(self, color: LogColor | None = None) -> list[str]:
        return [text for text, c in self.logs if color is None or c == color]


STATE: SirilState | None = None


def siril_header_text(header) -> str:
    """A header as Siril 1.4.4 hands it out: cards one per line, then ``END`` and a NUL (measured)."""
    return header.tostring(sep="\n", endcard=False, padding=False) + "\nEND\x00"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def check_module_version(requires: str | None = None) -> bool:
    if requires is None:
        return True
    match = re.fullmatch(r">=\s*([0-9.]+)", requires)
    if match is None:
        raise ValueError(f"Invalid version specifier: {requires}")
    return _version_tuple(__version__) >= _version_tuple(match.group(1))


def ensure_installed(*packages, version_constraints=None, reinstall: bool = False) -> bool:
    if isinstance(packages[0], list):
        packages = tuple(packages[0])
    if version_constraints is None or isinstance(version_constraints, str):
        version_constraints = [version_constraints] * len(packages)
    if len(version_constraints) != len(packages):
        raise ValueError("Number of packages must match number of version constraints")
    STATE.installed.extend(zip(packages, version_constraints))
    return True


def _read_fits_pixels(path: Path) -> np.ndarray:
    data = fits.getdata(path)
    if data.dtype.kind == "f":
        return data.astype(np.float32)
    if data.dtype == np.dtype(">u2") or data.dtype == np.uint16:
        return data.astype(np.uint16)
    raise DataError(f"{path}: unsupported data type {data.dtype}")


def _check_pixels(image_data) -> None:
    if not isinstance(image_data, np.ndarray):
        raise ValueError("Image data must be a numpy array")
    if image_data.ndim not in (2, 3):
        raise ValueError("Image must be 2D or 3D array")
    if image_data.dtype not in (np.float32, np.uint16):
        raise ValueError("Image data must be float32 or uint16")
    if image_data.ndim == 3 and image_data.shape[0] > 3:
        raise ValueError("Image must have at most 3 channels")


class SirilInterface:
    def __init__(self) -> None:
        if STATE is None:
            raise SirilConnectionError("Environment variable MY_SOCKET not set")
        self._state = STATE

    def connect(self) -> bool:
        return True

    # --- state queries
    def is_cli(self) -> bool:
        return self._state.cli

    def is_image_loaded(self) -> bool:
        return self._state.image is not None

    def is_sequence_loaded(self) -> bool:
        return self._state.sequence is not None

    def get_siril_wd(self) -> str:
        return str(self._state.wd)

    def get_siril_configdir(self) -> str:
        folder = self._state.wd / "config"
        folder.mkdir(exist_ok=True)
        return str(folder)

    def get_siril_config(self, group: str, key: str):
        values = {("gui", "theme"): self._state.theme, ("core", "extension"): self._state.extension}
        if (group, key) not in values:
            raise SirilError(f"unknown config key {group}.{key}")
        return values[(group, key)]

    # --- the loaded image
    def _require_image(self) -> np.ndarray:
        if self._state.image is None:
            raise NoImageError("no image loaded")
        return self._state.image

    def get_image_shape(self):
        image = self._require_image()
        return (1, *image.shape) if image.ndim == 2 else image.shape

    def get_image_pixeldata(self, shape=None, preview: bool = False, linked: bool = False) -> np.ndarray:
        image = self._require_image()
        if shape is not None:  # [x, y, w, h], as Siril's region
            x, y, w, h = shape
            image = image[..., y:y + h, x:x + w]
        return image.copy()

    def get_image_filename(self) -> str | None:
        self._require_image()
        return self._state.filename

    def get_image_fits_header(self, return_as: str = "str"):
        self._require_image()
        if return_as == "dict":
            return dict(fits.Header.fromstring(self._state.header, sep="\n"))
        return self._state.header

    @contextlib.contextmanager
    def image_lock(self):
        if self._state.busy:
            raise ProcessingThreadBusyError("the processing thread is busy")
        if self._state.dialog_open:
            raise ImageDialogOpenError("an image processing dialog is open")
        self._state.locked = True
        try:
            yield
        finally:
            self._state.locked = False

    def set_image_pixeldata(self, image_data: np.ndarray) -> bool:
        _check_pixels(image_data)
        self._require_image()
        if not self._state.locked:
            raise SirilError("set_image_pixeldata() needs the processing thread: use image_lock()")
        self._state.image = image_data.copy()
        self._state.pixels_set += 1
        return True

    # The overlay, in display coordinates (y down from the top of the shown image), as Siril's.

    def overlay_add_polygon(self, polygon: Polygon) -> Polygon:
        polygon.polygon_id = self._state.next_polygon_id
        self._state.next_polygon_id += 1
        self._state.polygons.append(polygon)
        return polygon

    def overlay_delete_polygon(self, polygon_id: int) -> None:
        self._state.polygons = [p for p in self._state.polygons if p.polygon_id != polygon_id]

    def overlay_clear_polygons(self) -> bool:
        self._state.polygons = []
        return True

    def overlay_get_polygons_list(self) -> list[Polygon] | None:
        return list(self._state.polygons) or None  # None when there is none, as Siril's

    def overlay_draw_polygon(self, color: int = 0x00FF0040, fill: bool = False) -> None:
        """The user then draws: the next outline of ``to_draw`` becomes a polygon."""
        self._require_image()
        if self._state.to_draw:
            points = [FPoint(x, y) for x, y in self._state.to_draw.pop(0)]
            self.overlay_add_polygon(Polygon(points=points, color=color, fill=fill))

    def undo_save_state(self, my_string: str) -> bool | None:
        self._require_image()
        if self._state.cli:
            return None
        self._state.undo.append(my_string.encode()[:70].decode(errors="ignore"))
        return True

    def cmd(self, *args: str) -> None:
        if self._state.locked:
            raise CommandError("the processing thread is claimed by the script")
        self._state.commands.append(args)
        if args[0] == "load":
            path = Path(args[1])
            if not path.is_absolute():
                path = self._state.wd / path
            if not path.is_file():
                raise CommandError(f"load: no file {path}")
            self._state.image = _read_fits_pixels(path)
            self._state.header = siril_header_text(fits.getheader(path))
            self._state.filename = str(path)
        elif args[0] == "requires":
            if _version_tuple(args[1]) > (1, 4, 4):
                raise CommandError(f"requires {args[1]}: this is Siril 1.4.4")

    # --- feedback
    def log(self, my_string: str, color: LogColor = LogColor.DEFAULT) -> bool:
        self._state.logs.append((my_string.encode()[:1022].decode(errors="ignore"), LogColor(color)))
        return True

    def update_progress(self, message: str, progress: float) -> bool:
        if not (0.0 <= progress <= 1.0 or progress in (-1.0, -2.0)):
            raise ValueError("Progress value must be between 0.0 and 1.0")
        self._state.progress.append((message, progress))
        return True

    def reset_progress(self) -> bool:
        self._state.progress.append(("", 0.0))
        return True

    def error_messagebox(self, my_string: str, modal: bool = False) -> bool:
        return self.log(my_string, LogColor.RED)

    # --- sequences
    def _require_sequence(self) -> SequenceState:
        if self._state.sequence is None:
            raise NoSequenceError("no sequence is loaded")
        return self._state.sequence

    def get_seq(self) -> Sequence:
        seq = self._require_sequence()
        first = _read_fits_pixels(seq.frames[0])
        ry, rx = first.shape[-2:]
        params = [ImgData(index + 1, incl, rx, ry) for index, incl in enumerate(seq.included)]
        layers = 1 if first.ndim == 2 else first.shape[0]
        return Sequence(seq.name, len(seq.frames), sum(seq.included), layers, rx, ry, params, seq.type,
                        seq.reference_image)

    def get_seq_frame_filename(self, frame: int) -> str:
        return str(self._require_sequence().frames[frame])

    def get_seq_frame_pixeldata(self, frame: int, shape=None, preview: bool = False, linked: bool = False):
        return _read_fits_pixels(self._require_sequence().frames[frame])

    def get_seq_frame_header(self, frame: int, return_as: str = "str"):
        header = fits.getheader(self._require_sequence().frames[frame])
        return dict(header) if return_as == "dict" else siril_header_text(header)

    def set_seq_frame_pixeldata(self, index: int, image_data: np.ndarray, prefix: str) -> bool:
        _check_pixels(image_data)
        seq = self._require_sequence()
        if seq.type != SequenceType.SEQ_REGULAR:
            raise SirilError("set_seq_frame_pixeldata() works only for sequences of FITS files")
        source = seq.frames[index]
        header = fits.getheader(source)
        fits.PrimaryHDU(image_data, header=header).writeto(self._state.wd / f"{prefix}{source.name}", overwrite=True)
        return True

    def create_new_seq(self, seq_root: str) -> bool:
        pattern = re.compile(rf"^{re.escape(seq_root)}\d{{5}}{re.escape(self._state.extension)}$")
        if not [p for p in self._state.wd.iterdir() if pattern.match(p.name)]:
            self.log(f"No files matching {seq_root} pattern found in the Home folder", LogColor.RED)
            return False
        (self._state.wd / f"{seq_root}.seq").write_text(f"sequence {seq_root}\n")
        self._state.created_sequences.append(seq_root)
        return True
