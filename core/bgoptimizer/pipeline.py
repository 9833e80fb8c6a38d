"""The method in order: prepare (stretch, downscale, mask) -> fit -> reconstruct -> correct.

Full-resolution work is done in bands of rows, so besides the input only the
background model and the corrected image are ever held at full size.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from .bands import BandSink
from .device import describe_device, resolve_device
from .downscale import block_centers, block_reduce, reduced_size
from .errors import InputImageError, MaskError, ParameterError
from .fit import CancelCheck, FitData, ProgressCallback, noise_levels, optimize, robust_solve
from .mask import MISSING_TOLERANCE, missing_to_nan, reduce_user_mask, threshold_mask
from .memory import release_freed_memory
from .objects import COARSE_POINTS, DETECTION_KERNEL, find_objects
from .params import Parameters
from .progress import scaled
from .spline import SplineState, evaluate_grid, initial_centers, solve_interpolation
from .stretch import ChannelStretch, fit_stretch
from .tensors import tensor_view

__all__ = [
    "Prepared",
    "FitReport",
    "BackgroundResult",
    "as_planar",
    "prepare",
    "preview_image",
    "fit_background",
    "extract_background",
]

# Statistics (stretch, offsets) are taken on a regular subsample of about this many pixels
# (the 0.99 quantile of 500k samples is off by ~1e-4 in rank: nothing next to the noise).
_STAT_SAMPLES = 500_000
# Image data in any unit stays far below this; random bytes read as floats do not, and overflow the stretch.
_LARGEST_PIXEL = 1e20
# Full-resolution bands hold about this many pixels per channel.
_BAND_PIXELS = 500_000
# Fewer background samples than this cannot constrain a spline.
_MIN_SAMPLES = 16
# Below this many background samples per control point the model is poorly constrained, and
# objects covering more than this share of the frame leave it little sky: the report warns.
# Measured on 900x600 scenes whose nebula exceeds the frame (sigma 30-50 % of its side): 44-47 %
# masked and half of the nebula absorbed; the benchmark's large nebula (sigma 16 %): 63-65 %.
_SCARCE_SAMPLES_PER_POINT = 8
_MOST_OF_THE_FRAME = 0.4
# The fits work on at most this many background samples. The final fit averages bins of pixels
# (:func:`_fit_data`): a random 12k of the 94k pixels of a 3000x2000 frame left the fill of a large
# masked nebula noisy (the benchmark's light dome took 10.6 % of its nebula, binned 7.9 %). Object
# detection's many solves take a seeded random subset: binned, they masked less of the nebulae
# (47 of 60 1500x1000 nebula scenes within 8 % absorbed against 52).
_MAX_FIT_SAMPLES = 12_000
# A fit started from a similar image's control points runs 1/this of the epochs: measured on
# 1500x1000 frames, 100 warm iterations matched 500 cold ones (0.447 % vs 0.44 % RMS).
_WARM_EPOCH_DIVISOR = 5
# Pixels between exact spline evaluations in grid reconstruction.
_GRID_STEP = 4

_STAGES = {"prepare": (0.0, 0.08), "fit": (0.08, 0.9), "reconstruct": (0.9, 1.0)}


@dataclass
class Prepared:
    """Steps 1-4 of the method: what the fit sees (and what the preview shows)."""

    shape: tuple[int, int, int]  # full-resolution (C, H, W)
    factor: int
    stretches: list[ChannelStretch]
    stretched_ds: np.ndarray  # (C, h, w) float32, NaN where no valid pixel
    mask_ds: np.ndarray  # (1 or C, h, w) float32 weights in [0, 1]
    fit_stretches: list[ChannelStretch]  # linear -> fit domain: the stretch, or its linear part
    fit_ds: np.ndarray  # (C, h, w) float32, the downscaled image in the fit domain (NaN as above)

    @property
    def length(self) -> float:
        """The unit of the spline's coordinates: the image's longer side in pixels."""
        return float(max(self.shape[1:]))

    @property
    def extent(self) -> tuple[float, float]:
        return self.shape[2] / self.length, self.shape[1] / self.length


@dataclass
class FitReport:
    loss: float
    iterations: int
    stopped_early: bool
    samples: int
    device: str
    objects: float = 0.0  # share of the downscaled frame kept out of the fit as objects
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # why the model may not be trusted, and what to do

    def summary(self) -> str:
        stages = ", ".join(f"{name} {sec:.2f}s" for name, sec in self.seconds.items())
        return (
            f"loss {self.loss:.5f} after {self.iterations} iterations on {self.device} "
            f"({self.samples} background samples, {self.objects:.0%} of the frame masked as objects); {stages}"
        )


@dataclass
class BackgroundResult:
    background: np.ndarray | None  # (C, H, W) float32, linear model; None when given to a model sink
    corrected: np.ndarray  # (C, H, W) float32
    report: FitReport
    state: SplineState


def as_planar(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check an image and return it as float32 ``(C, H, W)`` with C = 1 or 3."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[0] not in (1, 3):
        raise InputImageError(f"{name}: expected (H, W) or (C, H, W) with C = 1 or 3, got shape {array.shape}")
    if array.dtype.kind not in "fiu":
        raise InputImageError(f"{name}: unsupported pixel type {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if np.isinf(array).any():
        count = int(np.isinf(array).sum())
        raise InputImageError(f"{name}: {count} pixels are infinite; repair or clip them first")
    return array


def _stage(progress: ProgressCallback | None, stage: str) -> ProgressCallback | None:
    return scaled(progress, *_STAGES[stage])


def _sample_step(height: int, width: int) -> int:
    return max(1, int(np.sqrt(height * width / _STAT_SAMPLES)))


def _band_rows(width: int, multiple: int) -> int:
    rows = max(1, _BAND_PIXELS // max(width, 1))
    return max(multiple, rows // multiple * multiple)


def _stretch_channels(image: np.ndarray, stretches: list[ChannelStretch]) -> None:
    for channel, stretch in zip(image, stretches):
        channel[...] = stretch.apply(channel)


def prepare(
    image: np.ndarray,
    params: Parameters,
    mask: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
) -> Prepared:
    """Stretch, downscale and mask a linear ``(C, H, W)`` image (steps 1-4)."""
    image = as_planar(image)
    channels, height, width = image.shape
    factor = params.downscale
    _require_downscaled_size(height, width, factor)
    step = _sample_step(height, width)
    sample = missing_to_nan(image[:, ::step, ::step])
    if not np.isfinite(sample).any():
        raise InputImageError("the image has no valid pixel (all zero or NaN)")
    peak = float(np.nanmax(np.abs(sample)))
    if peak > _LARGEST_PIXEL:
        raise InputImageError(f"pixel values reach {peak:.3g}: not image data (a damaged file?)")
    stretches = fit_stretch(sample, params.quantile, params.stretch_target)
    del sample

    reduced_shape = (channels, reduced_size(height, factor), reduced_size(width, factor))
    stretched_ds = np.empty(reduced_shape, np.float32)
    linear_ds = np.empty(reduced_shape, np.float32) if params.fit_domain == "linear" else None
    # The block median commutes with the (non-decreasing) stretch, so it is taken first and only the
    # small image is stretched; a block mean is not an order statistic and needs the stretch first.
    stretch_first = params.downscale_func != "median"
    band = _band_rows(width, factor)
    for top in range(0, height, band):
        chunk = missing_to_nan(image[:, top : top + band])
        rows = slice(top // factor, top // factor + reduced_size(chunk.shape[1], factor))
        if stretch_first:
            if linear_ds is not None:
                linear_ds[:, rows] = block_reduce(chunk, factor, params.downscale_func)
            _stretch_channels(chunk, stretches)
            stretched_ds[:, rows] = block_reduce(chunk, factor, params.downscale_func)
        else:  # one block median of the linear values serves both
            reduced = block_reduce(chunk, factor, params.downscale_func)
            if linear_ds is not None:
                linear_ds[:, rows] = reduced
            _stretch_channels(reduced, stretches)
            stretched_ds[:, rows] = reduced
        if progress is not None:
            progress(min(1.0, (top + band) / height), "stretch and downscale")

    mask_ds = threshold_mask(stretched_ds, params.threshold_min, params.threshold_max)
    if mask is None and params.mask is not None:
        from .io import read_image  # deferred: io is optional for array users

        mask = read_image(params.mask).data
    if mask is not None:
        source = params.mask or "mask"
        mask_ds = mask_ds * reduce_user_mask(
            np.asarray(mask, np.float32), image.shape, factor, params.downscale_func, source
        )
    _require_background(stretched_ds, mask_ds, params, params.mask or ("the mask" if mask is not None else None))
    if linear_ds is not None:  # pedestal and scale removed only, not clipped: sky above the quantile keeps its level
        fit_stretches = [stretch.linear_part() for stretch in stretches]
        for channel, stretch in zip(linear_ds, stretches):
            channel[...] = stretch.normalize(channel)
        fit_ds = linear_ds
    else:  # a clipped level says only "at least the quantile": no level to fit
        fit_stretches, fit_ds = stretches, stretched_ds
        with np.errstate(invalid="ignore"):
            mask_ds = mask_ds * (stretched_ds < 1.0).all(axis=0, keepdims=True)
    return Prepared(image.shape, factor, stretches, stretched_ds, mask_ds, fit_stretches, fit_ds)


def _require_downscaled_size(height: int, width: int, factor: int) -> None:
    """Refuse a downscale that leaves fewer pixels than a fit needs, naming one that would do."""
    if reduced_size(height, factor) * reduced_size(width, factor) >= _MIN_SAMPLES:
        return
    fitting = [f for f in range(factor - 1, 0, -1) if reduced_size(height, f) * reduced_size(width, f) >= _MIN_SAMPLES]
    advice = f"use a downscale of at most {fitting[0]}" if fitting else f"the image has fewer than {_MIN_SAMPLES} pixels"
    raise ParameterError(
        f"downscale {factor}: the image ({width}x{height}) shrinks to {reduced_size(width, factor)}x"
        f"{reduced_size(height, factor)} pixels, fewer than the {_MIN_SAMPLES} a fit needs; {advice}"
    )


def _require_background(stretched_ds: np.ndarray, mask_ds: np.ndarray, params: Parameters,
                        mask_name: str | None) -> None:
    """Refuse when too few downscaled pixels are background, saying what excluded the others."""
    usable = mask_ds.max(axis=0) > 0
    count = int(usable.sum())
    if count >= _MIN_SAMPLES:
        return
    missing = ~np.isfinite(stretched_ds).all(axis=0)
    inside = threshold_mask(stretched_ds, params.threshold_min, params.threshold_max)[0] > 0
    causes = {
        "missing (0 or NaN)": int(missing.sum()),
        f"outside threshold_min..threshold_max ({params.threshold_min:g}..{params.threshold_max:g})":
            int((~missing & ~inside).sum()),
        f"excluded by {mask_name}": int((~missing & inside & ~usable).sum()),
    }
    reasons = ", ".join(f"{number} {cause}" for cause, number in causes.items() if number)
    raise MaskError(
        f"only {count} of {usable.size} downscaled pixels are background ({reasons}); "
        f"a fit needs {_MIN_SAMPLES}: widen the thresholds or the mask"
    )


def preview_image(prepared: Prepared) -> np.ndarray:
    """The stretched, downscaled image with masked-out pixels dimmed to a quarter: ``(C, h, w)``."""
    shown = np.nan_to_num(prepared.stretched_ds, nan=0.0)
    weight = prepared.mask_ds.max(axis=0, keepdims=True) if prepared.mask_ds.shape[0] > 1 else prepared.mask_ds
    return (shown * (0.25 + 0.75 * weight)).astype(np.float32)


def _fit_data(prepared: Prepared, device: torch.device, binned: bool = False) -> FitData:
    """The background samples: the downscaled pixels not fully masked.

    With ``binned``, beyond ``_MAX_FIT_SAMPLES`` of them, square bins of
    pixels are averaged (weighted by the mask) into samples at their
    centroids: a spline of a few dozen points cannot tell a bin from its
    pixels, and the averages keep all their information. The noise stays the
    pixels' own, so that the robust loss rejects what it rejected unbinned.
    """
    weights = prepared.mask_ds
    usable = weights.max(axis=0) > 0
    count = int(usable.sum())
    if count < _MIN_SAMPLES:
        raise MaskError(f"only {count} of {usable.size} downscaled pixels are left as background; "
                        f"a fit needs {_MIN_SAMPLES}")
    values = prepared.fit_ds
    noise = noise_levels(values, weights)[:, None]
    columns, lines = (axis.numpy().astype(np.float64) for axis in _grid_coordinates(prepared))
    y, x = np.meshgrid(lines, columns, indexing="ij")
    size = int(np.ceil(np.sqrt(count / _MAX_FIT_SAMPLES))) if binned else 1
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


def _layout(prepared: Prepared, params: Parameters, count: int | None = None, layout: str | None = None) -> np.ndarray:
    """Control points laid out by ``params`` (or the given count and layout), seeded."""
    return initial_centers(count or params.points, prepared.extent, layout or params.init,
                           np.random.default_rng(params.seed))


def _initial_state(
    prepared: Prepared, params: Parameters, data: FitData, device: torch.device, previous: SplineState | None
) -> SplineState:
    """Starting spline: robust regression (robust loss) or interpolation of control values (reference).

    The control points are laid out by ``params.init``, or taken from
    ``previous`` (a fit of a similar image with ``params.points`` points).
    """
    if previous is not None:
        centers = previous.centers.detach().cpu().numpy().astype(np.float32)
        centers = np.clip(centers, 0.0, np.asarray(prepared.extent, np.float32))
    else:
        centers = _layout(prepared, params)
    if params.loss == "robust":
        return robust_solve(data, torch.from_numpy(centers).to(device), params.order, params.smoothing,
                            params.poly_degree)
    _, rows_ds, cols_ds = prepared.fit_ds.shape
    cols = np.clip((centers[:, 0] * prepared.length / prepared.factor).astype(int), 0, cols_ds - 1)
    rows = np.clip((centers[:, 1] * prepared.length / prepared.factor).astype(int), 0, rows_ds - 1)
    median = data.values.median(dim=1).values.cpu().numpy()
    pixel = np.nan_to_num(prepared.fit_ds[:, rows, cols].T, nan=0.0)
    weight = prepared.mask_ds[:, rows, cols].T
    values = weight * pixel + (1.0 - weight) * median
    weights, polynomial = solve_interpolation(centers, values, params.order, params.poly_degree)
    return SplineState(
        torch.from_numpy(centers).to(device),
        torch.from_numpy(weights).to(device),
        torch.from_numpy(polynomial).to(device),
        params.order,
    )


def _grid_coordinates(prepared: Prepared) -> tuple[torch.Tensor, torch.Tensor]:
    """Spline coordinates of the downscaled pixels' centers: columns, rows."""
    _, height, width = prepared.shape
    x = block_centers(width, prepared.factor) / prepared.length
    y = block_centers(height, prepared.factor) / prepared.length
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))


