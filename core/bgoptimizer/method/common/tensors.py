"""Torch views of NumPy arrays for the CPU-side, multi-threaded elementwise work."""

from __future__ import annotations

import warnings

import numpy as np
import torch

__all__ = ["tensor_view"]


def tensor_view(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``array``'s memory where torch allows it, else over a copy.

    Torch refuses negative strides (a flipped view) and non-native byte
    order, so those are copied; a read-only array is shared, and only read.
    """
    if array.dtype.byteorder not in "=|" or any(stride < 0 for stride in array.strides):
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)
