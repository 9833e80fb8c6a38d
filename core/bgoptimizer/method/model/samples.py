"""The background samples the spline is fitted to: the downscaled pixels the mask keeps, as tensors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...errors import MaskError
from ..prepare.downscale import reduced_size
from ..prepare.preparation import MIN_SAMPLES, Prepared

__all__ = ["MAX_FIT_SAMPLES", "FitData", "noise_levels", "fit_data", "subset", "grid_coordinates"]


@dataclass
class FitData:
    """Background samples on the fitting device: the pixels not fully masked."""

    points: torch.Tensor  # (P, 2) coordinates
    values: torch.Tensor  # (C, P) the downscaled image in the fit domain (linear-normalized by default)
    weights: torch.Tensor  # (1, P) or (C, P) mask weights in (0, 1]
    noise: torch.Tensor  # (C, 1) noise level of each channel, in the same units


def noise_levels(data_ds: np.ndarray, mask_ds: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """Per-channel noise sigma ``(C,)`` of the downscaled image, from neighbour differences.

    The median absolute second difference of three horizontally adjacent
    background pixels ignores most objects and cancels the gradient's local
    slope, which a first difference counts as noise (a gradient 50x the noise
    doubled that estimate and halved every object's significance).
    """
    background = mask_ds.max(axis=0) > 0
    triples = background[:, 2:] & background[:, 1:-1] & background[:, :-2]
    levels = []
    for channel in data_ds:
        curvature = np.abs(channel[:, 2:] - 2.0 * channel[:, 1:-1] + channel[:, :-2])[triples]
        curvature = curvature[np.isfinite(curvature)]
        sigma = float(np.median(curvature)) / (0.6745 * np.sqrt(6.0)) if curvature.size else 0.0
        levels.append(sigma)
    levels = np.asarray(levels, np.float32)
    # A noiseless (synthetic or heavily smoothed) image still needs a finite scale.
    return np.maximum(levels, floor)

# The fits work on at most this many background samples. The final fit averages bins of pixels
# (:func:`fit_data`): a random 12k of the 94k pixels of a 3000x2000 frame left the fill of a large
# masked nebula noisy (the benchmark's light dome took 10.6 % of its nebula, binned 7.9 %). Object
# detection's many solves take a seeded random subset: binned, they masked less of the nebulae
# (47 of 60 1500x1000 nebula scenes within 8 % absorbed against 52).
MAX_FIT_SAMPLES = 12_000


def fit_data(prepared: Prepared, device: torch.device, binned: bool = False) -> FitData:
    """The background samples: the downscaled pixels not fully masked.

    With ``binned``, beyond ``MAX_FIT_SAMPLES`` of them, square bins of
    pixels are averaged (weighted by the mask) into samples at their
    centroids: a spline of a few dozen points cannot tell a bin from its
    pixels, and the averages keep all their information. The noise stays the
    pixels' own, so that the robust loss rejects what it rejected unbinned.
    """
    weights = prepared.mask_ds
    usable = weights.max(axis=0) > 0
    count = int(usable.sum())
    if count < MIN_SAMPLES:
        raise MaskError(f"only {count} of {usable.size} downscaled pixels are left as background; "
                        f"a fit needs {MIN_SAMPLES}")
    values = prepared.fit_ds
    noise = noise_levels(values, weights)[:, None]
    columns, lines = (axis.numpy().astype(np.float64) for axis in grid_coordinates(prepared))
    y, x = np.meshgrid(lines, columns, indexing="ij")
    size = int(np.ceil(np.sqrt(count / MAX_FIT_SAMPLES))) if binned else 1
    if size > 1:
        values, weights, x, y = _binned(values, weights, x, y, size)
        usable = weights.max(axis=0) > 0
    rows, cols = np.nonzero(usable)
    return FitData(
        torch.from_numpy(np.stack([x[rows, cols], y[rows, cols]], axis=1).astype(np.float32)).to(device),
        torch.from_numpy(np.ascontiguousarray(np.nan_to_num(values[:, rows, cols], nan=0.0))).to(device),
        torch.from_numpy(np.ascontiguousarray(weights[:, rows, cols])).to(device),
        torch.from_numpy(noise).to(device),
    )


def _bin_sums(array: np.ndarray, size: int) -> np.ndarray:
    """Sums over ``size`` x ``size`` bins of the last two axes (partial bins at the far edges)."""
    lead, height, width = array.shape
    rows, cols = reduced_size(height, size), reduced_size(width, size)
    padded = np.zeros((lead, rows * size, cols * size), np.float64)
    padded[:, :height, :width] = array
    return padded.reshape(lead, rows, size, cols, size).sum(axis=(2, 4))


def _binned(values: np.ndarray, weights: np.ndarray, x: np.ndarray, y: np.ndarray,
            size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mask-weighted means of ``values`` over bins, each bin's weight (its pixels' total over
    ``size**2``) and its weighted centroid (``x`` and ``y`` hold each pixel's coordinates).

    A bin with fewer background pixels weighs less: its mean is noisier.
    ``weights`` are 0 wherever ``values`` are NaN, as :func:`prepare` leaves them.
    """
    total = _bin_sums(weights, size)
    where = weights.max(axis=0, keepdims=True)
    mass = _bin_sums(where, size)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = _bin_sums(weights * np.nan_to_num(values), size) / total
        centroid_x = _bin_sums(where * x, size)[0] / mass
        centroid_y = _bin_sums(where * y, size)[0] / mass
    return means.astype(np.float32), (total / size**2).astype(np.float32), centroid_x, centroid_y


def subset(data: FitData, count: int, seed: int) -> FitData:
    """A seeded random subset of ``count`` samples (all of them when there are fewer)."""
    total = len(data.points)
    if total <= count:
        return data
    chosen = np.sort(np.random.default_rng(seed).choice(total, count, replace=False))
    index = torch.from_numpy(chosen).to(data.points.device)
    return FitData(
        data.points[index],
        data.values[:, index],
        data.weights[:, index],
        data.noise,
    )


def grid_coordinates(prepared: Prepared) -> tuple[torch.Tensor, torch.Tensor]:
    """Spline coordinates of the downscaled pixels' centers: columns, rows."""
    x, y = prepared.grid.block_centres()
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))