def _find_objects(prepared: Prepared, params: Parameters, device: torch.device) -> np.ndarray:
    """``(h, w)`` map of the large faint objects (and their wings) to mask out (see :mod:`.objects`).

    The refits use the final fit's layout, with at least the coarse fit's
    point count (the detection kernel's quadratic part has 6 terms).
    """
    layouts = {
        coarse: torch.from_numpy(centers).to(device)
        for coarse, centers in ((True, _layout(prepared, params, COARSE_POINTS, "grid")),
                                (False, _layout(prepared, params, max(params.points, COARSE_POINTS))))
    }

    def solve(excluded: np.ndarray | None, coarse: bool) -> SplineState:
        masked = prepared if excluded is None else _excluding(prepared, excluded)
        data = _subset(_fit_data(masked, device), _MAX_FIT_SAMPLES, params.seed)
        return robust_solve(data, layouts[coarse], *DETECTION_KERNEL)

    valid = (prepared.mask_ds.max(axis=0) > 0) & np.isfinite(prepared.fit_ds).all(axis=0)
    return find_objects(prepared.fit_ds, valid, prepared.fit_stretches, solve, _grid_coordinates(prepared))


def _excluding(prepared: Prepared, excluded: np.ndarray) -> Prepared:
    return dataclasses.replace(prepared, mask_ds=prepared.mask_ds * ~excluded[None])


