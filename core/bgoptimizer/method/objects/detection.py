"""Large faint objects (nebulae, galaxy halos) found as coherent excess over the background.

A spline flexible enough for real gradients also follows a nebula covering a
good part of the frame: a robust loss rejects stars, not a glow a few noise
sigmas high spread over thousands of pixels. Such an object is found in
rounds. A coarse fit (16 control points on a grid) cannot follow it, so its
core stands out in the residual, above the coarse fit's own misfit of the
gradient, which shows as deficits too (a nebula only adds light). The core,
grown by a margin proportional to its size (the faint wings hold much of the
flux), is masked, the full spline is refitted without it (its bending energy
keeps the surface from bulging across the hole), and the object is measured
again against that fit, until it no longer changes. Excess whose core
touches the frame's border is taken for gradient, not object (light domes
and vignetting residue rise there); an object that would grow to the border
where its excess is near its peak (a glow entering from that edge, not the
object's fading light) keeps its core instead; growth stops when the ring a
round adds rises near the frame's border above the faintest earlier
round's (light rising towards the edge is not the object's wings); and objects never
take more than two thirds of the frame.

All maps are ``(h, w)`` arrays over the downscaled image.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..model.samples import noise_levels
from ..model.spline import SplineState, evaluate_grid
from ..prepare.stretch import ChannelStretch
from .morphology import box_average, components, dilate, median3, reach

__all__ = ["COARSE_POINTS", "DETECTION_KERNEL", "find_objects"]

# Control points of the coarse first fit, on a grid: too few to follow an object a fifth of the
# frame across, enough for the usual gradients.
COARSE_POINTS = 16
# The detection fits' own kernel (order, smoothing, polynomial degree), whatever the final fit's:
# r^4 log r with 3e-5 follows a sharp corner glow closely enough that its misfit is not taken for
# an object. With the final fit's r^5 and 1e-5 instead, 3 of 12 glow + nebula scenes (1500x1000)
# lost their nebula (84-92 % absorbed) against 1 of 12; with a thin plate, light domes became objects.
DETECTION_KERNEL = (4, 3e-5, 2)
# A pixel starts an object where the 3x3 median of its excess is above this many sigmas
# (the median ignores single-pixel star residues) ...
_SEED_SIGMA = 6.0
# ... and stays a core pixel in later rounds above this many.
_KEEP_SIGMA = 3.0
# An object extends over connected pixels whose box-averaged excess is this significant
# (in sigmas of the box average, measured robustly over the frame).
_EXTENT_SIGMA = 3.0
# An object grown to the frame's border where its (box-averaged) excess is at least this share of its peak
# has grown into light entering from there. bench/edge_glows.py, random skies (worst per kind): at 1500x1000
# (12 seeds) 0.85 kept one galaxy's mask in a glow (7.7 % RMS), 0.25-0.7 freed it (2.4 %); at 3000x2000
# (6 seeds) 0.7 left a galaxy beside a horizon glow at 61 % masked (5.1 % RMS), 0.5 at 24 % (1.3 %). A
# nebula larger than the frame (900x600, sigma 30 %) reaches the border at a third of its peak: 0.3 and
# below cut it to its core (5.6 -> 8.8 % RMS). The docs' nebula scenes are unchanged at 0.5.
_BORDER_SHARE = 0.5
# ... and whose (box-averaged, 3x3 median) excess is at least this share of its peak, so that a
# bright object's reach is set by its own profile, not by slight misfits of the gradient under it.
_PEAK_SHARE = 0.03
# The averaging box, as a share of the downscaled image's longer side.
_BOX_SHARE = 0.04
# The mask covers an object plus this share of its equivalent radius (its wings) ...
_WING_SHARE = 0.4
# ... and at least this share of the downscaled image's longer side.
_MIN_MARGIN_SHARE = 0.02
# Objects may cover at most this share of the valid pixels: a nebula a third of the frame across
# reaches 1 % of its peak over half of it, and its mask with wings over 55-65 %. Chosen with an
# earlier final fit (thin plate, smoothing 1e-4; the defaults are now r^5, 1e-5), over 30 nebula
# scenes (1500x1000, seeds 1-6, five gradients): 0.5 stopped the growth short (median 0.60 % RMS,
# 20 % absorbed); 0.65: 0.25 %, 9 %; 0.8: masks of 70-79 %, 0.25 %, 8 %, the dome scenes worse.
_MAX_OBJECT_SHARE = 0.65
_MAX_ROUNDS = 6
# An object's light falls outwards, so each round's new ring is fainter than the rounds' before. A ring whose
# peak (box-averaged excess) rises above this multiple of the faintest earlier one is light the fit cannot
# follow (a glow's shoulder beside the object), and growth stops. bench/edge_glows.py: at 3000x2000 a galaxy
# beside a horizon glow rose 3.0 -> 4.8 (seed 1) and went on to 53 % of the frame; real nebulae fall round
# after round (7.2, 4.4, 1.6, 1.5 under a dome). Against the last ring alone with 1.5, a galaxy beside a
# horizon glow climbed slowly (3.4, 4.6, 6.4: bench/hard_skies.py seed 6) to 54 % of the frame and 3.2 % RMS;
# against the faintest with 1.3 it stops at 29 % (1.1 % RMS); 1.2 stopped nebulae under a dome early (worst
# 1.5 -> 1.9 % RMS). The docs' 60 nebula skies are unchanged. Only a rise near the frame's border stops it:
# a lumpy nebula's second lobe rises inside the frame, and stopping there left a large nebula half masked
# (bench/hard_skies.py, 1500x1000, seeds 1-8: worst 1.74 -> 0.77 % RMS under a dome, 2.41 -> 1.12 % under the
# mixed gradient; the galaxies beside glows and the docs' 60 nebula skies unchanged; of the docs' 12 corner
# glows with a nebula one grew on past an inner lobe to 64 % masked, 1.07 -> 2.11 %).
_RING_RISE = 1.3
# ... where it comes this near the border (a share of the longer side): a glow's shoulder rose 20 pixels of 250
# from it (two glows + galaxy, 3000x2000, seed 2), four large nebulae's inner lobes 23-29 of 125.
_RISE_NEAR_SHARE = 0.08

Solver = Callable[[np.ndarray | None, bool], SplineState]


class _Excess:
    """The image's excess over a spline in noise sigmas, channels combined.

    Measured with the midtones transfer of the fit domain undone (if it has
    one), where the noise is the same at every level (stretched noise grows
    with the slope of the curve), against a noise sigma from neighbour
    differences; both are the image's and computed once.
    """

    def __init__(self, data_ds: np.ndarray, stretches: list[ChannelStretch],
                 coordinates: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.stretches, self.coordinates = stretches, coordinates
        self.linear = np.stack([stretch.unbend(data.astype(np.float64)) for data, stretch in zip(data_ds, stretches)])
        self.sigma = noise_levels(self.linear, np.isfinite(self.linear).astype(np.float32), floor=1e-9)

    def __call__(self, state: SplineState) -> np.ndarray:
        x, y = (axis.to(state.centers.device) for axis in self.coordinates)
        with torch.no_grad():
            model = evaluate_grid(state, x, y).cpu().numpy()
        total = np.zeros(self.linear.shape[1:], np.float64)
        for linear, fitted, sigma, stretch in zip(self.linear, model, self.sigma, self.stretches):
            excess = linear - stretch.unbend(fitted.astype(np.float64))
            total += excess / sigma
        return np.nan_to_num(total / np.sqrt(len(self.stretches)), nan=0.0)


def _box_significance(significance: np.ndarray, valid: np.ndarray, sky: np.ndarray, size: int) -> np.ndarray:
    """Box average of the (clipped) excess, standardized robustly over the ``sky`` pixels.

    Not over all valid pixels: an object covering a good part of the frame
    would raise their median and spread and so hide its own faint extent.
    """
    average = box_average(np.clip(significance, -3.0, 3.0), valid, size)
    inside = average[sky]
    center = float(np.median(inside))
    spread = 1.4826 * float(np.median(np.abs(inside - center)))
    return (average - center) / max(spread, 1e-6)


def _frame_border(shape: tuple[int, ...], width: int = 1) -> np.ndarray:
    """The map's outermost ``width`` rows and columns on every side."""
    border = np.zeros(shape, bool)
    border[:width, :] = border[-width:, :] = True
    border[:, :width] = border[:, -width:] = True
    return border


