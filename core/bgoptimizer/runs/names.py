"""What this tool's files are called and how to tell them by name: free of the engine's imports (Siril's
plugin names its model while torch still loads)."""

from __future__ import annotations

from pathlib import Path

from ..io.atomic import TEMPORARY_PREFIX

__all__ = ["IMAGE_SUFFIXES", "MODEL_TAG", "PREVIEW_TAG", "corrected_tag", "is_own_output"]

IMAGE_SUFFIXES = (".fit", ".fits", ".fts", ".xisf")
MODEL_TAG = "_bgModel"
PREVIEW_TAG = "_preview"
_CORRECTED_TAGS = {"subtract": "_bgSubtracted", "divide": "_bgDivided"}
_OWN_TAGS = (*_CORRECTED_TAGS.values(), MODEL_TAG)


def corrected_tag(mode: str) -> str:
    """The corrected image's name ending: ``_bgSubtracted`` or ``_bgDivided``."""
    return _CORRECTED_TAGS[mode]


def is_own_output(path: Path) -> bool:
    """An output or temporary file of this tool, judged by its name."""
    return path.name.startswith(TEMPORARY_PREFIX) or path.stem.endswith(_OWN_TAGS)