def fit_background(
    prepared: Prepared,
    params: Parameters,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    initial: SplineState | None = None,
) -> tuple[SplineState, FitReport]:
    """Fit the spline to the prepared image (steps 5-6), optionally from ``initial``'s control points.

    Large objects are masked first when ``params.protect_objects`` is set.
    A warm start needs fewer iterations: it runs ``epochs // 5``.
    """
    device = resolve_device(params.device)
    objects = 0.0
    if params.protect_objects:
        found = _find_objects(prepared, params, device)
        objects = float(((prepared.mask_ds.max(axis=0) > 0) & found).mean())
        prepared = _excluding(prepared, found)
    data = _fit_data(prepared, device, binned=True)
    warm = initial is not None and len(initial.centers) == params.points  # else laid out afresh
    initial = _initial_state(prepared, params, data, device, initial if warm else None)
    outcome = optimize(
        data,
        initial,
        epochs=params.epochs // _WARM_EPOCH_DIVISOR if warm else params.epochs,
        lr=params.lr,
        alpha=params.alpha,
        patience=params.patience,
        loss=params.loss,
        smoothing=params.smoothing,
        progress=progress,
        cancel=cancel,
    )
    samples = int((prepared.mask_ds.max(axis=0) > 0).sum())
    report = FitReport(
        loss=outcome.loss,
        iterations=outcome.iterations,
        stopped_early=outcome.stopped_early,
        samples=samples,
        device=describe_device(device),
        objects=objects,
        warnings=_trust_warnings(objects, samples, params),
    )
    return outcome.state, report


