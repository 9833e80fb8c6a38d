"""Returning freed heap memory to the operating system between pipeline stages."""

from __future__ import annotations

import ctypes
import sys

__all__ = ["release_freed_memory"]


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return libc


_LIBC = _glibc()


def release_freed_memory() -> None:
    """Hand the heap's freed pages back to the OS (glibc; elsewhere a no-op).

    Band buffers a stage has freed stay in glibc's heap and keep counting in
    the process's memory; trimming between stages keeps the peak at what the
    next stage really holds (measured on 6000x4000 RGB: -60 MB).
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