def _off_border(flags: np.ndarray) -> np.ndarray:
    return flags & ~reach(_frame_border(flags.shape), flags)


def _beyond_misfit(smoothed: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Seed cores: components above ``_SEED_SIGMA`` off the border that stand out from the coarse
    fit's own misfit.

    Emission only adds light, while a gradient the coarse fit cannot follow
    (a glow beyond a corner, a strong dome) is missed on both sides, by lobes
    of similar height and extent. So a core must rise above the deepest
    deficit or be larger than all the deficits below ``-_SEED_SIGMA`` together.
    """
    flags = _off_border((smoothed > _SEED_SIGMA) & valid)
    deficits = (smoothed < -_SEED_SIGMA) & valid
    if not deficits.any():
        return flags
    labels = components(flags)
    numbers, areas = np.unique(labels[flags], return_counts=True)
    standing = (areas > deficits.sum()) | (_peaks(labels, smoothed)[numbers] > -smoothed[valid].min())
    return flags & np.isin(labels, numbers[standing])


def _peaks(labels: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Each component's highest ``level``, indexed by its label (-inf for numbers no pixel carries)."""
    members = labels >= 0
    peaks = np.full(labels.size, -np.inf)
    np.maximum.at(peaks, labels[members], level[members])
    return peaks


def _above_peak_share(objects: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The pixels of each object whose ``level`` is at least ``_PEAK_SHARE`` of the object's peak."""
    labels = components(objects)
    return objects & (level >= _PEAK_SHARE * _peaks(labels, level)[labels])


def _not_into_glows(grown: np.ndarray, core: np.ndarray, level: np.ndarray) -> np.ndarray:
    """``grown``, but objects whose ``level`` is highest at the frame's border keep their ``core``.

    An object's light falls from its core outwards, so where it reaches the
    border it is faint there. A glow entering from an edge is strongest at that
    edge: a fit that leaves it out cannot follow it, and its misfit, taken for
    the object's extent, would take more of the glow out of the fit round after
    round (a horizon glow grew so to 64 % of the frame). Such an object does not
    grow into it; its core, found away from the border, stays.
    """
    labels = components(grown)
    at_border = np.full(labels.size, -np.inf)
    touching = grown & _frame_border(grown.shape)
    np.maximum.at(at_border, labels[touching], level[touching])
    into_glow = (at_border >= _BORDER_SHARE * _peaks(labels, level))[labels] & grown
    return (grown & ~into_glow) | (core & into_glow)


def _with_wings(objects: np.ndarray, min_margin: int) -> np.ndarray:
    """Each object grown by a share of its equivalent radius (at least ``min_margin``)."""
    labels = components(objects)
    numbers, areas = np.unique(labels[objects], return_counts=True)
    margins = np.maximum(min_margin, np.rint(_WING_SHARE * np.sqrt(areas / np.pi)).astype(int))
    grown = np.zeros_like(objects)
    for margin in np.unique(margins):
        grown |= dilate(np.isin(labels, numbers[margins == margin]), int(margin))
    return grown


def _rises_to_border(rising: np.ndarray) -> bool:
    """Whether light brighter than an earlier ring (``rising``) comes within ``_RISE_NEAR_SHARE`` of the
    frame's longer side to its border."""
    reach_of_border = int(round(_RISE_NEAR_SHARE * max(rising.shape))) + 1
    return bool((rising & _frame_border(rising.shape, reach_of_border)).any())


def find_objects(data_ds: np.ndarray, valid: np.ndarray, stretches: list[ChannelStretch], solve: Solver,
                 coordinates: tuple[torch.Tensor, torch.Tensor]) -> np.ndarray:
    """Pixels to keep out of the background fit: large objects and their wings.

    ``data_ds`` is the downscaled image in the fit's domain, which
    ``stretches`` maps linear values to. ``solve(excluded, coarse)`` fits the
    background without the ``excluded`` pixels (None: none), with the coarse
    spline or the full one; ``valid`` marks the pixels the fit may use at all.
    """
    side = max(valid.shape)
    box = max(3, int(round(_BOX_SHARE * side)) | 1)
    min_margin = max(1, int(round(_MIN_MARGIN_SHARE * side)))
    limit = _MAX_OBJECT_SHARE * max(int(valid.sum()), 1)

    excess = _Excess(data_ds, stretches, coordinates)
    core = _beyond_misfit(median3(excess(solve(None, True))), valid)
    masked = _with_wings(core, min_margin)
    if not core.any() or (masked & valid).sum() > limit:
        return np.zeros_like(valid)
    faintest_ring_peak = np.inf
    for _ in range(_MAX_ROUNDS):
        significance = excess(solve(masked, False))
        smoothed = median3(significance)
        seeds = (smoothed > _KEEP_SIGMA) & valid & core
        extent = _box_significance(significance, valid, valid & ~masked, box) > _EXTENT_SIGMA
        brightness = box_average(smoothed, valid, box)
        # Seeds stay even outside the box-averaged extent, whose spread two glows' misfit can widen past a
        # small galaxy's (bench/hard_skies.py, two glows + galaxy: refuted at 16.7 sigma, 53 -> 24 % absorbed).
        grown = _not_into_glows(reach(seeds, _above_peak_share(extent, brightness) | seeds), core, brightness)
        if np.array_equal(grown, core):
            break
        ring = grown & ~core
        ring_peak = float(brightness[ring].max()) if ring.any() else 0.0
        if _rises_to_border(ring & (brightness > _RING_RISE * faintest_ring_peak)):
            break  # the light the round adds rises towards the frame's edge: not an object's fading wings
        faintest_ring_peak = min(faintest_ring_peak, ring_peak)
        candidate = _with_wings(grown, min_margin)
        if (candidate & valid).sum() > limit:
            break
        core, masked = grown, candidate
        if not core.any():  # refuted: the excess was the coarse fit's, not an object's
            break
    return masked
