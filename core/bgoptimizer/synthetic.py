"""Synthetic linear sky scenes with a known background, for the demo, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Scene", "GRADIENTS", "GLOW_KINDS", "gradient", "make_scene", "make_glow_scene", "gradient_error",
           "absorbed_share"]

GRADIENTS = ("linear", "dome", "quadratic", "radial", "mixed", "glow")
# Sky glows entering from the frame's edges, drawn at random per seed (make_glow_scene).
GLOW_KINDS = ("two_glows", "two_glows_galaxy", "glow_big_galaxy", "horizon", "horizon_galaxy")


@dataclass
class Scene:
    image: np.ndarray  # (C, H, W) float32 linear image
    background: np.ndarray  # (C, H, W) float32 true smooth background (sky level + gradient)
    nebula: np.ndarray  # (C, H, W) float32 extended-object signal (zeros when absent)
    noise: float  # per-pixel noise sigma


def gradient(kind: str, height: int, width: int) -> np.ndarray:
    """A smooth ``(H, W)`` surface with peak-to-peak 1 and minimum 0."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    scale = float(max(height, width))
    u, v = x / scale, y / scale
    uc, vc = width / scale / 2, height / scale / 2
    if kind == "linear":
        surface = 0.8 * u + 0.45 * v
    elif kind == "dome":  # light pollution rising towards one corner
        surface = np.exp(-((u - 1.1 * 2 * uc) ** 2 + (v + 0.1) ** 2) / 0.35)
    elif kind == "quadratic":
        surface = (u - 0.3 * uc) ** 2 + 0.6 * (v - 1.4 * vc) ** 2 + 0.3 * u * v
    elif kind == "radial":  # vignetting-like falloff from the center
        surface = -((u - uc) ** 2 + (v - vc) ** 2)
    elif kind == "glow":  # a sharp light dome rising just beyond a corner (a town on the horizon)
        surface = np.exp(-((u - 1.05 * 2 * uc) ** 2 + (v - 1.05 * 2 * vc) ** 2) / 0.1)
    elif kind == "mixed":
        surface = (
            gradient("linear", height, width)
            + gradient("dome", height, width)
            + 0.5 * gradient("radial", height, width)
        )
    else:
        raise ValueError(f"gradient kind must be one of {GRADIENTS}; got {kind!r}")
    surface = surface - surface.min()
    return (surface / surface.max()).astype(np.float32)


def _add_stars(image: np.ndarray, rng: np.random.Generator, density: float) -> None:
    channels, height, width = image.shape
    count = int(height * width * density)
    radius = 6
    ys = rng.uniform(radius, height - radius - 1, count)
    xs = rng.uniform(radius, width - radius - 1, count)
    fluxes = 0.02 * rng.pareto(1.3, count) + 0.005  # many faint stars, a few bright ones
    sigmas = rng.uniform(1.0, 2.0, count)
    colors = rng.uniform(0.7, 1.3, (count, channels))
    offsets = np.arange(-radius, radius + 1)
    for y, x, flux, sigma, color in zip(ys, xs, fluxes, sigmas, colors):
        iy, ix = int(y), int(x)
        dy = (offsets + iy - y)[:, None]
        dx = (offsets + ix - x)[None, :]
        stamp = flux * np.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) / (2 * np.pi * sigma * sigma)
        image[:, iy - radius : iy + radius + 1, ix - radius : ix + radius + 1] += color[:, None, None] * stamp


def _object_generator(rng: np.random.Generator, seed: int, same_at_every_size: bool) -> np.random.Generator:
    """Where a scene's large object is drawn from: ``rng`` after the stars, whose number grows with the
    image's size (so the same seed gives another object at another size: the first scenes were drawn so and
    their figures are recorded), or, ``same_at_every_size``, a generator of its own, so that one sky can be
    measured at several sizes."""
    return np.random.default_rng((seed, 1)) if same_at_every_size else rng