def _trust_warnings(objects: float, samples: int, params: Parameters) -> list[str]:
    """What makes a model untrustworthy though it was fitted: too little background to see."""
    warnings = []
    if objects > _MOST_OF_THE_FRAME:
        warnings.append(
            f"objects cover {objects:.0%} of the frame, so the model rests on the {1 - objects:.0%} left and "
            "may take in part of an object larger still; check the model, and give a --mask of the "
            "background or use a wider field (if no object is that large: --no-protect-objects)"
        )
    if samples < _SCARCE_SAMPLES_PER_POINT * params.points:
        warnings.append(
            f"only {samples} background samples for {params.points} control points: too few to trust the "
            "model; use a smaller --downscale, fewer --points, or a larger image"
        )
    return warnings


def _subset(data: FitData, count: int, seed: int) -> FitData:
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


def _model_bands(
    state: SplineState, prepared: Prepared, exact: bool, progress: ProgressCallback | None
) -> Iterator[tuple[int, np.ndarray]]:
    """The linear background in bands of rows, ``(top, (C, rows, W))``: the spline at full
    resolution, stretch undone (step 7); never the whole model at once.

    In the stretched fit domain the model is clamped to [0, 1] before
    inverting (above 1 the stretch clipped: no background lives there); the
    linear fit domain is not clipped (:meth:`ChannelStretch.unbend`).
    """
    _, height, width = prepared.shape
    if exact or min(height, width) < 4 * _GRID_STEP:
        bands = _exact_bands(state, prepared)
    else:
        bands = _grid_bands(state, prepared)
    for top, stretched in bands:
        linear = np.empty(stretched.shape, np.float32)
        for channel, stretch in enumerate(prepared.fit_stretches):
            linear[channel] = stretch.invert(stretched[channel])
        yield top, linear
        if progress is not None:
            progress((top + linear.shape[1]) / height, "reconstruct")


