"""Per-channel delinearization (stretch) and its exact inverse.

The stretch decides what is background (thresholds, the preview and the
object detection look at stretched levels, where the faint sky, not the
bright objects, dominates). The fit itself runs, by default, on the
pedestal- and scale-normalized linear values (:meth:`ChannelStretch.linear_part`,
where gradients keep their shape), or on the stretched ones
(``fit_domain="stretched"``, the original method); either way the model is
brought back to linear units with the inverse of the very same transform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ...errors import InputImageError

__all__ = ["ChannelStretch", "fit_stretch", "mtf"]

Array = TypeVar("Array")  # numpy.ndarray or torch.Tensor: only arithmetic and .clip are used

# Keeps the midtones transfer finite when a channel's median sits on its pedestal.
_MIDTONE_EPS = 1e-6


def mtf(x: Array, midtone: float, target: float) -> Array:
    """Midtones transfer: a rational curve mapping 0->0, 1->1 and ``midtone``->``target``.

    ``mtf(mtf(x, m, t), t, m) == x``, which makes the stretch exactly invertible.
    """
    return (1.0 - midtone) * x / ((1.0 - midtone / target) * x + (1.0 / target - 1.0) * midtone)


@dataclass(frozen=True)
class ChannelStretch:
    """Stretch of one channel: ``mtf(clip((x - pedestal) / scale, 0, 1), midtone, target)``."""

    pedestal: float
    scale: float
    midtone: float
    target: float

    def normalize(self, linear: Array) -> Array:
        """Pedestal removed and the quantile scaled to 1, unclipped: the linear fit domain."""
        return (linear - self.pedestal) / self.scale

    def apply(self, linear: Array) -> Array:
        # The curve maps 1 to 1 only up to rounding: clipped again so a clipped pixel reads exactly 1.
        return mtf(self.normalize(linear).clip(0.0, 1.0), self.midtone, self.target).clip(0.0, 1.0)

    def linear_part(self) -> ChannelStretch:
        """The same pedestal and scale without the midtones transfer (an identity curve)."""
        return ChannelStretch(self.pedestal, self.scale, self.midtone, self.midtone)

    @property
    def curved(self) -> bool:
        return self.midtone != self.target

    def unbend(self, stretched: Array) -> Array:
        """The midtones transfer undone: normalized linear values.

        A curve is defined on [0, 1], and above 1 the stretch clipped, so a
        curve's input is clamped to [0, 1] first; the identity curve of
        :meth:`linear_part` takes any value (the linear fit domain is not clipped).
        """
        if not self.curved:
            return stretched
        return mtf(stretched.clip(0.0, 1.0), self.target, self.midtone)

    def invert(self, stretched: Array) -> Array:
        """Linear values of stretched ones (exact inverse of :meth:`apply` within [0, 1])."""
        return self.unbend(stretched) * self.scale + self.pedestal


def fit_stretch(image: np.ndarray, quantile: float, target: float) -> list[ChannelStretch]:
    """Stretch parameters of each channel of a ``(C, H, W)`` image with NaN for missing pixels."""
    stretches = []
    for index, channel in enumerate(image):
        values = channel[np.isfinite(channel)]
        if values.size == 0:
            raise InputImageError(f"channel {index} has no valid pixel")
        pedestal = float(values.min())
        top, median = np.quantile(values, [quantile, 0.5])
        scale = float(top) - pedestal
        if not scale > 0.0:
            if float(values.max()) > pedestal:
                raise InputImageError(
                    f"channel {index}: the {quantile} quantile equals the minimum; "
                    "raise quantile so that it reaches the sky background"
                )
            raise InputImageError(f"channel {index} is constant: there is no background to model")
        midtone = min(max((float(median) - pedestal) / scale, _MIDTONE_EPS), 1.0 - _MIDTONE_EPS)
        stretches.append(ChannelStretch(pedestal, scale, midtone, target))
    return stretches