def _nebula(
    height: int, width: int, channels: int, rng: np.random.Generator, amplitude: float, size: float
) -> np.ndarray:
    """A lumpy elliptical glow; ``size`` is its major-axis sigma as a fraction of the longer side."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    scale = float(max(height, width))
    u, v = x / scale, y / scale
    cu, cv = 0.45 * width / scale, 0.55 * height / scale
    angle = rng.uniform(0, np.pi)
    du, dv = u - cu, v - cv
    a = du * np.cos(angle) + dv * np.sin(angle)
    b = -du * np.sin(angle) + dv * np.cos(angle)
    glow = np.exp(-(a**2 / (2 * size**2) + b**2 / (2 * (size / 2) ** 2)))
    for _ in range(6):  # knots and filaments
        ku, kv = cu + rng.normal(0, 0.6 * size), cv + rng.normal(0, 0.4 * size)
        glow += 0.5 * np.exp(-((u - ku) ** 2 + (v - kv) ** 2) / (2 * (size * rng.uniform(0.12, 0.3)) ** 2))
    glow = glow / glow.max() * amplitude
    tint = np.array([1.0, 0.55, 0.75][:channels], np.float32)  # H-alpha red with some OIII
    return (tint[:, None, None] * glow[None]).astype(np.float32)


@dataclass(frozen=True)
class SkyLevels:
    """A synthetic sky's levels: the sky's, the gradient's (or glows') peak-to-peak, the noise sigma, and
    stars per pixel."""

    sky: float = 0.02
    gradient: float = 0.02
    noise: float = 0.002
    star_density: float = 0.0015


@dataclass(frozen=True)
class Nebula:
    """A synthetic nebula: ``size`` is its major-axis sigma over the longer side (0.16 covers a good part of
    the frame), ``amplitude`` its peak in noise sigmas."""

    size: float = 0.16
    amplitude: float = 2.0


def make_scene(
    width: int = 1500,
    height: int = 1000,
    channels: int = 3,
    gradient_kind: str = "mixed",
    nebula: bool | Nebula = True,
    seed: int = 1,
    levels: SkyLevels = SkyLevels(),
    same_at_every_size: bool = False,
) -> Scene:
    """A linear ``(C, H, W)`` sky: level + smooth gradient + stars + optional nebula + noise.

    The gradient's peak-to-peak is ``levels.gradient`` (10x the noise by
    default); channels get slightly different sky colors and gradient strengths.
    ``nebula``: True for the default :class:`Nebula`, False for none.
    ``same_at_every_size``: see :func:`_object_generator`.
    """
    shape = Nebula() if nebula is True else nebula or None
    rng = np.random.default_rng(seed)
    surface = gradient(gradient_kind, height, width)
    color = np.array([1.0, 0.85, 0.7][:channels], np.float32)
    background = (levels.sky * color[:, None, None] + levels.gradient * color[:, None, None] * surface[None])
    background = background.astype(np.float32)
    signal = np.zeros((channels, height, width), np.float32)
    _add_stars(signal, rng, levels.star_density)
    glow = (
        _nebula(height, width, channels, _object_generator(rng, seed, same_at_every_size),
                shape.amplitude * levels.noise, shape.size)
        if shape is not None
        else np.zeros_like(signal)
    )
    image = background + signal + glow + rng.normal(0.0, levels.noise, signal.shape).astype(np.float32)
    return Scene(np.clip(image, 1e-6, 1.0).astype(np.float32), background, glow, levels.noise)


def _edge_glow(height: int, width: int, rng: np.random.Generator, edge: int, lateral: bool) -> np.ndarray:
    """Light entering from one edge (0 left, 1 right, 2 bottom row, 3 top row), peak-to-peak 1: a falloff
    from the edge (exponential or inverse square, random length), concentrated along the edge round a
    random place (a town) when ``lateral``, else nearly even (a horizon)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    scale = float(max(height, width))
    distance = [x, width - 1 - x, y, height - 1 - y][edge] / scale
    along = [y, y, x, x][edge] / scale
    profile = rng.integers(3)
    if profile == 0:  # falling by e over 12-40 % of the frame's longer side
        falloff = np.exp(-distance / rng.uniform(0.12, 0.4))
    elif profile == 1:  # an inverse square of the distance to a source 20-50 % of that side beyond the edge
        falloff = 1.0 / (1.0 + distance / rng.uniform(0.2, 0.5)) ** 2
    else:  # the flank of a dome centred 0-20 % of that side beyond the edge, sigma 20-45 %
        falloff = np.exp(-((distance + rng.uniform(0.0, 0.2)) ** 2) / (2 * rng.uniform(0.2, 0.45) ** 2))
    extent = (height if edge < 2 else width) / scale
    if lateral:
        center, spread = rng.uniform(0.1, 0.9) * extent, rng.uniform(0.2, 0.6) * extent
        across = np.exp(-((along - center) ** 2) / (2 * spread**2))
    else:
        across = 1.0 + rng.uniform(-0.3, 0.3) * (along / extent - 0.5)
    surface = falloff * across
    return ((surface - surface.min()) / np.ptp(surface)).astype(np.float32)