def _exact_bands(state: SplineState, prepared: Prepared) -> Iterator[tuple[int, np.ndarray]]:
    """Every pixel evaluated, in bands of bounded memory."""
    _, height, width = prepared.shape
    device = state.centers.device
    x = (torch.arange(width, dtype=torch.float32, device=device) + 0.5) / prepared.length
    band = _band_rows(width, 1)
    with torch.no_grad():
        for top in range(0, height, band):
            bottom = min(height, top + band)
            y = (torch.arange(top, bottom, dtype=torch.float32, device=device) + 0.5) / prepared.length
            yield top, evaluate_grid(state, x, y).cpu().numpy()


def _grid_nodes(size: int) -> np.ndarray:
    """Pixel-center positions every ``_GRID_STEP`` pixels, from one step before the first pixel to
    at least one step after the last, so that no pixel is interpolated from a border-clamped kernel."""
    count = int(np.ceil((size - 1) / _GRID_STEP)) + 3
    return 0.5 + _GRID_STEP * (np.arange(count) - 1.0)


def _grid_bands(state: SplineState, prepared: Prepared) -> Iterator[tuple[int, np.ndarray]]:
    """The model in the fit domain on a coarse grid, upsampled bicubically, in bands.

    With ``align_corners`` an output of ``(n - 1) * step + 1`` samples from n
    nodes puts node k exactly on output k * step, i.e. on pixel k * step - step.
    Bands of node rows are interpolated with two spare nodes on each side,
    which the bicubic kernel needs, so banding changes nothing but memory.
    Interpolating before any clamp (:func:`_model_bands`) keeps its kink out of the kernel.
    """
    _, height, width = prepared.shape
    step = _GRID_STEP
    device = state.centers.device
    x_nodes, y_nodes = _grid_nodes(width), _grid_nodes(height)
    x = torch.from_numpy(x_nodes / prepared.length).float().to(device)
    y = torch.from_numpy(y_nodes / prepared.length).float().to(device)
    with torch.no_grad():
        nodes = evaluate_grid(state, x, y).cpu()
    out_width = (len(x_nodes) - 1) * step + 1
    band = max(1, _BAND_PIXELS // (out_width * step))  # node rows per band
    for first in range(0, len(y_nodes) - 1, band):
        last = min(len(y_nodes) - 1, first + band)
        top, bottom = max(first * step, step), min(last * step, step + height)  # output rows, image part
        if top >= bottom:
            continue
        low, high = max(0, first - 2), min(len(y_nodes), last + 3)
        upsampled = torch.nn.functional.interpolate(
            nodes[None, :, low:high], size=((high - low - 1) * step + 1, out_width), mode="bicubic",
            align_corners=True,
        )[0, :, top - low * step : bottom - low * step, step : step + width]
        yield top - step, upsampled.numpy()


def _valid(image: np.ndarray) -> np.ndarray:
    return np.abs(image) > MISSING_TOLERANCE  # False for NaN too


def _correct(image: np.ndarray, model_bands: Iterable[tuple[int, np.ndarray]], mode: str,
             out: np.ndarray | None = None) -> np.ndarray:
    """Remove the background, keeping the original level; missing pixels stay 0 (step 8).

    The model comes in bands of rows, ``(top, (C, rows, W))``, each used once,
    so that it never has to be held whole. ``out`` (which may be ``image``
    itself) receives the result instead of a new array. A first pass writes
    the raw difference or ratio (NaN where pixels are missing), measures its
    range and samples the model; a second, in place, restores each channel's
    level, shifts/rescales when the range demands it (a shift only when the
    input had no negative value) and zeroes the missing pixels. With
    ``out=image``, a failure leaves ``image`` partly corrected.
    """
    channels, height, width = image.shape
    step = _sample_step(height, width)
    sample = image[:, ::step, ::step].copy()  # before ``out`` may overwrite it
    model_sample = np.empty_like(sample)
    corrected = np.empty_like(image, dtype=np.float32) if out is None else out
    pixels, result = tensor_view(image), tensor_view(corrected)
    lowest, highest = np.full(channels, np.inf), np.full(channels, -np.inf)
    input_low = np.inf
    missing = False
    for top, model in model_bands:
        bottom = top + model.shape[1]
        first = -(-top // step) * step  # the first sampled row in this band
        model_sample[:, first // step : -(-bottom // step)] = model[:, first - top :: step, ::step]
        for channel in range(channels):
            values = torch.from_numpy(model[channel])
            if mode == "divide" and bool((values <= 0).any()):
                raise InputImageError("mode=divide: the background model reaches zero or below; use mode=subtract")
            source, target = pixels[channel, top:bottom], result[channel, top:bottom]
            invalid = torch.from_numpy(~_valid(image[channel, top:bottom]))
            input_low = min(input_low, float(source.nan_to_num(nan=np.inf).min()))
            (torch.div if mode == "divide" else torch.sub)(source, values, out=target)
            measured = target
            if bool(invalid.any()):
                missing = True
                target.masked_fill_(invalid, np.nan)
                measured = target[~invalid]
            if measured.numel():
                low, high = torch.aminmax(measured)
                lowest[channel] = min(lowest[channel], float(low))
                highest[channel] = max(highest[channel], float(high))

    gain = np.ones(channels)
    offset = np.zeros(channels)
    for channel in range(channels):
        valid = _valid(sample[channel])
        if mode == "divide":
            gain[channel] = np.mean(model_sample[channel][valid])
        else:
            level = np.median(sample[channel][valid])
            offset[channel] = level - np.median(sample[channel][valid] - model_sample[channel][valid])
    lowest, highest = lowest * gain + offset, highest * gain + offset  # gain > 0: order kept
    ceiling = max(1.0, float(np.nanmax(sample)))
    # Data without negative values (Siril's [0, 1]) stay so; data that have them (sky-subtracted
    # survey frames) keep their level as it is, negative sky included.
    shift = -float(lowest.min()) if lowest.min() < 0 <= input_low else 0.0
    top_value = float(highest.max()) + shift
    scale = ceiling / top_value if top_value > ceiling else 1.0
    band = _band_rows(width, 1)
    for top in range(0, height, band):
        for channel in range(channels):
            target = result[channel, top : top + band]
            target.mul_(float(gain[channel] * scale)).add_(float((offset[channel] + shift) * scale))
            if missing:
                target.nan_to_num_(nan=0.0)
    return corrected


def extract_background(
    image: np.ndarray,
    params: Parameters | None = None,
    mask: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    initial: SplineState | None = None,
    in_place: bool = False,
    model_sink: BandSink | None = None,
) -> BackgroundResult:
    """Model and remove the smooth background of a linear image.

    Parameters
    ----------
    image : `~numpy.ndarray`
        Linear image, ``(H, W)`` or ``(C, H, W)`` with C = 1 or 3, nominally in
        [0, 1]; pixels equal to 0 (or NaN) are missing and stay 0.
    params : `Parameters`, optional
        Method parameters; defaults when omitted.
    mask : `~numpy.ndarray`, optional
        Full-resolution weights in [0, 1], ``(H, W)``, ``(1, H, W)`` or
        ``(C, H, W)``: 1 = background, 0 = ignore. Overrides ``params.mask``.
    progress : callable, optional
        ``progress(fraction, message)``, called from this thread.
    cancel : callable, optional
        Returns True to stop; raises `Cancelled` and changes nothing.
    initial : `SplineState`, optional
        A previous fit (``result.state``) of a similar image, e.g. the frame
        before in a sequence: its control-point positions are the start, and
        a fifth of ``params.epochs`` is run.
    in_place : bool, optional
        Write the corrected image over ``image`` (float32 ``(C, H, W)`` only),
        saving one image of memory, when the caller no longer needs the input.
    model_sink : callable, optional
        ``model_sink(top, rows)`` receives the model in bands of rows
        (``(C, rows, W)`` float32, from row ``top``), e.g. to write it to a
        file, and the model is not kept: ``result.background`` is None.
        With ``in_place``, the run then needs memory for one image only.

    Returns
    -------
    BackgroundResult
        ``background`` and ``corrected`` as float32 ``(C, H, W)``, the fit report
        and the fitted spline.
    """
    params = params or Parameters()
    image = as_planar(image)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    prepared = prepare(image, params, mask, _stage(progress, "prepare"))
    seconds["prepare"] = time.perf_counter() - start
    release_freed_memory()

    start = time.perf_counter()
    state, report = fit_background(prepared, params, _stage(progress, "fit"), cancel, initial)
    seconds["fit"] = time.perf_counter() - start
    release_freed_memory()

    start = time.perf_counter()
    background = None if model_sink is not None else np.empty(image.shape, np.float32)
    modeling = [0.0]

    def model_bands() -> Iterator[tuple[int, np.ndarray]]:
        """The model's bands, kept or handed to the sink, timing their computation alone."""
        begin = time.perf_counter()
        for top, rows in _model_bands(state, prepared, params.reconstruction == "exact",
                                      _stage(progress, "reconstruct")):
            modeling[0] += time.perf_counter() - begin
            if background is not None:
                background[:, top : top + rows.shape[1]] = rows
            else:
                model_sink(top, rows)
            yield top, rows
            begin = time.perf_counter()

    corrected = _correct(image, model_bands(), params.mode, out=image if in_place else None)
    seconds["reconstruct"] = modeling[0]
    seconds["correct"] = time.perf_counter() - start - modeling[0]
    report.seconds = seconds
    if progress is not None:
        progress(1.0, "done")
    return BackgroundResult(background, corrected, report, state)