def _galaxy(height: int, width: int, channels: int, rng: np.random.Generator, size: float,
            amplitude: float) -> np.ndarray:
    """An inclined disc galaxy: exponential disc (scale ``size`` of the longer side) and a bright bulge,
    somewhere in the frame's middle half, yellowish."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    scale = float(max(height, width))
    cu, cv = rng.uniform(0.3, 0.7) * width / scale, rng.uniform(0.3, 0.7) * height / scale
    angle, ratio = rng.uniform(0, np.pi), rng.uniform(0.35, 0.9)
    du, dv = x / scale - cu, y / scale - cv
    a = du * np.cos(angle) + dv * np.sin(angle)
    b = (-du * np.sin(angle) + dv * np.cos(angle)) / ratio
    radius = np.sqrt(a**2 + b**2)
    light = np.exp(-radius / size) + 4.0 * np.exp(-((radius / (0.15 * size)) ** 0.5) * 3.0)
    light = light / light.max() * amplitude
    tint = np.array([1.0, 0.9, 0.75][:channels], np.float32)
    return (tint[:, None, None] * light[None]).astype(np.float32)


def make_glow_scene(kind: str, seed: int, width: int = 1500, height: int = 1000, channels: int = 3,
                    levels: SkyLevels = SkyLevels(gradient=0.03), same_at_every_size: bool = False) -> Scene:
    """A sky whose gradient is light entering from the edges, drawn at random (``seed``) per ``kind``:

    - ``two_glows``: glows from two opposite edges (towns on both horizons);
    - ``two_glows_galaxy``: the same and a large galaxy in the field;
    - ``glow_big_galaxy``: one glow and a galaxy filling much of the frame;
    - ``horizon``: an even glow rising steeply from one edge;
    - ``horizon_galaxy``: the same and a large galaxy.

    ``levels.gradient`` is the glows' peak-to-peak.

    The galaxy is the scene's ``nebula`` (object signal, not background). ``same_at_every_size``: see
    :func:`_object_generator`.
    """
    if kind not in GLOW_KINDS:
        raise ValueError(f"glow scene kind must be one of {GLOW_KINDS}; got {kind!r}")
    rng = np.random.default_rng(seed)
    first = int(rng.integers(4))
    if kind.startswith("two_glows"):
        edges, lateral = (first, first ^ 1), True  # 0/1 and 2/3 are opposite
    elif kind == "glow_big_galaxy":
        edges, lateral = (first,), True
    else:
        edges, lateral = (first,), False
    surface = np.zeros((height, width), np.float32)
    for edge in edges:
        surface += rng.uniform(0.5, 1.5) * _edge_glow(height, width, rng, edge, lateral)
    surface /= surface.max()
    glow_color = np.array([1.0, 0.75, 0.45][:channels], np.float32)  # sodium and LED street light
    sky_color = np.array([1.0, 0.9, 0.8][:channels], np.float32)
    background = (levels.sky * sky_color[:, None, None] + levels.gradient * glow_color[:, None, None] * surface[None])
    signal = np.zeros((channels, height, width), np.float32)
    _add_stars(signal, rng, levels.star_density)
    if kind.endswith("galaxy"):
        drawn = _object_generator(rng, seed, same_at_every_size)
        size = drawn.uniform(0.12, 0.2) if kind == "glow_big_galaxy" else drawn.uniform(0.04, 0.08)
        galaxy = _galaxy(height, width, channels, drawn, size, drawn.uniform(3.0, 8.0) * levels.noise)
    else:
        galaxy = np.zeros_like(signal)
    image = background + signal + galaxy + rng.normal(0.0, levels.noise, signal.shape).astype(np.float32)
    return Scene(np.clip(image, 1e-6, 1.0).astype(np.float32), background.astype(np.float32), galaxy, levels.noise)


def gradient_error(model: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """RMS and max error of a background model, in % of the truth's peak-to-peak.

    A constant offset is not an error (the correction keeps the sky level),
    so each channel's mean difference is removed first; the worst channel counts.
    """
    rms, worst = 0.0, 0.0
    for fitted, true in zip(model, truth):
        difference = fitted.astype(np.float64) - true
        difference -= difference.mean()
        span = float(np.ptp(true))
        rms = max(rms, float(np.sqrt(np.mean(difference**2))) / span * 100)
        worst = max(worst, float(np.abs(difference).max()) / span * 100)
    return rms, worst


def absorbed_share(model: np.ndarray, truth: np.ndarray, nebula: np.ndarray) -> float:
    """Share (%) of a nebula's flux that a background model took in, worst channel.

    Measured where the nebula is above a tenth of its peak, against the model's
    offset from the truth elsewhere (a constant offset is not absorption).
    """
    share = 0.0
    for fitted, true, signal in zip(model, truth, nebula):
        inside = signal > 0.1 * signal.max()
        excess = fitted.astype(np.float64) - true
        offset = float(np.median(excess[~inside]))
        share = max(share, float((excess[inside] - offset).sum() / signal[inside].sum() * 100))
    return share
